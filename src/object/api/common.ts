/** What every part of the Swift front end shares: limits, errors, the request context, metadata and listing helpers. */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type AuthContext, type TokenVerifier } from '../../core/auth/context.js';
import { HttpError, type ErrorFormatter, type RenderedError } from '../../core/errors.js';
import { type ContainerRow, type ListRange, type ObjectRepo, type ObjectRow } from '../db/repo.js';
import { type ObjectData, type ObjectLoc } from '../service/objects.js';
import { granted, parseAcl, referrerAllowed } from './acl.js';
import { CONTENT_TYPES, listingFormat } from './listing.js';

/** Swift's constraints, as /info shows them. */
export const SWIFT_LIMITS = {
  max_file_size: 5368709122,
  max_meta_name_length: 128,
  max_meta_value_length: 256,
  max_meta_count: 90,
  max_meta_overall_size: 4096,
  max_header_size: 8192,
  max_object_name_length: 1024,
  container_listing_limit: 10000,
  account_listing_limit: 10000,
  max_account_name_length: 256,
  max_container_name_length: 256,
  extra_header_count: 0,
};

export const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large', 416: 'Requested Range Not Satisfiable',
  422: 'Unprocessable Entity', 499: 'Client Disconnect', 500: 'Internal Error', 501: 'Not Implemented', 503: 'Service Unavailable',
};
export const DEFAULT_MESSAGES: Record<number, string> = {
  401: 'This server could not verify that you are authorized to access the document you requested.',
  403: 'Access was denied to this resource.',
  404: 'The resource could not be found.',
  409: 'There was a conflict when trying to complete your request.',
  411: 'Length Required',
  412: 'A precondition for this request was not met.',
  413: 'The body of your request was too large for this server.',
  416: 'The Range requested is not available.',
  422: 'The entity could not be processed.',
};

export const swiftError = (status: number, message?: string, headers: Record<string, string> = {}) =>
  new HttpError(status, message ?? DEFAULT_MESSAGES[status] ?? TITLES[status] ?? 'Error', TITLES[status] ?? 'Error', headers);

/** Swift answers errors as short HTML pages: <html><h1>Not Found</h1><p>...</p></html>. */
export const swiftErrorFormat: ErrorFormatter = (err) => {
  const title = TITLES[err.status] ?? err.title;
  // Our own answers are final (already HTML, or FormPost's plain text); the rest get the page.
  const own = err.message.startsWith('<html>') || err.message.startsWith('FormPost:');
  const text = own ? err.message
    : err.status === 401 || err.status >= 500 || DEFAULT_MESSAGES[err.status] === err.message || err.status === 404 || err.status === 403
      ? `<html><h1>${title}</h1><p>${err.status === 401 ? DEFAULT_MESSAGES[401] : err.message}</p></html>`
      : err.message;
  return { contentType: text.startsWith('<html>') ? 'text/html; charset=UTF-8' : 'text/plain; charset=UTF-8', text } satisfies RenderedError;
};

/** Object headers a client may set and Swift stores (besides X-Object-Meta-*). */
export const ALLOWED_OBJECT_HEADERS = ['content-disposition', 'content-encoding', 'x-delete-at', 'x-object-manifest', 'cache-control', 'content-language', 'expires', 'x-robots-tag'];

export interface SwiftDeps {
  data: ObjectData;
  repo: ObjectRepo;
  verifier: TokenVerifier;
  /** Roles that own an account of their project (keystoneauth operator_roles). */
  operatorRoles: string[];
  resellerRoles: string[];
}

export interface Ctx {
  req: FastifyRequest;
  reply: FastifyReply;
  method: string;
  query: Record<string, string>;
  auth?: AuthContext;
  account: string;
  projectId: string;
  container?: string;
  object?: string;
  owner: boolean;
  reseller: boolean;
}

export const hdr = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

export function transId(): string {
  // randomUUID draws from a buffered pool: a randomBytes call per request cost more than the rest of a HEAD
  return `tx${randomUUID().replaceAll('-', '').slice(0, 21)}-${Math.floor(Date.now() / 1000).toString(16).padStart(10, '0')}`;
}

export const httpDate = (ms: number) => new Date(Math.ceil(ms / 1000) * 1000).toUTCString();
export const lastModifiedSec = (ms: number) => Math.ceil(ms / 1000);


export const denied = (ctx: Ctx) => (ctx.auth ? swiftError(403) : swiftError(401));

// ---------------------------------------------------------------- metadata

/** Applies X-<kind>-Meta-* / X-Remove-<kind>-Meta-* (and `extra` plain headers) to a stored map. */
export function applyMeta(req: FastifyRequest, kind: 'account' | 'container', meta: Record<string, string>, extra: string[] = []): void {
  const prefix = `x-${kind}-meta-`;
  const remove = `x-remove-${kind}-meta-`;
  for (const [k, v] of Object.entries(req.headers)) {
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    if (k.startsWith(prefix)) {
      if (value === '') delete meta[k];
      else meta[k] = value;
    } else if (k.startsWith(remove)) delete meta[prefix + k.slice(remove.length)];
    else if (extra.includes(k)) {
      if (value === '') delete meta[k];
      else meta[k] = value;
    } else if (k.startsWith('x-remove-') && extra.includes(`x-${k.slice('x-remove-'.length)}`)) delete meta[`x-${k.slice('x-remove-'.length)}`];
  }
}

