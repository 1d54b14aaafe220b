/** What the S3 handlers share: the request context, the store, and small helpers. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IdentityClient } from '../../../identity/client.js';
import type { ObjectRepo, ObjectRow } from '../../db/repo.js';
import { EtagMismatchError, IncompleteBodyError, TooLargeError, type ObjectData } from '../../service/objects.js';
import type { S3Auth } from './auth-sigv4.js';
import { s3Error, S3Error } from './errors.js';

export interface S3Deps {
  data: ObjectData;
  repo: ObjectRepo;
  identity: IdentityClient;
}

export interface S3Ctx {
  req: FastifyRequest;
  reply: FastifyReply;
  auth: S3Auth;
  /** The Swift account of the credential's project: AUTH_<project_id>. */
  account: string;
  bucket?: string;
  key?: string;
  query: Record<string, string>;
  requestId: string;
}

/** The largest single PUT (Swift's max_file_size) and the S3 multipart limits. */
export const MAX_OBJECT = 5 * 1024 * 1024 * 1024 + 2;
export const MIN_PART = 5 * 1024 * 1024;
export const MAX_PARTS = 10000;

/** Multipart parts live in "<bucket>+segments", as Swift's s3api keeps them. */
export const segmentsOf = (bucket: string) => `${bucket}+segments`;

export const hdr = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

export const isoDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();
export const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();
export const quoted = (etag: string) => `"${etag.replaceAll('"', '')}"`;

/** The bucket's container, or NoSuchBucket. */
export async function bucketOf(ctx: S3Ctx, deps: S3Deps): Promise<string> {
  const b = ctx.bucket!;
  if (!(await deps.repo.container(ctx.account, b))) throw s3Error('NoSuchBucket');
  return b;
}

/** A live object row (not past X-Delete-At). */
export async function liveRow(deps: S3Deps, account: string, container: string, name: string): Promise<ObjectRow | undefined> {
  const row = await deps.repo.object(account, container, name);
  return row && (row.delete_at === null || Number(row.delete_at) * 1000 > Date.now()) ? row : undefined;
}

/** Object metadata from x-amz-meta-* (kept as Swift's x-object-meta-*) and the stored plain headers. */
export function metaFrom(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    if (k.startsWith('x-amz-meta-')) out[`x-object-meta-${k.slice('x-amz-meta-'.length)}`] = value;
    else if (['content-disposition', 'content-encoding', 'cache-control', 'content-language', 'expires'].includes(k)) {
      if (!(k === 'content-encoding' && /aws-chunked/.test(value))) out[k] = value;
    }
  }
  if (out['content-encoding'] !== undefined) {
    out['content-encoding'] = out['content-encoding'].split(',').map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked').join(', ');
    if (!out['content-encoding']) delete out['content-encoding'];
  }
  return out;
}

/** Response headers of a stored object (S3 names). */
export function objectHeaders(row: ObjectRow): Record<string, string> {
  const h: Record<string, string> = {
    etag: quoted(row.etag), 'last-modified': httpDate(Number(row.modified_ms)), 'content-type': row.content_type, 'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(JSON.parse(row.headers) as Record<string, string>)) {
    if (k.startsWith('x-object-meta-')) h[`x-amz-meta-${k.slice('x-object-meta-'.length)}`] = v;
    else if (!k.startsWith('x-')) h[k] = v;
  }
  return h;
}

/** Maps the store's write failures to S3 errors. */
export function writeError(e: unknown): never {
  if (e instanceof S3Error) throw e;
  if (e instanceof TooLargeError) throw s3Error('EntityTooLarge');
  if (e instanceof EtagMismatchError) throw s3Error('BadDigest');
  if (e instanceof IncompleteBodyError) throw s3Error('IncompleteBody');
  throw e;
}

/** Content-MD5 (base64) as the hex ETag the store checks. */
export function contentMd5(req: FastifyRequest): string | undefined {
  const v = hdr(req, 'content-md5');
  if (v === undefined) return undefined;
  const b = Buffer.from(v, 'base64');
  if (b.length !== 16) throw s3Error('InvalidDigest');
  return b.toString('hex');
}
