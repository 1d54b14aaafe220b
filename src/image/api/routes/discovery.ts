import type { FastifyRequest } from 'fastify';
import { notFound } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { ImageServices } from '../../service/index.js';
import { SCHEMA_DOCS } from '../schemas.js';

/**
 * The API versions Glance Zed reports with multiple stores and no image cache, and v1 as
 * Glance listed it while it still served it (DEPRECATED, at /v1/).
 */
const VERSIONS: [string, string][] = [
  ['2.15', 'CURRENT'],
  ...['2.13', '2.12', '2.11', '2.10', '2.9', '2.8', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((v) => [v, 'SUPPORTED'] as [string, string]),
  ['1.1', 'DEPRECATED'],
  ['1.0', 'DEPRECATED'],
];
/** Path prefixes that name a version (`/v2.1/images` is `/v2/images`). */
export const VERSION_PREFIXES = new Set(['v1', 'v2', ...VERSIONS.map(([v]) => `v${v}`)]);

/** Base URL of this endpoint as the client reached it. */
export function baseUrl(req: FastifyRequest): string {
  const proto = (req.headers['x-forwarded-proto'] as string | undefined) ?? req.protocol;
  return `${proto}://${req.headers.host ?? `${req.hostname}`}`;
}

export function versionsBody(req: FastifyRequest) {
  const base = baseUrl(req);
  return { versions: VERSIONS.map(([v, status]) => ({ id: `v${v}`, status, links: [{ rel: 'self', href: `${base}/v${v.split('.')[0]}/` }] })) };
}

/** Version discovery, schemas, and the /v2/info documents. */
export function discoveryRoutes(s: ImageServices, importMethods: () => string[]): Route[] {
  return [
    { method: 'GET', url: '/', policy: 'public', status: 300, handler: (ctx) => versionsBody(ctx.req) },
    { method: 'GET', url: '/versions', policy: 'public', handler: (ctx) => versionsBody(ctx.req) },
    {
      method: 'GET', url: '/v2/schemas/*', policy: 'authenticated',
      handler: (ctx) => {
        const doc = SCHEMA_DOCS[(ctx.params as Record<string, string>)['*']];
        if (!doc) throw notFound('The resource could not be found.');
        return doc();
      },
    },
    {
      method: 'GET', url: '/v2/info/import', policy: 'authenticated',
      handler: () => ({ 'import-methods': { description: 'Import methods available.', type: 'array', value: importMethods() } }),
    },
    {
      method: 'GET', url: '/v2/info/stores', policy: 'authenticated',
      handler: () => ({ stores: [{ id: s.deps.stores.data.id, description: s.deps.stores.data.description, default: 'true' }] }),
    },
    {
      method: 'GET', url: '/v2/info/stores/detail', policy: 'stores_info_detail',
      handler: () => {
        const st = s.deps.stores.data;
        return { stores: [{ id: st.id, description: st.description, default: 'true', type: st.type, properties: st.properties }] };
      },
    },
    {
      method: 'GET', url: '/v2/info/usage', policy: 'authenticated',
      handler: async (ctx) => ({ usage: ctx.auth.projectId ? await s.quotas.report(ctx.auth.projectId) : {} }),
    },
  ];
}
