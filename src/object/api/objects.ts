import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type FastifyRequest } from 'fastify';
import { type ContainerRow, type ObjectRow } from '../db/repo.js';
import { BlobNotFoundError, type ByteRange } from '../drivers/object-store.js';
import { EtagMismatchError, IncompleteBodyError, TooLargeError, type ObjectLoc } from '../service/objects.js';
import { staticWeb, webError } from './staticweb.js';
import { type Ctx, SWIFT_LIMITS, type SwiftDeps, canRead, canWrite, checkMeta, createMd5, denied, guessType, hdr, httpDate, lastModifiedSec, liveObject, objectHeadersFrom, readAll, swiftError, truthy, validateContainerName } from './common.js';
// ---------------------------------------------------------------- objects

export function deleteAtOf(req: FastifyRequest): number | null | undefined {
  const after = hdr(req, 'x-delete-after');
  const at = hdr(req, 'x-delete-at');
  if (after !== undefined) {
    if (!/^\d+$/.test(after.trim())) throw swiftError(400, 'Non-integer X-Delete-After');
    return Math.floor(Date.now() / 1000) + Number(after);
  }
  if (at !== undefined) {
    if (at === '') return null;
    if (!/^\d+(\.\d+)?$/.test(at.trim())) throw swiftError(400, 'Non-integer X-Delete-At');
    const n = Math.floor(Number(at));
    if (n <= Date.now() / 1000) throw swiftError(400, 'X-Delete-At in past');
    return n;
  }
  return undefined;
}

export function setObjectHeaders(ctx: Ctx, row: ObjectRow, etag?: string): void {
  const r = ctx.reply;
  const headers = JSON.parse(row.headers) as Record<string, string>;
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith('x-slo-')) r.header(k, v);
  r.header('content-type', row.content_type);
  r.header('etag', etag ?? row.etag);
  r.header('last-modified', httpDate(Number(row.modified_ms)));
  r.header('x-timestamp', row.timestamp);
  r.header('accept-ranges', 'bytes');
  if (row.delete_at !== null) r.header('x-delete-at', String(row.delete_at));
}