/** Swift's check_metadata: name/value lengths, count and overall size (400 when broken). */
export function checkMeta(req: FastifyRequest, kind: 'account' | 'container' | 'object'): void {
  const prefix = `x-${kind}-meta-`;
  let count = 0;
  let size = 0;
  for (const [k, v] of Object.entries(req.headers)) {
    if (!k.startsWith(prefix)) continue;
    const name = k.slice(prefix.length);
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    if (name === '') throw swiftError(400, 'Metadata name cannot be empty');
    if (Buffer.byteLength(name) > SWIFT_LIMITS.max_meta_name_length) throw swiftError(400, `Metadata name too long: ${prefix}${name}`);
    if (Buffer.byteLength(value) > SWIFT_LIMITS.max_meta_value_length) throw swiftError(400, `Metadata value longer than ${SWIFT_LIMITS.max_meta_value_length}: ${prefix}${name}`);
    count++;
    size += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (count > SWIFT_LIMITS.max_meta_count) throw swiftError(400, `Too many metadata items; max ${SWIFT_LIMITS.max_meta_count}`);
  if (size > SWIFT_LIMITS.max_meta_overall_size) throw swiftError(400, `Total metadata too large; max ${SWIFT_LIMITS.max_meta_overall_size}`);
}

// ---------------------------------------------------------------- listings

export const intParam = (v: string | undefined, max: number): number => {
  if (v === undefined || v === '') return max;
  if (!/^\d+$/.test(v)) throw swiftError(412, 'Value of limit must be a positive integer');
  const n = Number(v);
  if (n > max) throw swiftError(412, `Maximum limit is ${max}`);
  return n;
};

export const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on|t|y)$/i.test(v);

/** Lists with prefix/delimiter roll-up: `fetch` pages through names in order from a marker. */
export async function rollUp<T extends { name: string }>(
  q: Record<string, string>, limit: number, fetch: (r: ListRange) => Promise<T[]>,
): Promise<(T | { subdir: string })[]> {
  const prefix = q.prefix ?? '';
  const delimiter = q.delimiter;
  const reverse = truthy(q.reverse);
  const range: ListRange = { marker: q.marker || undefined, endMarker: q.end_marker || undefined, prefix: prefix || undefined, limit, reverse };
  if (!delimiter) return fetch(range);
  if ([...delimiter].length !== 1) throw swiftError(412, 'Bad delimiter');
  const out: (T | { subdir: string })[] = [];
  while (out.length < limit) {
    const batch = await fetch({ ...range, limit: limit - out.length });
    if (batch.length === 0) break;
    let restart = false;
    for (const row of batch) {
      const tail = row.name.slice(prefix.length);
      const d = tail.indexOf(delimiter);
      if (d >= 0) {
        const subdir = prefix + tail.slice(0, d + delimiter.length);
        if (subdir !== row.name || !reverse) {
          out.push({ subdir });
          // Skip every name under this pseudo-directory.
          range.marker = reverse ? subdir : subdir.slice(0, -delimiter.length) + String.fromCodePoint(delimiter.codePointAt(0)! + 1);
          if (!reverse) range.marker = subdir + '\u{10FFFF}';
          restart = true;
          break;
        }
      }
      out.push(row);
      range.marker = row.name;
      if (out.length >= limit) break;
    }
    if (!restart && batch.length < limit) break;
  }
  return out;
}

export function sendListing(ctx: Ctx, body: string, empty: boolean, f: ReturnType<typeof listingFormat>): unknown {
  ctx.reply.header('content-type', CONTENT_TYPES[f]);
  if (empty && f === 'plain') return ctx.reply.code(204).header('content-length', '0').send();
  return ctx.reply.code(200).send(body);
}

export const CONTAINER_EXTRA = ['x-container-read', 'x-container-write', 'x-versions-location', 'x-history-location', 'x-container-sync-to', 'x-container-sync-key'];

export function canRead(ctx: Ctx, c: ContainerRow | undefined, listing: boolean): boolean {
  if (ctx.owner) return true;
  if (!c) return false;
  const acl = parseAcl(c.meta['x-container-read']);
  if (ctx.auth && granted(acl, ctx.auth)) return true;
  if ((!listing || acl.listings) && referrerAllowed(acl, hdr(ctx.req, 'referer'))) return true;
  return false;
}

export function canWrite(ctx: Ctx, c: ContainerRow | undefined): boolean {
  if (ctx.owner) return true;
  if (!c || !ctx.auth) return false;
  return granted(parseAcl(c.meta['x-container-write']), ctx.auth);
}

export function validateContainerName(name: string): void {
  if (Buffer.byteLength(name) > SWIFT_LIMITS.max_container_name_length) {
    throw swiftError(400, `Container name length of ${Buffer.byteLength(name)} longer than ${SWIFT_LIMITS.max_container_name_length}`);
  }
}

export const MIME: Record<string, string> = {
  txt: 'text/plain', html: 'text/html', htm: 'text/html', json: 'application/json', xml: 'application/xml', css: 'text/css',
  js: 'application/javascript', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml',
  pdf: 'application/pdf', tar: 'application/x-tar', gz: 'application/gzip', zip: 'application/zip', csv: 'text/csv', iso: 'application/x-iso9660-image',
};

export function guessType(name: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return (ext && MIME[ext]) ?? 'application/octet-stream';
}

/** The stored headers of an object write: X-Object-Meta-* and the allowed plain headers. */
export function objectHeadersFrom(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    if (k.startsWith('x-object-meta-')) out[k] = value;
    else if (ALLOWED_OBJECT_HEADERS.includes(k) && k !== 'x-delete-at' && value !== '') out[k] = value;
  }
  return out;
}


export async function readAll(s: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const createMd5 = (s: string) => createHash('md5').update(s).digest('hex');

export async function liveObject(deps: SwiftDeps, loc: ObjectLoc): Promise<ObjectRow | undefined> {
  const row = await deps.repo.object(loc.account, loc.container, loc.name);
  if (row && row.delete_at !== null && Number(row.delete_at) <= Date.now() / 1000) return undefined;
  return row;
}
