import type { FastifyRequest } from 'fastify';
import { badRequest } from '../../core/errors.js';
import { atLeast, type Microversion } from '../../core/http/microversion.js';
import type { RequestCtx } from '../../core/http/routes.js';
import type { Caller } from '../service/context.js';

export const MIN_VERSION = '3.0';
export const MAX_VERSION = '3.70';

/** The negotiated microversion of each request (set by the module's onRequest hook). */
export const versions = new WeakMap<FastifyRequest, Microversion>();
export const at = (ctx: RequestCtx, v: string): boolean => atLeast(versions.get(ctx.req) ?? { major: 3, minor: 0 }, v);

export const callerOf = (ctx: RequestCtx): Caller => ({
  projectId: ctx.auth.projectId ?? '', userId: ctx.auth.userId, isAdmin: ctx.allowed('context_is_admin'),
});

export const baseUrl = (ctx: RequestCtx): string => `${ctx.req.protocol}://${ctx.req.headers.host ?? 'localhost'}`;
export const isObj = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The one member a Cinder body must have ({"volume": {...}}), else 400. */
export function member(body: unknown, key: string): Record<string, any> {
  if (!isObj(body) || !isObj(body[key])) throw badRequest(`Invalid input received: Missing required element '${key}' in request body.`);
  return body[key];
}

export const q1 = (ctx: RequestCtx, k: string): string | undefined => {
  const v = ctx.query[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
};

/** Cinder's timestamps: 2024-01-02T03:04:05.000000 */
export const cinderTime = (iso: string | null | undefined): string | null => (iso ? iso.replace(/Z$/, '').replace(/(\.\d{3})$/, '$1000') : null);

export const links = (ctx: RequestCtx, kind: string, id: string) => {
  const b = baseUrl(ctx);
  const p = ctx.auth?.projectId ?? '';
  return [{ rel: 'self', href: `${b}/v3/${p}/${kind}/${id}` }, { rel: 'bookmark', href: `${b}/${p}/${kind}/${id}` }];
};

/** String-valued metadata of at most 255 characters per key and value (Cinder's check). */
export function metadataOf(x: unknown, field = 'metadata'): Record<string, string> {
  if (!isObj(x)) throw badRequest(`Invalid input received: ${field} must be a dictionary.`);
  for (const [k, v] of Object.entries(x)) {
    if (k.length === 0 || k.length > 255) throw badRequest('Invalid input received: Metadata property key blank or longer than 255 characters.');
    if (typeof v !== 'string') throw badRequest(`Invalid input received: Value for metadata key ${k} must be a string.`);
    if (v.length > 255) throw badRequest('Invalid input received: Metadata property value longer than 255 characters.');
  }
  return x as Record<string, string>;
}

/** An optional string field (null allowed), at most 255 characters. */
export function optString(x: unknown, field: string, max = 255): string | null | undefined {
  if (x === undefined || x === null) return x as null | undefined;
  if (typeof x !== 'string') throw badRequest(`Invalid input received: ${field} must be a string.`);
  if (x.length > max) throw badRequest(`Invalid input received: ${field} has more than ${max} characters.`);
  return x;
}

/** Cinder's boolean strings ('true', 'True', '1', 'yes'...). */
export function boolOf(x: unknown, field: string): boolean {
  if (typeof x === 'boolean') return x;
  if (typeof x === 'string') {
    if (/^(true|t|1|yes|y|on)$/i.test(x)) return true;
    if (/^(false|f|0|no|n|off)$/i.test(x)) return false;
  }
  throw badRequest(`Invalid input received: ${field} must be a boolean, got ${JSON.stringify(x)}.`);
}

/** A positive integer size (Cinder accepts numeric strings too). */
export function sizeOf(x: unknown, field = 'size'): number {
  const n = typeof x === 'number' ? x : typeof x === 'string' && /^\s*-?\d+\s*$/.test(x) ? Number(x) : NaN;
  if (!Number.isInteger(n) || n < 1) throw badRequest(`Invalid input received: ${field} (${JSON.stringify(x)}) must be an integer and greater than 0.`);
  return n;
}
