/**
 * Glance v1's protocol: image metadata in `x-image-meta-*` headers (custom properties in
 * `x-image-meta-property-*`), images as {"image": {...}} with is_public, deleted and a
 * properties map. Only translation lives here; the decisions are the service's (as for v2).
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { badRequest } from '../../core/errors.js';
import type { RequestCtx } from '../../core/http/routes.js';
import type { ImageRecord } from '../db/images-repo.js';
import { CONTAINER_FORMATS, DISK_FORMATS } from '../service/image-schema.js';
import type { Change } from '../service/patch.js';
import { shownProperties } from './views.js';

const META = 'x-image-meta-';
const PROPERTY = 'x-image-meta-property-';
const AMI_FORMATS = ['ami', 'ari', 'aki'];
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
/** Attributes v1 requests may set (others, such as status or checksum, are Glance's to decide). */
const SETTABLE = ['id', 'name', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'protected', 'is_public', 'owner', 'size', 'location'];

/** What the headers of a v1 request say about an image. */
export interface V1Meta {
  id?: string;
  name?: string;
  disk_format?: string;
  container_format?: string;
  min_ram?: number;
  min_disk?: number;
  protected?: boolean;
  is_public?: boolean;
  owner?: string;
  size?: number;
  location?: string;
  properties: Record<string, string>;
}

/** oslo's bool_from_string, strict: anything else is a 400. */
function bool(key: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(s)) return false;
  throw badRequest(`Invalid value '${v}' for ${key}: expected a boolean.`);
}

function count(key: string, v: string): number {
  if (!/^\s*\d+\s*$/.test(v)) throw badRequest(`Invalid value '${v}' for ${key}: it must be a non-negative integer.`);
  return Number(v);
}

const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);

/** Reads and checks the x-image-meta-* headers as Glance v1 does (400 for bad values). */
export function readMeta(ctx: RequestCtx): V1Meta {
  const meta: V1Meta = { properties: {} };
  for (const [key, raw] of Object.entries(ctx.req.headers)) {
    const v = headerValue(raw);
    if (v === undefined) continue;
    if (key.startsWith(PROPERTY)) {
      const name = key.slice(PROPERTY.length);
      if (!name) continue;
      if (name.length > 255) throw badRequest('Custom property should not be greater than 255 characters.');
      meta.properties[name] = v;
      continue;
    }
    if (!key.startsWith(META)) continue;
    const field = key.slice(META.length);
    if (!SETTABLE.includes(field)) continue;
    switch (field) {
      case 'min_ram':
      case 'min_disk':
      case 'size':
        meta[field] = count(field, v);
        break;
      case 'protected':
      case 'is_public':
        meta[field] = bool(field, v);
        break;
      case 'id':
        if (!UUID.test(v)) throw badRequest('Invalid image id format');
        meta.id = v;
        break;
      case 'name':
        if ([...v].length > 255) throw badRequest(`Image name too long: ${[...v].length}`);
        meta.name = v;
        break;
      default:
        meta[field as 'disk_format' | 'container_format' | 'owner' | 'location'] = v;
    }
  }
  return meta;
}

/**
 * Glance v1's format rules: known formats, and for ami/ari/aki the container and disk formats
 * the same. `current` gives the image's formats when an update sets only one of them.
 */
export function checkFormats(meta: V1Meta, current?: { disk_format: string | null; container_format: string | null }): void {
  if (meta.disk_format !== undefined && !DISK_FORMATS.includes(meta.disk_format)) {
    throw badRequest(`Invalid disk format '${meta.disk_format}' for image.`);
  }
  if (meta.container_format !== undefined && !CONTAINER_FORMATS.includes(meta.container_format)) {
    throw badRequest(`Invalid container format '${meta.container_format}' for image.`);
  }
  const disk = meta.disk_format ?? current?.disk_format ?? undefined;
  const container = meta.container_format ?? current?.container_format ?? undefined;
  if (disk && container && (AMI_FORMATS.includes(disk) || AMI_FORMATS.includes(container)) && disk !== container) {
    throw badRequest("Invalid mix of disk and container formats. When setting a disk or container format to one of 'aki', 'ari', or 'ami', the container and disk formats must match.");
  }
}

/** Formats an upload, location or copy needs (Glance v1: 400 before any data moves). */
export function requireFormats(meta: V1Meta, current?: { disk_format: string | null; container_format: string | null }): void {
  if (!(meta.disk_format ?? current?.disk_format)) throw badRequest('Disk format is not specified.');
  if (!(meta.container_format ?? current?.container_format)) throw badRequest('Container format is not specified.');
}

/** The v2 create body for a v1 create: is_public false is 'shared' (as Glance since Ocata). */
export function createBody(meta: V1Meta, isAdmin: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { ...meta.properties };
  for (const k of ['id', 'name', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'protected'] as const) {
    if (meta[k] !== undefined) body[k] = meta[k];
  }
  body.visibility = meta.is_public ? 'public' : 'shared';
  // Glance v1 lets only admins name another owner; it ignores the header for others.
  if (isAdmin && meta.owner !== undefined) body.owner = meta.owner || null;
  return body;
}

