/**
 * os-simple-tenant-usage: usage of every project (admin) or of one project over a period
 * (?start=&end=, naive UTC; the end is capped at now), server_usages with ?detailed=1 (always
 * in the per-project view); instance paging with limit/marker and next links since 2.40.
 */
import { badRequest, notFound } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';
import { activeInstances, tenantUsages, usagePeriod } from '../../service/usage.js';
import { at, baseUrl, q1 } from '../common.js';

const P = 'os_compute_api:os-simple-tenant-usage:';
export const usagePolicy: Record<string, string> = {
  [`${P}list`]: 'rule:admin_api',
  [`${P}show`]: 'rule:project_reader_or_admin',
};

const MAX_LIMIT = 1000;

function params(ctx: RequestCtx, allowed: string[]) {
  if (at(ctx, '2.75')) {
    const extra = Object.keys(ctx.query).filter((k) => !allowed.includes(k));
    if (extra.length) throw badRequest(`Invalid input for query parameters ${extra[0]}. Value: ${String(ctx.query[extra[0]])}. Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
  }
  const now = new Date();
  const period = usagePeriod(q1(ctx, 'start'), q1(ctx, 'end'), now);
  if (period.stop > now) period.stop = now;
  let limit: number | undefined;
  let marker: string | undefined;
  if (at(ctx, '2.40')) {
    const l = q1(ctx, 'limit');
    if (l !== undefined) {
      if (!/^\d+$/.test(l)) throw badRequest(`Invalid input for query parameters limit. Value: ${l}. '${l}' does not match '^[0-9]*$'`);
      limit = Math.min(Number(l), MAX_LIMIT);
    } else limit = MAX_LIMIT;
    marker = q1(ctx, 'marker');
  }
  return { period, limit, marker };
}

/** Nova's next link: present whenever a page holds `limit` servers; the marker is the last server. */
function nextLinks(ctx: RequestCtx, path: string, limit: number | undefined, uuids: string[]) {
  if (limit === undefined || limit === 0 || uuids.length !== limit) return undefined;
  const u = new URL(ctx.req.url, baseUrl(ctx));
  u.searchParams.set('marker', uuids[uuids.length - 1]);
  return [{ rel: 'next', href: `${baseUrl(ctx)}/v2.1/${path}?${u.searchParams.toString()}` }];
}

export function usageRoutes(c: ComputeContext): Route[] {
  return [
    {
      method: 'GET', url: '/v2.1/os-simple-tenant-usage', policy: `${P}list`,
      // `os-simple-tenant-usage/` is a show with an empty tenant id, which Nova's router has no route for.
      target: (ctx) => {
        if (ctx.req.url.split('?')[0].endsWith('/')) throw notFound('The resource could not be found.');
        return {};
      },
      handler: async (ctx) => {
        const { period, limit, marker } = params(ctx, ['start', 'end', 'detailed', 'limit', 'marker']);
        const detailed = q1(ctx, 'detailed') === '1';
        const rows = await activeInstances(c, period, { limit, marker });
        const links = nextLinks(ctx, 'os-simple-tenant-usage', limit, rows.map((r) => r.uuid));
        return { tenant_usages: tenantUsages(rows, period, detailed), ...(links ? { tenant_usages_links: links } : {}) };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-simple-tenant-usage/:tenant_id', policy: `${P}show`,
      target: (ctx) => ({ project_id: ctx.params.tenant_id }),
      handler: async (ctx) => {
        const projectId = ctx.params.tenant_id;
        const { period, limit, marker } = params(ctx, ['start', 'end', 'limit', 'marker']);
        const rows = await activeInstances(c, period, { projectId, limit, marker });
        const [usage] = tenantUsages(rows, period, true);
        const links = nextLinks(ctx, `os-simple-tenant-usage/${projectId}`, limit, rows.map((r) => r.uuid));
        return { tenant_usage: usage ?? {}, ...(links ? { tenant_usage_links: links } : {}) };
      },
    },
  ];
}
