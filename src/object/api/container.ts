import { type ContainerRow } from '../db/repo.js';
import { aclError } from './acl.js';
import { listingFormat, renderObjectListing, timestampMs, type ObjectEntry } from './listing.js';
import { extractArchive } from './account.js';
import { staticWeb } from './staticweb.js';
import { CONTAINER_EXTRA, type Ctx, SWIFT_LIMITS, type SwiftDeps, applyMeta, canRead, checkMeta, denied, hdr, httpDate, intParam, rollUp, sendListing, swiftError, validateContainerName } from './common.js';
export async function containerHeaders(ctx: Ctx, deps: SwiftDeps, c: ContainerRow): Promise<void> {
  const stats = await deps.repo.containerStats(ctx.account, c.name, Date.now());
  const r = ctx.reply;
  r.header('x-container-object-count', String(stats.count));
  r.header('x-container-bytes-used', String(stats.bytes));
  r.header('x-timestamp', c.created_at);
  r.header('x-put-timestamp', c.updated_at);
  r.header('last-modified', httpDate(timestampMs(c.updated_at)));
  r.header('x-storage-policy', 'Policy-0');
  r.header('accept-ranges', 'bytes');
  for (const [k, v] of Object.entries(c.meta)) {
    if (!ctx.owner && (k === 'x-container-read' || k === 'x-container-write' || k.startsWith('x-container-sync') || k.startsWith('x-container-meta-temp-url-key'))) continue;
    r.header(k, v);
  }
}

export async function containerRequest(ctx: Ctx, deps: SwiftDeps): Promise<unknown> {
  const { req, reply } = ctx;
  const name = ctx.container!;
  validateContainerName(name);
  const c = await deps.repo.container(ctx.account, name);
  if (ctx.query['extract-archive'] !== undefined && ctx.method === 'PUT') {
    if (!ctx.owner) throw denied(ctx);
    return extractArchive(ctx, deps);
  }
  switch (ctx.method) {
    case 'HEAD':
    case 'GET': {
      const web = await staticWeb(ctx, deps, c, '');
      if (web !== undefined) return web;
      if (!canRead(ctx, c, true)) throw denied(ctx);
      if (!c) throw swiftError(404);
      await containerHeaders(ctx, deps, c);
      if (ctx.method === 'HEAD') return reply.code(204).header('content-type', 'text/plain; charset=utf-8').header('content-length', '0').send();
      const f = listingFormat(ctx.query.format, hdr(req, 'accept'));
      const limit = intParam(ctx.query.limit, SWIFT_LIMITS.container_listing_limit);
      const now = Date.now();
      const q = { ...ctx.query };
      if (q.path !== undefined) {
        q.prefix = q.path === '' ? '' : q.path.endsWith('/') ? q.path : `${q.path}/`;
        q.delimiter = '/';
      }
      const rows: ObjectEntry[] = await rollUp(q, limit, (r) => deps.repo.listObjects(ctx.account, name, r, now));
      return sendListing(ctx, renderObjectListing(name, rows, f), rows.length === 0, f);
    }
    case 'PUT':
    case 'POST': {
      if (!ctx.owner) throw denied(ctx);
      if (ctx.method === 'POST' && !c) throw swiftError(404);
      checkMeta(req, 'container');
      for (const h of ['x-container-read', 'x-container-write']) {
        const v = hdr(req, h);
        if (v) {
          const err = aclError(v);
          if (err) throw swiftError(400, err);
        }
      }
      for (const h of ['x-container-meta-quota-bytes', 'x-container-meta-quota-count']) {
        const v = hdr(req, h);
        if (v !== undefined && v !== '' && !/^\d+$/.test(v)) throw swiftError(400, 'Invalid quota value');
      }
      for (const h of ['x-versions-location', 'x-history-location']) {
        const v = hdr(req, h);
        if (v !== undefined && v !== '' && (v.includes('/') || v === name)) throw swiftError(400, `${h} must be a container name in this account`);
      }
      if (hdr(req, 'x-versions-location') && hdr(req, 'x-history-location')) throw swiftError(400, 'Only one of X-Versions-Location or X-History-Location may be specified');
      const now = deps.data.timestamp();
      const created = await deps.repo.putContainer(ctx.account, name, now, (m) => {
        applyMeta(req, 'container', m, CONTAINER_EXTRA);
        // Setting one versioning mode drops the other.
        if (hdr(req, 'x-versions-location')) delete m['x-history-location'];
        if (hdr(req, 'x-history-location')) delete m['x-versions-location'];
      });
      reply.header('content-type', 'text/html; charset=UTF-8').header('content-length', '0');
      if (ctx.method === 'POST') return reply.code(204).send();
      return reply.code(created ? 201 : 202).send();
    }
    case 'DELETE': {
      if (!ctx.owner) throw denied(ctx);
      await deps.data.expire();
      const r = await deps.repo.deleteContainer(ctx.account, name);
      if (r === 'missing') throw swiftError(404);
      if (r === 'not-empty') throw swiftError(409, '<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>');
      return reply.code(204).header('content-type', 'text/html; charset=UTF-8').header('content-length', '0').send();
    }
    default:
      throw swiftError(405, 'Method Not Allowed');
  }
}