/**
 * The changes a v1 update makes, as decoded JSON-patch operations for the service: only
 * attributes that differ, custom properties added or replaced, and with purge the others removed.
 */
export function updateChanges(meta: V1Meta, image: ImageRecord, isAdmin: boolean, purge: boolean): Change[] {
  const changes: Change[] = [];
  const replace = (key: string, value: unknown) => changes.push({ op: 'replace', path: [key], value, draft: 10 });
  for (const k of ['name', 'disk_format', 'container_format', 'min_ram', 'min_disk'] as const) {
    if (meta[k] !== undefined && meta[k] !== image[k]) replace(k, meta[k]);
  }
  if (meta.protected !== undefined && meta.protected !== (image.protected === 1)) replace('protected', meta.protected);
  if (meta.is_public !== undefined && meta.is_public !== (image.visibility === 'public')) {
    replace('visibility', meta.is_public ? 'public' : 'shared');
  }
  if (isAdmin && meta.owner !== undefined && (meta.owner || null) !== image.owner) replace('owner', meta.owner || null);
  const shown = shownProperties(image);
  for (const [k, v] of Object.entries(meta.properties)) {
    if (shown[k] === v) continue;
    changes.push({ op: k in image.properties ? 'replace' : 'add', path: [k], value: v, draft: 10 });
  }
  if (purge) {
    for (const k of Object.keys(shown)) {
      if (!(k in meta.properties) && !k.startsWith('os_glance')) changes.push({ op: 'remove', path: [k], draft: 10 });
    }
  }
  return changes;
}

/** The request body as image data: application/octet-stream with a body (chunked or not). */
export function dataOf(ctx: RequestCtx): Readable | undefined {
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const length = Number(ctx.req.headers['content-length'] ?? 0);
  const chunked = /chunked/i.test(String(ctx.req.headers['transfer-encoding'] ?? ''));
  if (!(length > 0 || chunked) || !(ctx.body instanceof Readable)) return undefined;
  if (type !== 'application/octet-stream') throw badRequest('Content-Type must be application/octet-stream');
  return ctx.body;
}

/** The status a v1 client knows: import's statuses read as v1's, a failed copy as killed. */
export function v1Status(img: ImageRecord): string {
  if (img.status === 'importing') return 'saving';
  if (img.status === 'uploading') return 'queued';
  if (img.status === 'queued' && img.properties.os_glance_failed_import) return 'killed';
  return img.status;
}

/** Glance v1's timestamps: ISO 8601 with microseconds, no zone. */
const v1time = (iso: string | null) => (iso ? `${iso.slice(0, 19)}.${(iso.slice(20, 23) || '000').padEnd(6, '0')}` : null);

/** An image as v1 bodies show it. */
export function v1Image(img: ImageRecord): Record<string, unknown> {
  return {
    id: img.id,
    name: img.name,
    status: v1Status(img),
    is_public: img.visibility === 'public',
    deleted: img.deleted === 1,
    deleted_at: v1time(img.deleted_at),
    container_format: img.container_format,
    disk_format: img.disk_format,
    size: img.size,
    virtual_size: img.virtual_size,
    checksum: img.checksum,
    min_ram: img.min_ram,
    min_disk: img.min_disk,
    owner: img.owner,
    protected: img.protected === 1,
    created_at: v1time(img.created_at),
    updated_at: v1time(img.updated_at),
    properties: shownProperties(img),
  };
}

/** An image in a v1 index (GET /v1/images): Glance's summary fields. */
export function v1Summary(img: ImageRecord): Record<string, unknown> {
  return {
    id: img.id, name: img.name, size: img.size, disk_format: img.disk_format,
    container_format: img.container_format, checksum: img.checksum,
  };
}

/** Header values carry bytes outside printable ASCII percent-encoded (HTTP allows no others). */
const headerSafe = (v: string) => v.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const py = (v: unknown) => (v === true ? 'True' : v === false ? 'False' : String(v));

/** Sets an image's metadata as v1 HEAD and GET answer it: x-image-meta-* and ETag. */
export function setMetaHeaders(reply: FastifyReply, img: ImageRecord): void {
  const view = v1Image(img);
  for (const [k, v] of Object.entries(view)) {
    if (k === 'properties' || v === null || v === undefined) continue;
    reply.header(`${META}${k}`, headerSafe(py(v)));
  }
  for (const [k, v] of Object.entries(view.properties as Record<string, string>)) {
    // A property whose name cannot be a header name (trait:X has a colon) shows only in bodies.
    if (TOKEN.test(k)) reply.header(`${PROPERTY}${k}`, headerSafe(v));
  }
  if (img.checksum) reply.header('etag', img.checksum);
}
