/**
 * Multipart uploads. An upload is a zero-byte marker "<key>/<uploadId>" in "<bucket>+segments"
 * (its content type and metadata are the final object's), and part N the object
 * "<key>/<uploadId>/<NNNNN>" there. Completing concatenates the parts into one plain object
 * (ETag "md5-of-md5s-N"), so Swift and S3 see one object, then removes the parts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectRow } from '../../db/repo.js';
import { payloadLength, payloadStream, readPayload } from './auth-sigv4.js';
import { type S3Ctx, type S3Deps, MAX_OBJECT, MAX_PARTS, MIN_PART, bucketOf, contentMd5, hdr, isoDate, metaFrom, quoted, segmentsOf, writeError } from './context.js';
import { s3Error } from './errors.js';
import { document, elements, text, type Node } from './xml.js';

const partName = (key: string, uploadId: string, n: number) => `${key}/${uploadId}/${String(n).padStart(5, '0')}`;

/** The upload's marker row, or NoSuchUpload. */
async function upload(ctx: S3Ctx, deps: S3Deps, bucket: string) {
  const id = ctx.query.uploadId ?? '';
  if (!/^[0-9a-f]{32}$/.test(id)) throw s3Error('NoSuchUpload');
  const marker = await deps.repo.object(ctx.account, segmentsOf(bucket), `${ctx.key!}/${id}`);
  if (!marker) throw s3Error('NoSuchUpload');
  return { id, marker };
}

async function parts(ctx: S3Ctx, deps: S3Deps, bucket: string, id: string) {
  const prefix = `${ctx.key!}/${id}/`;
  const rows = await deps.repo.listObjects(ctx.account, segmentsOf(bucket), { prefix, limit: MAX_PARTS + 1 }, Date.now());
  return rows.filter((r) => /^\d{5}$/.test(r.name.slice(prefix.length))).map((r) => ({ n: Number(r.name.slice(prefix.length)), row: r }));
}

export async function createUpload(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const bucket = await bucketOf(ctx, deps);
  for await (const _ of ctx.req.raw) { /* no body */ }
  const id = randomBytes(16).toString('hex');
  const seg = segmentsOf(bucket);
  if (!(await deps.repo.container(ctx.account, seg))) await deps.repo.putContainer(ctx.account, seg, deps.data.timestamp(), () => undefined);
  await deps.data.write({ account: ctx.account, container: seg, name: `${ctx.key!}/${id}` }, Readable.from([]), {
    contentType: hdr(ctx.req, 'content-type') || 'binary/octet-stream', headers: metaFrom(ctx.req), deleteAt: null, maxBytes: 0,
  });
  return document('InitiateMultipartUploadResult', [['Bucket', bucket], ['Key', ctx.key!], ['UploadId', id]]);
}

export async function uploadPart(ctx: S3Ctx, deps: S3Deps): Promise<void> {
  const bucket = await bucketOf(ctx, deps);
  const { id } = await upload(ctx, deps, bucket);
  const n = Number(ctx.query.partNumber);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw s3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  if (hdr(ctx.req, 'x-amz-copy-source') !== undefined) throw s3Error('NotImplemented', 'UploadPartCopy is not implemented.');
  const length = payloadLength(ctx.req, ctx.auth);
  if (length === undefined && !/chunked/i.test(hdr(ctx.req, 'transfer-encoding') ?? '')) throw s3Error('MissingContentLength');
  if (length !== undefined && length > MAX_OBJECT) throw s3Error('EntityTooLarge');
  const row = await deps.data.write({ account: ctx.account, container: segmentsOf(bucket), name: partName(ctx.key!, id, n) }, payloadStream(ctx.req, ctx.auth), {
    contentType: 'application/octet-stream', headers: {}, deleteAt: null, maxBytes: MAX_OBJECT, expectedLength: length, expectedEtag: contentMd5(ctx.req),
  }).catch(writeError);
  ctx.reply.code(200).header('etag', quoted(row.etag)).header('content-length', '0').send();
}

export async function listParts(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const bucket = await bucketOf(ctx, deps);
  const { id } = await upload(ctx, deps, bucket);
  const after = Number(ctx.query['part-number-marker'] ?? 0) || 0;
  const max = Math.min(Number(ctx.query['max-parts'] ?? 1000) || 1000, 1000);
  const all = (await parts(ctx, deps, bucket, id)).filter((p) => p.n > after);
  const shown = all.slice(0, max);
  const owner: Node[] = [['ID', ctx.auth.projectId], ['DisplayName', ctx.auth.projectId]];
  return document('ListPartsResult', [
    ['Bucket', bucket], ['Key', ctx.key!], ['UploadId', id], ['Initiator', owner], ['Owner', owner], ['StorageClass', 'STANDARD'],
    ['PartNumberMarker', after], ['NextPartNumberMarker', shown.length ? shown[shown.length - 1].n : after], ['MaxParts', max],
    ['IsTruncated', all.length > max],
    ...shown.map((p): Node => ['Part', [['PartNumber', p.n], ['LastModified', isoDate(Number(p.row.modified_ms))], ['ETag', quoted(p.row.etag)], ['Size', Number(p.row.size)]]]),
  ]);
}

