/** Buckets: ListBuckets, Create/Head/DeleteBucket, GetBucketLocation, ListObjects (v1, v2). */
import type { ObjectRow } from '../../db/repo.js';
import { awsEncode } from './auth-sigv4.js';
import { type S3Ctx, type S3Deps, bucketOf, isoDate, quoted, segmentsOf } from './context.js';
import { s3Error } from './errors.js';
import { document, type Node } from './xml.js';

const owner = (ctx: S3Ctx): Node => ['Owner', [['ID', ctx.auth.projectId], ['DisplayName', ctx.auth.projectId]]];

export async function listBuckets(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const rows = await deps.repo.listContainers(ctx.account, { limit: 10000 }, Date.now());
  const buckets: Node[] = rows.filter((c) => !c.name.endsWith('+segments'))
    .map((c) => ['Bucket', [['Name', c.name], ['CreationDate', isoDate(Number(c.created_at) * 1000)]]]);
  return document('ListAllMyBucketsResult', [owner(ctx), ['Buckets', buckets]]);
}

/** S3 bucket names (3-63 of a-z 0-9 . -); Swift-made containers with other names stay reachable. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export async function createBucket(ctx: S3Ctx, deps: S3Deps): Promise<void> {
  const name = ctx.bucket!;
  if (!BUCKET_NAME.test(name) || name.includes('..')) throw s3Error('InvalidBucketName');
  // The body is an optional CreateBucketConfiguration (a location constraint): read and ignored.
  for await (const _ of ctx.req.raw) { /* drain */ }
  const created = await deps.repo.putContainer(ctx.account, name, deps.data.timestamp(), () => undefined);
  if (!created) throw s3Error('BucketAlreadyOwnedByYou');
}

export async function deleteBucket(ctx: S3Ctx, deps: S3Deps): Promise<void> {
  await deps.data.expire();
  const r = await deps.repo.deleteContainer(ctx.account, ctx.bucket!);
  if (r === 'missing') throw s3Error('NoSuchBucket');
  if (r === 'not-empty') throw s3Error('BucketNotEmpty');
  await deps.repo.deleteContainer(ctx.account, segmentsOf(ctx.bucket!));
}

export function bucketLocation(): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>';
}

/** The name just after every name that starts with `p` (in UTF-8 byte order). */
const after = (p: string) => `${p}\u{10FFFF}`;

interface Walk { contents: ObjectRow[]; prefixes: string[]; truncated: boolean; next?: string }

/** One page of a listing: keys and common prefixes after `marker`, at most `max` of both. */
export async function walk(deps: S3Deps, account: string, container: string, o: { prefix: string; delimiter: string; marker: string; max: number }): Promise<Walk> {
  type Item = { row?: ObjectRow; prefix?: string };
  const items: Item[] = [];
  let marker = o.marker;
  let lastCp: string | undefined;
  if (o.delimiter && marker.startsWith(o.prefix) && marker.endsWith(o.delimiter) && marker.indexOf(o.delimiter, o.prefix.length) === marker.length - o.delimiter.length) {
    lastCp = marker;
    marker = after(marker);
  }
  const page = 1000;
  while (items.length <= o.max) {
    const rows = await deps.repo.listObjects(account, container, { prefix: o.prefix || undefined, marker: marker || undefined, limit: page }, Date.now());
    for (const r of rows) {
      if (items.length > o.max) break;
      marker = r.name;
      if (lastCp !== undefined && r.name.startsWith(lastCp)) continue;
      const i = o.delimiter ? r.name.indexOf(o.delimiter, o.prefix.length) : -1;
      if (i >= 0) {
        lastCp = r.name.slice(0, i + o.delimiter.length);
        items.push({ prefix: lastCp });
      } else items.push({ row: r });
    }
    if (rows.length < page) break;
    if (lastCp !== undefined && marker.startsWith(lastCp)) marker = after(lastCp);
  }
  const truncated = items.length > o.max;
  const shown = items.slice(0, o.max);
  const last = shown[shown.length - 1];
  return {
    contents: shown.flatMap((x) => (x.row ? [x.row] : [])),
    prefixes: shown.flatMap((x) => (x.prefix !== undefined ? [x.prefix] : [])),
    truncated,
    next: truncated && last ? (last.row?.name ?? last.prefix) : undefined,
  };
}

function maxKeys(q: Record<string, string>): number {
  const v = q['max-keys'];
  if (v === undefined) return 1000;
  if (!/^\d+$/.test(v)) throw s3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range');
  return Math.min(Number(v), 1000);
}

export async function listObjects(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const bucket = await bucketOf(ctx, deps);
  const q = ctx.query;
  const v2 = q['list-type'] === '2';
  const enc = q['encoding-type'] === 'url';
  if (q['encoding-type'] !== undefined && !enc) throw s3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
  const e = (s: string | undefined) => (s === undefined ? undefined : enc ? awsEncode(s, true) : s);
  const prefix = q.prefix ?? '';
  const delimiter = q.delimiter ?? '';
  const max = maxKeys(q);
  let marker = q.marker ?? '';
  if (v2) {
    if (q['continuation-token'] !== undefined) {
      marker = Buffer.from(q['continuation-token'], 'base64url').toString('utf8');
      if (!marker) throw s3Error('InvalidArgument', 'The continuation token provided is incorrect');
    } else marker = q['start-after'] ?? '';
  }
  const w = await walk(deps, ctx.account, bucket, { prefix, delimiter, marker, max });
  const fetchOwner = !v2 || q['fetch-owner'] === 'true';
  const contents: Node[] = w.contents.map((r) => ['Contents', [
    ['Key', e(r.name)], ['LastModified', isoDate(Number(r.modified_ms))], ['ETag', quoted(r.etag)], ['Size', Number(r.size)],
    ...(fetchOwner ? [owner(ctx)] : []), ['StorageClass', 'STANDARD'],
  ]]);
  const prefixes: Node[] = w.prefixes.map((p) => ['CommonPrefixes', [['Prefix', e(p)]]]);
  const head: Node[] = v2
    ? [['Name', bucket], ['Prefix', e(prefix)], ['MaxKeys', max], ['KeyCount', w.contents.length + w.prefixes.length],
      ...(delimiter ? [['Delimiter', e(delimiter)] as Node] : []), ...(enc ? [['EncodingType', 'url'] as Node] : []), ['IsTruncated', w.truncated],
      ['ContinuationToken', q['continuation-token']], ['StartAfter', e(q['start-after'])],
      ['NextContinuationToken', w.next !== undefined ? Buffer.from(w.next, 'utf8').toString('base64url') : undefined]]
    : [['Name', bucket], ['Prefix', e(prefix)], ['Marker', e(q.marker ?? '')], ['MaxKeys', max],
      ...(delimiter ? [['Delimiter', e(delimiter)] as Node] : []), ...(enc ? [['EncodingType', 'url'] as Node] : []), ['IsTruncated', w.truncated],
      ['NextMarker', w.truncated && delimiter ? e(w.next) : undefined]];
  return document('ListBucketResult', [...head, ...contents, ...prefixes]);
}