export const splitEtags = (v: string) => v.split(',').map((s) => s.trim().replace(/^W\//, '').replaceAll('"', ''));

/** If-Match / If-None-Match / If-(Un)Modified-Since on an existing object: throws 412, or returns 304. */
export function conditional(ctx: Ctx, row: ObjectRow, etag: string): 304 | undefined {
  const im = hdr(ctx.req, 'if-match');
  if (im !== undefined && !(im.trim() === '*' || splitEtags(im).includes(etag))) throw swiftError(412);
  const inm = hdr(ctx.req, 'if-none-match');
  if (inm !== undefined && (inm.trim() === '*' || splitEtags(inm).includes(etag))) return 304;
  const lm = lastModifiedSec(Number(row.modified_ms));
  const ius = hdr(ctx.req, 'if-unmodified-since');
  if (ius !== undefined) {
    const t = Date.parse(ius);
    if (!Number.isNaN(t) && lm > t / 1000) throw swiftError(412);
  }
  const ims = hdr(ctx.req, 'if-modified-since');
  if (ims !== undefined && inm === undefined) {
    const t = Date.parse(ims);
    if (!Number.isNaN(t) && lm <= t / 1000) return 304;
  }
  return undefined;
}

/** Parses a Range header (several ranges allowed): undefined = whole object (also for bad syntax). */
export function parseRanges(header: string | undefined, size: number): ByteRange[] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return undefined;
  const out: ByteRange[] = [];
  for (const part of m[1].split(',')) {
    const p = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(part);
    if (!p || (p[1] === '' && p[2] === '')) return undefined;
    if (p[1] !== '' && p[2] !== '' && Number(p[2]) < Number(p[1])) return undefined;
    if (p[1] === '') {
      const n = Number(p[2]);
      if (n === 0 || size === 0) continue;
      out.push({ start: Math.max(0, size - n), end: size - 1 });
    } else {
      const start = Number(p[1]);
      if (start >= size) continue;
      out.push({ start, end: p[2] === '' ? size - 1 : Math.min(Number(p[2]), size - 1) });
    }
  }
  return out.length ? out : 'unsatisfiable';
}

/** A readable view of an object's bytes (plain, DLO or SLO): size, etag and a range reader. */
export interface Body {
  size: number;
  etag: string;
  read(range?: ByteRange): Promise<Readable>;
  /** A plain object's bytes when it is small enough to send as one buffer. */
  small?(): Promise<Buffer | undefined>;
}

export async function bodyOf(ctx: Ctx, deps: SwiftDeps, row: ObjectRow): Promise<Body> {
  const headers = JSON.parse(row.headers) as Record<string, string>;
  const getManifest = ctx.query['multipart-manifest'] === 'get';
  let segments: ObjectRow[] | undefined;
  let etag = row.etag;
  if (headers['x-object-manifest'] && !getManifest) {
    const m = headers['x-object-manifest'].replace(/^\//, '');
    const i = m.indexOf('/');
    const container = decodeURIComponent(i < 0 ? m : m.slice(0, i));
    const prefix = decodeURIComponent(i < 0 ? '' : m.slice(i + 1));
    segments = [];
    let marker: string | undefined;
    for (;;) {
      const page = await deps.repo.listObjects(ctx.account, container, { prefix: prefix || undefined, marker, limit: 1000 }, Date.now());
      segments.push(...page);
      if (page.length < 1000) break;
      marker = page[page.length - 1].name;
    }
    etag = `"${createMd5(segments.map((s) => s.etag).join(''))}"`;
  } else if (headers['x-static-large-object'] && !getManifest) {
    const manifest = JSON.parse(await readAll(await deps.data.read(row))) as { name: string; bytes: number; hash: string }[];
    segments = [];
    for (const seg of manifest) {
      const p = seg.name.replace(/^\//, '');
      const i = p.indexOf('/');
      const s = await deps.repo.object(ctx.account, p.slice(0, i), p.slice(i + 1));
      if (!s) throw swiftError(409, `Segment ${seg.name} is missing`);
      segments.push(s);
    }
    etag = `"${headers['x-slo-etag'] ?? row.etag}"`;
  }
  if (!segments) return { size: Number(row.size), etag: row.etag, read: (r) => deps.data.read(row, r), small: () => deps.data.readSmall(row) };
  const segs = segments;
  const size = segs.reduce((a, s) => a + Number(s.size), 0);
  return {
    size,
    etag,
    read: async (range) => {
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      async function* gen() {
        let offset = 0;
        for (const s of segs) {
          const sStart = offset;
          const sEnd = offset + Number(s.size) - 1;
          offset += Number(s.size);
          if (sEnd < start || sStart > end || Number(s.size) === 0) continue;
          const stream = await deps.data.read(s, { start: Math.max(start, sStart) - sStart, end: Math.min(end, sEnd) - sStart });
          for await (const chunk of stream) yield chunk as Buffer;
        }
      }
      return Readable.from(gen());
    },
  };
}


export async function objectRequest(ctx: Ctx, deps: SwiftDeps): Promise<unknown> {
  const { req, reply } = ctx;
  const loc: ObjectLoc = { account: ctx.account, container: ctx.container!, name: ctx.object! };
  validateContainerName(loc.container);
  if (Buffer.byteLength(loc.name) > SWIFT_LIMITS.max_object_name_length) throw swiftError(400, `Object name length of ${Buffer.byteLength(loc.name)} longer than ${SWIFT_LIMITS.max_object_name_length}`);
  const c = await deps.repo.container(ctx.account, loc.container);
  const write = ['PUT', 'POST', 'DELETE', 'COPY'].includes(ctx.method);
  if (write ? !canWrite(ctx, c) : !canRead(ctx, c, false)) throw denied(ctx);
  if (!c) throw swiftError(404);
  switch (ctx.method) {
    case 'HEAD':
    case 'GET': {
      if (!ctx.auth && !(await liveObject(deps, loc))) {
        // Static web: a "directory" path lists or serves its index; a missing page gets Web-Error.
        const web = loc.name.endsWith('/') ? await staticWeb(ctx, deps, c, loc.name) : undefined;
        if (web !== undefined) return web;
        if (c.meta['x-container-meta-web-error'] && (c.meta['x-container-meta-web-index'] || c.meta['x-container-meta-web-listings'])) return webError(ctx, deps, c, 404);
      }
      return getObject(ctx, deps, loc);
    }
    case 'PUT':
      return putObject(ctx, deps, loc, c);
    case 'COPY': {
      const dest = hdr(req, 'destination');
      if (!dest) throw swiftError(412, 'Destination header required');
      const d = splitCopyPath(dest, 'Destination');
      const dc = await deps.repo.container(ctx.account, d.container);
      if (!canWrite(ctx, dc)) throw denied(ctx);
      if (!dc) throw swiftError(404);
      return copyInto(ctx, deps, { account: ctx.account, ...d }, dc, { container: loc.container, name: loc.name });
    }
    case 'POST': {
      const row = await liveObject(deps, loc);
      if (!row) throw swiftError(404);
      checkMeta(req, 'object');
      const deleteAt = deleteAtOf(req);
      const ts = deps.data.timestamp();
      const headers = objectHeadersFrom(req);
      const old = JSON.parse(row.headers) as Record<string, string>;
      for (const k of ['x-static-large-object', 'x-slo-etag', 'x-object-manifest']) if (old[k] && !(k in headers)) headers[k] = old[k];
      await deps.repo.updateObject(loc.account, loc.container, loc.name, {
        headers: JSON.stringify(headers), timestamp: ts, modified_ms: Math.round(Number(ts) * 1000),
        content_type: hdr(req, 'content-type') || row.content_type,
        delete_at: deleteAt === undefined ? (hdr(req, 'x-remove-delete-at') !== undefined ? null : row.delete_at) : deleteAt,
      });
      return reply.code(202).header('content-type', 'text/html; charset=UTF-8').send('<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>');
    }
    case 'DELETE':
      return deleteObject(ctx, deps, loc, c);
    default:
      throw swiftError(405, 'Method Not Allowed');
  }
}

export async function getObject(ctx: Ctx, deps: SwiftDeps, loc: ObjectLoc): Promise<unknown> {
  const { req, reply } = ctx;
  const row = await liveObject(deps, loc);
  if (!row) {
    const im = hdr(req, 'if-match');
    if (im !== undefined && im.trim() === '*') throw swiftError(412);
    throw swiftError(404);
  }
  const body = await bodyOf(ctx, deps, row);
  const etag = body.etag.replaceAll('"', '');
  setObjectHeaders(ctx, row, body.etag);
  if (ctx.query['multipart-manifest'] === 'get') {
    const h = JSON.parse(row.headers) as Record<string, string>;
    if (h['x-static-large-object']) reply.header('content-type', 'application/json; charset=utf-8');
  }
  if (conditional(ctx, row, etag) === 304) return reply.code(304).removeHeader('content-type').header('content-length', '0').send();
  const ranges = ctx.method === 'GET' || hdr(req, 'range') ? parseRanges(hdr(req, 'range'), body.size) : undefined;
  if (ranges === 'unsatisfiable') {
    throw swiftError(416, undefined, { 'content-range': `bytes */${body.size}` });
  }
  if (ctx.method === 'HEAD') {
    return reply.code(200).header('content-length', String(body.size)).send();
  }
  if (!ranges) {
    reply.header('content-length', String(body.size));
    return reply.code(200).send((await body.small?.()) ?? (await body.read()));
  }
  if (ranges.length === 1) {
    const [r] = ranges;
    reply.header('content-range', `bytes ${r.start}-${r.end}/${body.size}`).header('content-length', String(r.end - r.start + 1));
    return reply.code(206).send(await body.read(r));
  }
  const boundary = randomBytes(16).toString('hex');
  const type = row.content_type;
  const parts = ranges.map((r) => ({ r, head: `--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${body.size}\r\n\r\n` }));
  const tail = `\r\n--${boundary}--`;
  let length = tail.length;
  parts.forEach((p, i) => { length += (i ? 2 : 0) + Buffer.byteLength(p.head) + (p.r.end - p.r.start + 1); });
  async function* gen() {
    for (const [i, p] of parts.entries()) {
      yield Buffer.from(`${i ? '\r\n' : ''}${p.head}`);
      for await (const chunk of await body.read(p.r)) yield chunk as Buffer;
    }
    yield Buffer.from(tail);
  }
  reply.header('content-type', `multipart/byteranges;boundary=${boundary}`).header('content-length', String(length));
  return reply.code(206).send(Readable.from(gen()));
}

export function splitCopyPath(v: string, header: string): { container: string; name: string } {
  let p: string;
  try { p = decodeURIComponent(v); } catch { throw swiftError(412, `${header} header must be of the form <container name>/<object name>`); }
  p = p.replace(/^\//, '');
  const i = p.indexOf('/');
  if (i <= 0 || i === p.length - 1) throw swiftError(412, `${header} header must be of the form <container name>/<object name>`);
  return { container: p.slice(0, i), name: p.slice(i + 1) };
}

/** Quota room for a write into a container: bytes allowed, or 413 when the count is full. */
export async function quotaRoom(ctx: Ctx, deps: SwiftDeps, c: ContainerRow, loc: ObjectLoc): Promise<number> {
  let room = SWIFT_LIMITS.max_file_size;
  const now = Date.now();
  const qb = c.meta['x-container-meta-quota-bytes'];
  const qc = c.meta['x-container-meta-quota-count'];
  const acc = await deps.repo.accountMeta(ctx.account);
  const qa = acc?.meta['x-account-meta-quota-bytes'];
  const accountQuota = qa !== undefined && /^-?\d+$/.test(qa) && Number(qa) >= 0;
  // The object being replaced frees its room; only a quota needs to know it.
  const existing = qb !== undefined || qc !== undefined || accountQuota ? await liveObject(deps, loc) : undefined;
  const reclaim = existing ? Number(existing.size) : 0;
  if (qb !== undefined || qc !== undefined) {
    const s = await deps.repo.containerStats(ctx.account, c.name, now);
    if (qc !== undefined && /^\d+$/.test(qc) && s.count + (existing ? 0 : 1) > Number(qc)) throw swiftError(413, 'Upload exceeds quota.');
    if (qb !== undefined && /^\d+$/.test(qb)) room = Math.min(room, Number(qb) - s.bytes + reclaim);
  }
  if (accountQuota) {
    const s = await deps.repo.accountStats(ctx.account, now);
    room = Math.min(room, Number(qa) - s.bytes + reclaim);
  }
  if (room < 0) throw swiftError(413, 'Upload exceeds quota.');
  return room;
}

export function writeError(e: unknown, room: number): never {
  if (e instanceof TooLargeError) throw swiftError(413, room < SWIFT_LIMITS.max_file_size ? 'Upload exceeds quota.' : 'Your request is too large.');
  if (e instanceof EtagMismatchError) throw swiftError(422, '<html><h1>Unprocessable Entity</h1><p>Unable to process the contained instructions</p></html>');
  if (e instanceof IncompleteBodyError) throw swiftError(499, 'Client Disconnect');
  throw e;
}

export async function putObject(ctx: Ctx, deps: SwiftDeps, loc: ObjectLoc, c: ContainerRow): Promise<unknown> {
  const { req, reply } = ctx;
  const copyFrom = hdr(req, 'x-copy-from');
  if (copyFrom !== undefined) {
    const src = splitCopyPath(copyFrom, 'X-Copy-From');
    const sc = await deps.repo.container(ctx.account, src.container);
    if (!canRead(ctx, sc, false)) throw denied(ctx);
    return copyInto(ctx, deps, loc, c, src);
  }
  const lenHeader = hdr(req, 'content-length');
  const chunked = /chunked/i.test(hdr(req, 'transfer-encoding') ?? '');
  if (lenHeader === undefined && !chunked) throw swiftError(411);
  const length = lenHeader === undefined ? undefined : Number(lenHeader);
  if (length !== undefined && (!Number.isInteger(length) || length < 0)) throw swiftError(400, 'Invalid Content-Length');
  if (length !== undefined && length > SWIFT_LIMITS.max_file_size) throw swiftError(413, 'Your request is too large.');
  checkMeta(req, 'object');
  const deleteAt = deleteAtOf(req) ?? null;
  const room = await quotaRoom(ctx, deps, c, loc);
  if (length !== undefined && length > room) throw swiftError(413, 'Upload exceeds quota.');
  const headers = objectHeadersFrom(req);
  let contentType = hdr(req, 'content-type') || guessType(loc.name);
  let body: Readable = req.raw;
  let etagOverride: ((md5: string) => string) | undefined;
  if (ctx.query['multipart-manifest'] === 'put') {
    const manifest = await sloManifest(ctx, deps, req.raw);
    body = Readable.from([Buffer.from(manifest.json)]);
    headers['x-static-large-object'] = 'True';
    headers['x-slo-etag'] = manifest.etag;
    etagOverride = () => manifest.etag;
    contentType = hdr(req, 'content-type') || 'application/octet-stream';
    if (!contentType.includes('swift_bytes=')) contentType = contentType;
  }
  await archiveVersion(ctx, deps, c, loc);
  const expectedEtag = etagOverride ? undefined : hdr(req, 'etag');
  const row = await deps.data.write(loc, body, {
    contentType, headers, deleteAt, maxBytes: etagOverride ? Number.MAX_SAFE_INTEGER : room,
    expectedLength: etagOverride ? undefined : length, expectedEtag, etagOverride,
  }).catch((e) => writeError(e, room));
  return reply.code(201).header('etag', etagOverride ? `"${row.etag}"` : row.etag).header('last-modified', httpDate(Number(row.modified_ms)))
    .header('content-type', 'text/html; charset=UTF-8').header('content-length', '0').send();
}

export async function copyInto(ctx: Ctx, deps: SwiftDeps, dst: ObjectLoc, dc: ContainerRow, src: { container: string; name: string }): Promise<unknown> {
  const { req, reply } = ctx;
  const srcRow = await liveObject(deps, { account: ctx.account, ...src });
  if (!srcRow) throw swiftError(404);
  checkMeta(req, 'object');
  const body = await bodyOf(ctx, deps, srcRow);
  const room = await quotaRoom(ctx, deps, dc, dst);
  if (body.size > room) throw swiftError(413, 'Upload exceeds quota.');
  const fresh = truthy(hdr(req, 'x-fresh-metadata'));
  const srcHeaders = JSON.parse(srcRow.headers) as Record<string, string>;
  const manifestGet = ctx.query['multipart-manifest'] === 'get';
  const headers: Record<string, string> = {};
  if (!fresh) for (const [k, v] of Object.entries(srcHeaders)) if (!k.startsWith('x-slo-') && k !== 'x-static-large-object' && (k !== 'x-object-manifest' || manifestGet)) headers[k] = v;
  if (manifestGet) for (const k of ['x-static-large-object', 'x-slo-etag', 'x-object-manifest']) if (srcHeaders[k]) headers[k] = srcHeaders[k];
  Object.assign(headers, objectHeadersFrom(req));
  const deleteAt = deleteAtOf(req) ?? null;
  const contentType = hdr(req, 'content-type') && ctx.method !== 'COPY' ? hdr(req, 'content-type')! : (hdr(req, 'content-type') || srcRow.content_type);
  await archiveVersion(ctx, deps, dc, dst);
  const row = await deps.data.write(dst, await body.read(), { contentType, headers, deleteAt, maxBytes: room })
    .catch((e) => writeError(e, room));
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith('x-slo-')) reply.header(k, v);
  return reply.code(201).header('etag', row.etag).header('last-modified', httpDate(Number(row.modified_ms)))
    .header('x-copied-from', `${encodeURIComponent(src.container)}/${encodeURI(src.name)}`)
    .header('x-copied-from-account', ctx.account)
    .header('x-copied-from-last-modified', httpDate(Number(srcRow.modified_ms)))
    .header('content-type', 'text/html; charset=UTF-8').header('content-length', '0').send();
}

/** Before an overwrite: keeps the current version in the X-Versions-/X-History-Location container. */
export async function archiveVersion(ctx: Ctx, deps: SwiftDeps, c: ContainerRow, loc: ObjectLoc): Promise<void> {
  const target = c.meta['x-versions-location'] ?? c.meta['x-history-location'];
  if (!target) return;
  const current = await liveObject(deps, loc);
  if (!current) return;
  const vc = await deps.repo.container(ctx.account, target);
  if (!vc) throw swiftError(412, 'Versions container does not exist');
  const ts = (Number(current.timestamp)).toFixed(5);
  const name = `${Buffer.byteLength(loc.name).toString(16).padStart(3, '0')}${loc.name}/${ts}`;
  await copyRow(deps, current, { account: ctx.account, container: target, name });
}

export async function copyRow(deps: SwiftDeps, src: ObjectRow, dst: ObjectLoc): Promise<ObjectRow> {
  const stream = await deps.data.read(src).catch((e) => {
    if (e instanceof BlobNotFoundError) throw swiftError(404);
    throw e;
  });
  return deps.data.write(dst, stream, {
    contentType: src.content_type, headers: JSON.parse(src.headers) as Record<string, string>, deleteAt: src.delete_at, maxBytes: Number.MAX_SAFE_INTEGER,
  });
}

export async function deleteObject(ctx: Ctx, deps: SwiftDeps, loc: ObjectLoc, c: ContainerRow): Promise<unknown> {
  const { reply } = ctx;
  const current = await liveObject(deps, loc);
  const history = c.meta['x-history-location'];
  const versions = c.meta['x-versions-location'];
  if (history && current) await archiveVersion(ctx, deps, c, loc);
  if (ctx.query['multipart-manifest'] === 'delete' && current) {
    const h = JSON.parse(current.headers) as Record<string, string>;
    if (h['x-static-large-object']) {
      const manifest = JSON.parse(await readAll(await deps.data.read(current))) as { name: string }[];
      for (const seg of manifest) {
        const p = seg.name.replace(/^\//, '');
        const i = p.indexOf('/');
        await deps.data.remove({ account: ctx.account, container: p.slice(0, i), name: p.slice(i + 1) });
      }
    }
  }
  const removed = await deps.data.remove(loc);
  if (versions) {
    // Stack mode: the newest archived version comes back.
    const prefix = `${Buffer.byteLength(loc.name).toString(16).padStart(3, '0')}${loc.name}/`;
    const [latest] = await deps.repo.listObjects(ctx.account, versions, { prefix, limit: 1, reverse: true }, Date.now());
    if (latest) {
      await copyRow(deps, latest, loc);
      await deps.data.remove({ account: ctx.account, container: versions, name: latest.name });
      return reply.code(204).header('content-type', 'text/html; charset=UTF-8').send();
    }
  }
  if (!removed || (current === undefined)) throw swiftError(404);
  return reply.code(204).header('content-type', 'text/html; charset=UTF-8').send();
}

/** ?multipart-manifest=put: checks the segments and returns the stored manifest and its ETag. */
export async function sloManifest(ctx: Ctx, deps: SwiftDeps, raw: Readable): Promise<{ json: string; etag: string }> {
  const text = await readAll(raw);
  let segs: { path?: string; etag?: string | null; size_bytes?: number | null; range?: string }[];
  try {
    segs = JSON.parse(text);
  } catch {
    throw swiftError(400, 'Manifest must be valid JSON.');
  }
  if (!Array.isArray(segs) || segs.length === 0) throw swiftError(400, 'Manifest must be a non-empty list.');
  const out: { name: string; bytes: number; hash: string; content_type: string; last_modified: string }[] = [];
  const errors: string[] = [];
  for (const s of segs) {
    if (typeof s?.path !== 'string') { errors.push('Index 0: "path" is required'); continue; }
    const p = s.path.replace(/^\//, '');
    const i = p.indexOf('/');
    const row = i > 0 ? await liveObject(deps, { account: ctx.account, container: p.slice(0, i), name: p.slice(i + 1) }) : undefined;
    if (!row) { errors.push(`${s.path}, 404 Not Found`); continue; }
    if (s.etag && s.etag !== row.etag) errors.push(`${s.path}, Etag Mismatch`);
    if (s.size_bytes !== undefined && s.size_bytes !== null && Number(s.size_bytes) !== Number(row.size)) errors.push(`${s.path}, Size Mismatch`);
    out.push({ name: `/${p}`, bytes: Number(row.size), hash: row.etag, content_type: row.content_type, last_modified: new Date(Number(row.modified_ms)).toISOString() });
  }
  if (errors.length) throw swiftError(400, `Errors:\n${errors.join('\n')}`);
  return { json: JSON.stringify(out), etag: createMd5(out.map((s) => s.hash).join('')) };
}
