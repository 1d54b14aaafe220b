import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { HttpError, badRequest } from '../../core/errors.js';
import type { RequestCtx } from '../../core/http/routes.js';
import type { Caller } from '../service/context.js';
import { PATCH_CONTENT_TYPES } from '../service/patch.js';

/** The image service's view of a request's caller. */
export function callerOf(ctx: RequestCtx): Caller {
  return {
    projectId: ctx.auth.projectId ?? null,
    userId: ctx.auth.userId,
    isAdmin: ctx.allowed('context_is_admin'),
    requestId: ctx.req.id,
    allowed: ctx.allowed,
  };
}

/** Glance's JSON body rules: malformed JSON and bodies that are neither list nor dict are 400. */
export function parseGlanceJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badRequest('Malformed JSON in request body.');
  }
  if (typeof v !== 'object' || v === null) throw badRequest('Unexpected body type. Expected list/dict.');
  return v;
}

/**
 * Body parsing for the image API: JSON and the two JSON-patch media types are parsed (within
 * the body limit); application/octet-stream and anything else reach the handler as the raw
 * request stream, never buffered, so uploads stream straight to the store.
 */
export function registerBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', ...Object.keys(PATCH_CONTENT_TYPES)], { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    try {
      done(null, parseGlanceJson(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.removeContentTypeParser('text/plain');
  const raw = (_req: unknown, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => done(null, payload);
  app.addContentTypeParser('application/octet-stream', raw);
  app.addContentTypeParser('*', raw);
}

/** A JSON request body whatever its media type (Glance does not look at it for JSON calls). */
export async function jsonBody(ctx: RequestCtx, limit = 1024 * 1024): Promise<unknown> {
  const body = ctx.body;
  if (!(body instanceof Readable)) return body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'Request body too large.');
    chunks.push(chunk as Buffer);
  }
  return parseGlanceJson(Buffer.concat(chunks).toString('utf8'));
}

/** The request body as a stream, when the media type is application/octet-stream; else 415. */
export function dataBody(ctx: RequestCtx): Readable {
  const type = (ctx.req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/octet-stream' || !(ctx.body instanceof Readable)) {
    throw new HttpError(415, `Invalid content type ${ctx.req.headers['content-type'] ?? 'None'}`);
  }
  return ctx.body;
}

/** One query parameter (the last when repeated). */
export function one(q: RequestCtx['query'], key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Every value of a query parameter. */
export function all(q: RequestCtx['query'], key: string): string[] {
  const v = q[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
