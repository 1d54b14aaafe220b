/**
 * The S3 front end on the object service's listener (like Swift's s3api middleware): requests
 * signed with AWS Signature V4 (header or presigned) are S3, path-style (/bucket/key); a bucket
 * is a container of the credential's project account AUTH_<project_id>.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, isSigV4 } from './auth-sigv4.js';
import { bucketLocation, createBucket, deleteBucket, listBuckets, listObjects } from './buckets.js';
import { type S3Ctx, type S3Deps, hdr } from './context.js';
import { errorXml, S3Error, s3Error } from './errors.js';
import { abortUpload, completeUpload, createUpload, listParts, listUploads, uploadPart } from './multipart.js';
import { copyObject, deleteObject, deleteObjects, getObject, putObject } from './objects.js';

export type { S3Deps } from './context.js';

/** Sub-resources this front end does not offer (answered 501 rather than misread as listings). */
const UNSUPPORTED = ['acl', 'policy', 'cors', 'lifecycle', 'versioning', 'versions', 'website', 'tagging', 'logging', 'notification', 'replication', 'encryption', 'object-lock', 'retention', 'legal-hold', 'torrent', 'restore', 'select', 'accelerate', 'requestPayment', 'analytics', 'inventory', 'metrics', 'ownershipControls', 'publicAccessBlock', 'intelligent-tiering', 'attributes'];

/** Routes SigV4-signed requests to S3 before Swift's routing sees them. */
export function registerS3(app: FastifyInstance, deps: S3Deps): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!isSigV4(req)) return;
    await handle(req, reply, deps);
    return reply;
  });
}

async function handle(req: FastifyRequest, reply: FastifyReply, deps: S3Deps): Promise<void> {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  reply.header('x-amz-request-id', requestId).header('x-amz-id-2', requestId);
  try {
    const [rawPath, rawQuery = ''] = req.url.split('?', 2) as [string, string?];
    const query: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(rawQuery.replaceAll('+', '%2B'))) query[k] = v;
    let path: string;
    try { path = decodeURIComponent(rawPath); } catch { throw s3Error('InvalidURI', 'Could not parse the specified URI.'); }
    const auth = await authenticate(req, deps.identity);
    const rest = path.replace(/^\//, '');
    const i = rest.indexOf('/');
    const bucket = (i < 0 ? rest : rest.slice(0, i)) || undefined;
    const key = i < 0 || i === rest.length - 1 ? undefined : rest.slice(i + 1);
    const ctx: S3Ctx = { req, reply, auth, account: `AUTH_${auth.projectId}`, bucket, key, query, requestId };
    const xml = await dispatch(ctx, deps);
    // null: the handler answered itself (a stream, a 204); '': an empty 200.
    if (xml === '') void reply.code(200).header('content-length', '0').send();
    else if (xml !== null) void reply.code(200).type('application/xml').send(xml);
  } catch (e) {
    let err: S3Error;
    if (e instanceof S3Error) err = e;
    else {
      req.log.error({ err: e }, 's3 request failed');
      err = s3Error('InternalError');
    }
    // The client may still be sending a body we did not read: close the connection after the answer.
    if (!req.raw.readableEnded && (hdr(req, 'content-length') ?? '0') !== '0') reply.header('connection', 'close');
    reply.code(err.status).headers(err.headers);
    if (req.method === 'HEAD') void reply.send();
    else void reply.type('application/xml').send(errorXml(err, requestId));
  }
}

async function dispatch(ctx: S3Ctx, deps: S3Deps): Promise<string | null> {
  const { req, query: q } = ctx;
  const m = req.method;
  if (UNSUPPORTED.some((s) => s in q)) throw s3Error('NotImplemented');
  if (!ctx.bucket) {
    if (m === 'GET') return listBuckets(ctx, deps);
    throw s3Error('MethodNotAllowed');
  }
  if (ctx.key === undefined) {
    switch (m) {
      case 'PUT': await createBucket(ctx, deps); ctx.reply.header('location', `/${ctx.bucket}`); return '';
      case 'HEAD': {
        if (!(await deps.repo.container(ctx.account, ctx.bucket))) throw s3Error('NoSuchBucket');
        return '';
      }
      case 'DELETE': await deleteBucket(ctx, deps); ctx.reply.code(204).send(); return null;
      case 'GET':
        if ('location' in q) {
          if (!(await deps.repo.container(ctx.account, ctx.bucket))) throw s3Error('NoSuchBucket');
          return bucketLocation();
        }
        if ('uploads' in q) return listUploads(ctx, deps);
        return listObjects(ctx, deps);
      case 'POST':
        if ('delete' in q) return deleteObjects(ctx, deps);
        throw s3Error('MethodNotAllowed');
      default: throw s3Error('MethodNotAllowed');
    }
  }
  switch (m) {
    case 'PUT':
      if (q.uploadId !== undefined || q.partNumber !== undefined) return uploadPart(ctx, deps).then(() => null);
      if (hdr(req, 'x-amz-copy-source') !== undefined) return copyObject(ctx, deps);
      await putObject(ctx, deps);
      return null;
    case 'GET':
      if (q.uploadId !== undefined) return listParts(ctx, deps);
      await getObject(ctx, deps);
      return null;
    case 'HEAD': await getObject(ctx, deps); return null;
    case 'DELETE':
      if (q.uploadId !== undefined) { await abortUpload(ctx, deps); return null; }
      await deleteObject(ctx, deps);
      return null;
    case 'POST':
      if ('uploads' in q) return createUpload(ctx, deps);
      if (q.uploadId !== undefined) return completeUpload(ctx, deps);
      throw s3Error('MethodNotAllowed');
    default: throw s3Error('MethodNotAllowed');
  }
}
