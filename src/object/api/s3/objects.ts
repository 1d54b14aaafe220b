/** Objects: Put/Get/Head/Delete, CopyObject and DeleteObjects. */

import { parseRanges } from '../objects.js';
import { payloadLength, payloadStream, readPayload } from './auth-sigv4.js';
import { type S3Ctx, type S3Deps, MAX_OBJECT, bucketOf, contentMd5, hdr, isoDate, liveRow, metaFrom, objectHeaders, quoted, writeError } from './context.js';
import { s3Error } from './errors.js';
import { document, elements, text, type Node } from './xml.js';

const guessType = () => 'binary/octet-stream';

export async function putObject(ctx: S3Ctx, deps: S3Deps): Promise<void> {
  const bucket = await bucketOf(ctx, deps);
  const { req, reply } = ctx;
  const length = payloadLength(req, ctx.auth);
  if (length === undefined && !/chunked/i.test(hdr(req, 'transfer-encoding') ?? '')) throw s3Error('MissingContentLength');
  if (length !== undefined && length > MAX_OBJECT) throw s3Error('EntityTooLarge');
  const row = await deps.data.write({ account: ctx.account, container: bucket, name: ctx.key! }, payloadStream(req, ctx.auth), {
    contentType: hdr(req, 'content-type') || guessType(), headers: metaFrom(req), deleteAt: null, maxBytes: MAX_OBJECT,
    expectedLength: length, expectedEtag: contentMd5(req),
  }).catch(writeError);
  reply.code(200).header('etag', quoted(row.etag)).header('content-length', '0').send();
}

export async function getObject(ctx: S3Ctx, deps: S3Deps): Promise<void> {
  const bucket = await bucketOf(ctx, deps);
  const { req, reply } = ctx;
  const row = await liveRow(deps, ctx.account, bucket, ctx.key!);
  if (!row) throw s3Error('NoSuchKey');
  const headers = objectHeaders(row);
  const etag = row.etag;
  const im = hdr(req, 'if-match');
  const inm = hdr(req, 'if-none-match');
  const strip = (s: string) => s.split(',').map((x) => x.trim().replaceAll('"', ''));
  const mod = Math.floor(Number(row.modified_ms) / 1000) * 1000;
  if (im !== undefined && !strip(im).some((x) => x === '*' || x === etag)) throw s3Error('PreconditionFailed');
  const ius = hdr(req, 'if-unmodified-since');
  if (im === undefined && ius !== undefined && !Number.isNaN(Date.parse(ius)) && mod > Date.parse(ius)) throw s3Error('PreconditionFailed');
  const ims = hdr(req, 'if-modified-since');
  if ((inm !== undefined && strip(inm).some((x) => x === '*' || x === etag))
    || (inm === undefined && ims !== undefined && !Number.isNaN(Date.parse(ims)) && mod <= Date.parse(ims))) {
    reply.code(304).headers({ etag: headers.etag, 'last-modified': headers['last-modified'] }).send();
    return;
  }
  for (const [k, v] of Object.entries(ctx.query)) {
    const h = { 'response-content-type': 'content-type', 'response-content-disposition': 'content-disposition', 'response-cache-control': 'cache-control', 'response-content-encoding': 'content-encoding', 'response-content-language': 'content-language', 'response-expires': 'expires' }[k];
    if (h) headers[h] = v;
  }
  reply.headers(headers);
  const size = Number(row.size);
  const ranges = parseRanges(hdr(req, 'range'), size);
  if (ranges === 'unsatisfiable') throw s3Error('InvalidRange', undefined, { 'content-range': `bytes */${size}` });
  if (req.method === 'HEAD') {
    reply.code(200).header('content-length', String(size)).send();
    return;
  }
  if (ranges && ranges.length === 1) {
    const [r] = ranges;
    reply.code(206).header('content-range', `bytes ${r.start}-${r.end}/${size}`).header('content-length', String(r.end - r.start + 1)).send(await deps.data.read(row, r));
    return;
  }
  reply.code(200).header('content-length', String(size)).send(await deps.data.read(row));
}

export async function deleteObject(ctx: S3Ctx, deps: S3Deps): Promise<void> {
  const bucket = await bucketOf(ctx, deps);
  await deps.data.remove({ account: ctx.account, container: bucket, name: ctx.key! });
  ctx.reply.code(204).send();
}

/** x-amz-copy-source: "[/]bucket/key[?versionId=...]", URL-encoded. */
function copySource(v: string): { bucket: string; key: string } {
  let p = v.split('?')[0];
  try { p = decodeURIComponent(p); } catch { throw s3Error('InvalidArgument', 'Invalid copy source encoding'); }
  p = p.replace(/^\//, '');
  const i = p.indexOf('/');
  if (i <= 0 || i === p.length - 1) throw s3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  return { bucket: p.slice(0, i), key: p.slice(i + 1) };
}

export async function copyObject(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const bucket = await bucketOf(ctx, deps);
  const { req } = ctx;
  const src = copySource(hdr(req, 'x-amz-copy-source')!);
  if (!(await deps.repo.container(ctx.account, src.bucket))) throw s3Error('NoSuchBucket');
  const row = await liveRow(deps, ctx.account, src.bucket, src.key);
  if (!row) throw s3Error('NoSuchKey');
  const im = hdr(req, 'x-amz-copy-source-if-match');
  if (im !== undefined && im.replaceAll('"', '') !== row.etag) throw s3Error('PreconditionFailed');
  const inm = hdr(req, 'x-amz-copy-source-if-none-match');
  if (inm !== undefined && inm.replaceAll('"', '') === row.etag) throw s3Error('PreconditionFailed');
  const replace = (hdr(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase() === 'REPLACE';
  if (!replace && src.bucket === bucket && src.key === ctx.key) {
    throw s3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
  }
  for await (const _ of ctx.req.raw) { /* no body */ }
  const headers = replace ? metaFrom(req) : (JSON.parse(row.headers) as Record<string, string>);
  const contentType = replace ? (hdr(req, 'content-type') || guessType()) : row.content_type;
  // A multipart object keeps its "md5-N" ETag, as S3 does for copies of it.
  const multipartEtag = /-\d+$/.test(row.etag) ? row.etag : undefined;
  const out = await deps.data.write({ account: ctx.account, container: bucket, name: ctx.key! }, await deps.data.read(row), {
    contentType, headers, deleteAt: null, maxBytes: MAX_OBJECT, etagOverride: multipartEtag ? () => multipartEtag : undefined,
  }).catch(writeError);
  return document('CopyObjectResult', [['LastModified', isoDate(Number(out.modified_ms))], ['ETag', quoted(out.etag)]]);
}

export async function deleteObjects(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const bucket = await bucketOf(ctx, deps);
  const body = (await readPayload(ctx.req, ctx.auth)).toString('utf8');
  if (!/<Delete[\s>]/.test(body)) throw s3Error('MalformedXML');
  const quiet = text(body, 'Quiet')?.trim() === 'true';
  const objects = elements(body, 'Object');
  if (objects.length > 1000) throw s3Error('MalformedXML');
  const out: Node[] = [];
  for (const o of objects) {
    const key = text(o, 'Key');
    if (key === undefined) throw s3Error('MalformedXML');
    await deps.data.remove({ account: ctx.account, container: bucket, name: key });
    if (!quiet) out.push(['Deleted', [['Key', key]]]);
  }
  return document('DeleteResult', out);
}