async function removeUpload(ctx: S3Ctx, deps: S3Deps, bucket: string, id: string): Promise<void> {
  const seg = segmentsOf(bucket);
  for (const p of await parts(ctx, deps, bucket, id)) await deps.data.remove({ account: ctx.account, container: seg, name: p.row.name });
  await deps.data.remove({ account: ctx.account, container: seg, name: `${ctx.key!}/${id}` });
}

export async function abortUpload(ctx: S3Ctx, deps: S3Deps): Promise<void> {
  const bucket = await bucketOf(ctx, deps);
  const { id } = await upload(ctx, deps, bucket);
  await removeUpload(ctx, deps, bucket, id);
  ctx.reply.code(204).send();
}

export async function completeUpload(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const bucket = await bucketOf(ctx, deps);
  const { id, marker } = await upload(ctx, deps, bucket);
  const body = (await readPayload(ctx.req, ctx.auth)).toString('utf8');
  if (!/<CompleteMultipartUpload[\s>]/.test(body)) throw s3Error('MalformedXML');
  const wanted = elements(body, 'Part').map((p) => ({ n: Number(text(p, 'PartNumber')?.trim()), etag: (text(p, 'ETag') ?? '').trim().replaceAll('"', '') }));
  if (!wanted.length) throw s3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  const have = new Map((await parts(ctx, deps, bucket, id)).map((p) => [p.n, p.row]));
  const rows: ObjectRow[] = [];
  let prev = 0;
  for (const [i, w] of wanted.entries()) {
    if (!Number.isInteger(w.n) || w.n <= prev) throw s3Error('InvalidPartOrder');
    prev = w.n;
    const row = have.get(w.n);
    if (!row || row.etag !== w.etag) throw s3Error('InvalidPart');
    if (i < wanted.length - 1 && Number(row.size) < MIN_PART) throw s3Error('EntityTooSmall');
    rows.push(row);
  }
  const md5s = createHash('md5');
  for (const r of rows) md5s.update(Buffer.from(r.etag, 'hex'));
  const etag = `${md5s.digest('hex')}-${rows.length}`;
  const read = (r: ObjectRow) => deps.data.read(r);
  async function* concat() {
    for (const r of rows) for await (const chunk of await read(r)) yield chunk as Buffer;
  }
  const out = await deps.data.write({ account: ctx.account, container: bucket, name: ctx.key! }, Readable.from(concat()), {
    contentType: marker.content_type, headers: JSON.parse(marker.headers) as Record<string, string>, deleteAt: null,
    maxBytes: Number.MAX_SAFE_INTEGER, etagOverride: () => etag,
  }).catch(writeError);
  await removeUpload(ctx, deps, bucket, id);
  const host = hdr(ctx.req, 'host') ?? '';
  return document('CompleteMultipartUploadResult', [
    ['Location', `http://${host}/${encodeURIComponent(bucket)}/${ctx.key!.split('/').map(encodeURIComponent).join('/')}`],
    ['Bucket', bucket], ['Key', ctx.key!], ['ETag', quoted(out.etag)],
  ]);
}

/** ListMultipartUploads: the markers in the segments container. */
export async function listUploads(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const bucket = await bucketOf(ctx, deps);
  const prefix = ctx.query.prefix ?? '';
  const rows = await deps.repo.listObjects(ctx.account, segmentsOf(bucket), { prefix: prefix || undefined, limit: 10000 }, Date.now());
  const owner: Node[] = [['ID', ctx.auth.projectId], ['DisplayName', ctx.auth.projectId]];
  const uploads: Node[] = [];
  for (const r of rows) {
    const m = /^(.*)\/([0-9a-f]{32})$/s.exec(r.name);
    if (!m || Number(r.size) !== 0) continue;
    uploads.push(['Upload', [['Key', m[1]], ['UploadId', m[2]], ['Initiator', owner], ['Owner', owner], ['StorageClass', 'STANDARD'], ['Initiated', isoDate(Number(r.modified_ms))]]]);
    if (uploads.length >= 1000) break;
  }
  return document('ListMultipartUploadsResult', [['Bucket', bucket], ['KeyMarker', ''], ['UploadIdMarker', ''], ['Prefix', prefix], ['MaxUploads', 1000], ['IsTruncated', false], ...uploads]);
}

