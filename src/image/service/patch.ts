import { HttpError, badRequest, forbidden } from '../../core/errors.js';
import { BASE_PROPERTIES, validateImage, type PropertySchema } from './image-schema.js';

/** One decoded change of an image PATCH. */
export interface Change {
  op: 'add' | 'remove' | 'replace';
  /** The JSON pointer, decoded into its tokens ('/locations/0' -> ['locations', '0']). */
  path: string[];
  value?: unknown;
  /** 4 for application/openstack-images-v2.0-json-patch, 10 for v2.1. */
  draft: 4 | 10;
}

export const PATCH_CONTENT_TYPES: Record<string, 4 | 10> = {
  'application/openstack-images-v2.0-json-patch': 4,
  'application/openstack-images-v2.1-json-patch': 10,
};
const OPS = ['add', 'remove', 'replace'] as const;

/** Properties a PATCH may not touch, and those Glance keeps for itself. */
export const READONLY_PROPERTIES = [
  'created_at', 'updated_at', 'status', 'checksum', 'size', 'virtual_size', 'direct_url', 'self', 'file', 'schema',
  'id', 'os_hash_algo', 'os_hash_value', 'stores',
];
export const RESERVED_PROPERTIES = ['location', 'deleted', 'deleted_at'];
export const RESERVED_NAMESPACE = 'os_glance';
const PATH_DEPTH: Record<string, Partial<Record<Change['op'], number>>> = { locations: { add: 2, remove: 2, replace: 1 } };

export const isReserved = (key: string) => RESERVED_PROPERTIES.includes(key) || key.startsWith(RESERVED_NAMESPACE);

/** A 415 that tells the client which patch media types Glance takes. */
export function unsupportedPatchType(): HttpError {
  return new HttpError(415, 'The request media type is not supported by this server.', 'Unsupported Media Type', {
    'Accept-Patch': Object.keys(PATCH_CONTENT_TYPES).sort().join(', '),
  });
}

function decodePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw badRequest(`Pointer \`${String(pointer)}\` does not start with "/".`);
  if (!pointer.startsWith('/')) throw badRequest(`Pointer \`${pointer}\` does not start with "/".`);
  if (/\/\s*?\//.test(pointer.slice(1))) throw badRequest(`Pointer \`${pointer}\` contains adjacent "/".`);
  if (pointer.length > 1 && pointer.endsWith('/')) throw badRequest(`Pointer \`${pointer}\` end with "/".`);
  if (pointer.slice(1).trim() === '/') throw badRequest(`Pointer \`${pointer}\` does not contains valid token.`);
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) {
    throw badRequest(`Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`);
  }
  return pointer.replace(/^\/+/, '').split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~').trim());
}

function opOf(raw: Record<string, unknown>, draft: 4 | 10): { op: Change['op']; pointer: unknown } {
  if (draft === 10) {
    const op = raw.op;
    if (op === undefined) throw badRequest('Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.');
    if (!OPS.includes(op as Change['op'])) {
      throw badRequest(`Invalid operation: \`${String(op)}\`. It must be one of the following: add, remove, replace.`);
    }
    if (!('path' in raw)) throw badRequest("Unable to find 'path' in JSON Schema change");
    return { op: op as Change['op'], pointer: raw.path };
  }
  const present = OPS.filter((o) => o in raw);
  if (present.length > 1) throw badRequest('Operation objects must contain only one member named "add", "remove", or "replace".');
  if (present.length === 0) throw badRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".');
  return { op: present[0], pointer: raw[present[0]] };
}

/**
 * Decodes and checks an image PATCH body as Glance's deserializer does: media type (415),
 * shape and JSON pointers (400), read-only and reserved properties (403), and each value
 * against the image schema (400). What the changes mean for the image is the service's call.
 */
export function parsePatch(contentType: string | undefined, body: unknown): Change[] {
  const draft = PATCH_CONTENT_TYPES[(contentType ?? '').split(';')[0].trim().toLowerCase()];
  if (!draft) throw unsupportedPatchType();
  if (body === undefined) throw badRequest('Body expected in request.');
  if (!Array.isArray(body)) throw badRequest('Request body must be a JSON array of operation objects.');
  return body.map((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest('Operations must be JSON objects.');
    const r = raw as Record<string, unknown>;
    const { op, pointer } = opOf(r, draft);
    const path = decodePointer(pointer);
    const root = path[0];
    if (path.length !== (PATH_DEPTH[root]?.[op] ?? 1)) throw badRequest(`Invalid JSON pointer for this resource: '/${path.join('/')}'`);
    const change: Change = { op, path, draft };
    if (op !== 'remove') {
      if (!('value' in r)) throw badRequest(`Operation "${op}" requires a member named "value".`);
      change.value = r.value;
    }
    if (READONLY_PROPERTIES.includes(root)) throw forbidden(`Attribute '${root}' is read-only.`);
    if (isReserved(root)) throw forbidden(`Attribute '${root}' is reserved.`);
    if (op !== 'remove') {
      const schema: PropertySchema | undefined = BASE_PROPERTIES[root];
      const partial = path.length === 1 ? { [root]: change.value } : schema?.type === 'array' ? { [root]: [change.value] } : undefined;
      const bad = partial && validateImage(partial);
      if (bad) throw badRequest(bad);
    }
    return change;
  });
}
