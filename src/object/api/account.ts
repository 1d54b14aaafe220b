import { Readable } from 'node:stream';
import { readTar, type TarEntry } from './archive.js';
import { listingFormat, renderAccountListing, timestampMs } from './listing.js';
import { type Ctx, SWIFT_LIMITS, type SwiftDeps, applyMeta, checkMeta, denied, guessType, hdr, intParam, rollUp, sendListing, swiftError } from './common.js';
// ---------------------------------------------------------------- account

export async function accountHeaders(ctx: Ctx, deps: SwiftDeps): Promise<void> {
  const now = Date.now();
  const stats = await deps.repo.accountStats(ctx.account, now);
  const acc = await deps.repo.accountMeta(ctx.account);
  const r = ctx.reply;
  r.header('x-account-container-count', String(stats.containers));
  r.header('x-account-object-count', String(stats.count));
  r.header('x-account-bytes-used', String(stats.bytes));
  if (stats.containers > 0) {
    r.header('x-account-storage-policy-policy-0-container-count', String(stats.containers));
    r.header('x-account-storage-policy-policy-0-object-count', String(stats.count));
    r.header('x-account-storage-policy-policy-0-bytes-used', String(stats.bytes));
  }
  r.header('x-timestamp', acc?.created_at ?? deps.data.timestamp());
  r.header('x-put-timestamp', acc?.created_at ?? deps.data.timestamp());
  r.header('accept-ranges', 'bytes');
  for (const [k, v] of Object.entries(acc?.meta ?? {})) r.header(k, v);
}

export async function accountRequest(ctx: Ctx, deps: SwiftDeps): Promise<unknown> {
  if (!ctx.owner) throw denied(ctx);
  const { req, reply } = ctx;
  if ('bulk-delete' in ctx.query && (ctx.method === 'POST' || ctx.method === 'DELETE')) return bulkDelete(ctx, deps);
  if (ctx.query['extract-archive'] !== undefined && ctx.method === 'PUT') return extractArchive(ctx, deps);
  switch (ctx.method) {
    case 'HEAD':
      await accountHeaders(ctx, deps);
      return reply.code(204).header('content-type', 'text/plain; charset=utf-8').header('content-length', '0').send();
    case 'GET': {
      const f = listingFormat(ctx.query.format, hdr(req, 'accept'));
      await accountHeaders(ctx, deps);
      const limit = intParam(ctx.query.limit, SWIFT_LIMITS.account_listing_limit);
      const now = Date.now();
      const rows = await rollUp(ctx.query, limit, (r) => deps.repo.listContainers(ctx.account, r, now));
      const entries = rows.map((r) => ('subdir' in r ? { name: r.subdir, count: 0, bytes: 0, last_modified: '' } : {
        name: r.name, count: r.count, bytes: r.bytes, last_modified: new Date(timestampMs(r.updated_at)).toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000'),
      }));
      return sendListing(ctx, renderAccountListing(ctx.account, entries, f), entries.length === 0, f);
    }
    case 'POST': {
      checkMeta(req, 'account');
      const quotaHeaders = Object.keys(req.headers).filter((k) => k === 'x-account-meta-quota-bytes' || k === 'x-remove-account-meta-quota-bytes');
      if (quotaHeaders.length && !ctx.reseller) throw swiftError(403);
      const q = hdr(req, 'x-account-meta-quota-bytes');
      if (q !== undefined && q !== '' && !/^-?\d+$/.test(q)) throw swiftError(400, 'Invalid bytes quota.');
      await deps.repo.updateAccount(ctx.account, ctx.projectId, deps.data.timestamp(), (m) => applyMeta(req, 'account', m));
      return reply.code(204).header('content-type', 'text/html; charset=UTF-8').send();
    }
    case 'PUT':
    case 'DELETE':
      throw swiftError(405, 'Method Not Allowed');
    default:
      throw swiftError(405, 'Method Not Allowed');
  }
}

