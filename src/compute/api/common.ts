import type { FastifyRequest } from 'fastify';
import { badRequest } from '../../core/errors.js';
import { atLeast, type Microversion } from '../../core/http/microversion.js';
import type { RequestCtx } from '../../core/http/routes.js';
import type { Caller } from '../service/context.js';

export const MIN_VERSION = '2.1';
export const MAX_VERSION = '2.93';

/** The negotiated microversion of each request (set by the module's onRequest hook). */
export const versions = new WeakMap<FastifyRequest, Microversion>();
export const mv = (ctx: RequestCtx): Microversion => versions.get(ctx.req) ?? { major: 2, minor: 1 };
/** True when the request's microversion is at least `v` ("2.47"). */
export const at = (ctx: RequestCtx, v: string): boolean => atLeast(mv(ctx), v);

export const callerOf = (ctx: RequestCtx): Caller => ({
  projectId: ctx.auth.projectId ?? '',
  userId: ctx.auth.userId,
  isAdmin: ctx.allowed('context_is_admin'),
  requestId: String(ctx.req.id),
});

/** Base URL of this API as the client reached it (for links): http://host:port */
export const baseUrl = (ctx: RequestCtx): string => `${ctx.req.protocol}://${ctx.req.headers.host ?? 'localhost'}`;

export const isObj = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The one member a Nova action/create body must have ({"server": {...}}), else 400. */
export function member(body: unknown, key: string): Record<string, any> {
  if (!isObj(body) || !isObj(body[key])) throw badRequest(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(body)}. '${key}' is a required property`);
  return body[key];
}

/** One query value (the last when repeated). */
export const q1 = (ctx: RequestCtx, k: string): string | undefined => {
  const v = ctx.query[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
};

/** Nova's "links" for a resource: self (versioned) and bookmark (unversioned). */
export const links = (ctx: RequestCtx, kind: string, id: string, projectInPath = false) => {
  const b = baseUrl(ctx);
  const p = projectInPath && ctx.auth?.projectId ? `/${ctx.auth.projectId}` : '';
  return [
    { rel: 'self', href: `${b}/v2.1${p}/${kind}/${id}` },
    { rel: 'bookmark', href: `${b}${p}/${kind}/${id}` },
  ];
};

/** Nova's timestamps: 2024-01-02T03:04:05Z (no fraction). */
export const novaTime = (iso: string | null | undefined): string | null => (iso ? iso.replace(/\.\d+Z$/, 'Z') : null);
/** The os-extended / usage timestamps: 2024-01-02T03:04:05.000000 */
export const novaMicroTime = (iso: string | null | undefined): string | null => (iso ? iso.replace(/Z$/, '').replace(/(\.\d{3})$/, '$1000') : null);

/** An IPv6 address in its canonical compressed form, as Nova stores accessIPv6 (netaddr). */
export const canonicalIpv6 = (v: string): string => new URL(`http://[${v}]/`).hostname.slice(1, -1);