export async function bulkDelete(ctx: Ctx, deps: SwiftDeps): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req.raw) chunks.push(c as Buffer);
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length > 10000) throw swiftError(413, 'Max delete failures exceeded');
  let deleted = 0;
  let notFound = 0;
  const errors: [string, string][] = [];
  for (const line of lines) {
    let p: string;
    try { p = decodeURIComponent(line).replace(/^\//, ''); } catch { errors.push([line, '412 Precondition Failed']); continue; }
    const i = p.indexOf('/');
    const container = i < 0 ? p : p.slice(0, i);
    const name = i < 0 ? '' : p.slice(i + 1);
    if (name) {
      if (await deps.data.remove({ account: ctx.account, container, name })) deleted++;
      else notFound++;
    } else {
      const r = await deps.repo.deleteContainer(ctx.account, container);
      if (r === 'deleted') deleted++;
      else if (r === 'missing') notFound++;
      else errors.push([`/${container}`, '409 Conflict']);
    }
  }
  const status = errors.length ? '400 Bad Request' : '200 OK';
  const result = { 'Number Deleted': deleted, 'Number Not Found': notFound, 'Response Body': '', 'Response Status': status, Errors: errors };
  const accept = hdr(ctx.req, 'accept') ?? '';
  if (accept.includes('application/json')) return ctx.reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(result));
  const text = `Number Deleted: ${deleted}\nNumber Not Found: ${notFound}\nResponse Body: \nResponse Status: ${status}\nErrors:\n${errors.map((e) => `${e[0]}, ${e[1]}\n`).join('')}`;
  return ctx.reply.code(200).type('text/plain; charset=utf-8').send(text);
}

/** PUT ?extract-archive=tar|tar.gz: each file of the archive becomes an object (bulk upload). */
export async function extractArchive(ctx: Ctx, deps: SwiftDeps): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req.raw) {
    size += (c as Buffer).length;
    if (size > 1024 * 1024 * 1024) throw swiftError(413, 'Your request is too large.');
    chunks.push(c as Buffer);
  }
  let entries: TarEntry[];
  try {
    entries = readTar(Buffer.concat(chunks), ctx.query['extract-archive']);
  } catch (e) {
    throw swiftError(400, `Invalid Tar File: ${(e as Error).message}`);
  }
  let created = 0;
  const errors: [string, string][] = [];
  for (const e of entries) {
    let container = ctx.container;
    let name = e.path;
    if (!container) {
      const i = name.indexOf('/');
      if (i <= 0) { errors.push([e.path, '400 Bad Request']); continue; }
      container = name.slice(0, i);
      name = name.slice(i + 1);
    }
    if (!name) continue;
    if (Buffer.byteLength(container) > SWIFT_LIMITS.max_container_name_length || Buffer.byteLength(name) > SWIFT_LIMITS.max_object_name_length) {
      errors.push([e.path, '400 Bad Request']);
      continue;
    }
    if (!(await deps.repo.container(ctx.account, container))) await deps.repo.putContainer(ctx.account, container, deps.data.timestamp(), () => undefined);
    await deps.data.write({ account: ctx.account, container, name }, Readable.from([e.data]), {
      contentType: guessType(name), headers: {}, deleteAt: null, maxBytes: SWIFT_LIMITS.max_file_size,
    });
    created++;
  }
  const status = errors.length ? '400 Bad Request' : '201 Created';
  const result = { 'Number Files Created': created, 'Response Body': '', 'Response Status': status, Errors: errors };
  if ((hdr(ctx.req, 'accept') ?? '').includes('application/json')) return ctx.reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(result));
  return ctx.reply.code(200).type('text/plain; charset=utf-8')
    .send(`Number Files Created: ${created}\nResponse Body: \nResponse Status: ${status}\nErrors:\n${errors.map((e) => `${e[0]}, ${e[1]}\n`).join('')}`);
}
