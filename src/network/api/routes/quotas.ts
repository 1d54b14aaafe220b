/** Quotas (/v2.0/quotas) with the quota_details extension. */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { badRequest } from '../../../core/errors.js';
import { neutronError } from '../../service/errors.js';
import type { NetworkContext } from '../../service/context.js';
import { DEFAULT_QUOTAS, limitsOf, projectsWithQuotas, resetQuotas, setQuotas, usageOf } from '../../service/quotas.js';
import { bodyOf, callerOf } from '../common.js';

export const quotasPolicy: Record<string, string> = {
  get_quotas: 'rule:admin_only',
  get_quota: 'rule:admin_or_owner',
  update_quota: 'rule:admin_only',
  delete_quota: 'rule:admin_only',
};

const MAX_INT = 2 ** 31 - 1;

/** Neutron's quota converter: an integer (or integer text) from -1 up; 'force' is accepted and ignored. */
function limitsFrom(b: Record<string, unknown>): Record<string, number> {
  const unknown = Object.keys(b).filter((k) => !(k in DEFAULT_QUOTAS) && k !== 'force');
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) {
    if (k === 'force') continue;
    const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${String(v)}' is not an integer.`);
    if (n < -1) throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${n}' is too small - must be at least '-1'.`);
    if (n > MAX_INT) throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${n}' is too large - must be no larger than '${MAX_INT}'.`);
    out[k] = n;
  }
  return out;
}

export function quotasRoutes(c: NetworkContext): Route[] {
  const project = (ctx: RequestCtx) => ({ project_id: ctx.params.id });
  const details = async (ctx: RequestCtx) => {
    const limits = await limitsOf(c.db, ctx.params.id);
    const quota: Record<string, unknown> = {};
    for (const [k, limit] of Object.entries(limits)) quota[k] = { limit, used: await usageOf(c.db, ctx.params.id, k), reserved: 0 };
    return { quota };
  };
  const show = async (ctx: RequestCtx) => ({ quota: await limitsOf(c.db, ctx.params.id) });
  const tenant = (ctx: RequestCtx) => ({ tenant: { tenant_id: callerOf(ctx).projectId } });
  return [
    {
      method: 'GET', url: '/v2.0/quotas', policy: 'get_quotas',
      handler: async () => {
        const out = [];
        for (const p of await projectsWithQuotas(c.db)) out.push({ ...(await limitsOf(c.db, p)), project_id: p, tenant_id: p });
        return { quotas: out };
      },
    },
    { method: 'GET', url: '/v2.0/quotas/tenant', policy: 'authenticated', handler: tenant },
    { method: 'GET', url: '/v2.0/quotas/project', policy: 'authenticated', handler: (ctx) => ({ project: { project_id: callerOf(ctx).projectId } }) },
    { method: 'GET', url: '/v2.0/quotas/:id', policy: 'get_quota', target: project, handler: show },
    { method: 'GET', url: '/v2.0/quotas/:id/default', policy: 'get_quota', target: project, handler: () => ({ quota: { ...DEFAULT_QUOTAS } }) },
    { method: 'GET', url: '/v2.0/quotas/:id/details', policy: 'get_quota', target: project, handler: details },
    // Tempest asks for details.json (Neutron's old format suffix)
    { method: 'GET', url: '/v2.0/quotas/:id/details.json', policy: 'get_quota', target: project, handler: details },
    {
      method: 'PUT', url: '/v2.0/quotas/:id', policy: 'update_quota', target: project,
      handler: async (ctx) => {
        await setQuotas(c.db, ctx.params.id, limitsFrom(bodyOf(ctx, 'quota')));
        return show(ctx);
      },
    },
    {
      method: 'DELETE', url: '/v2.0/quotas/:id', policy: 'delete_quota', target: project,
      handler: async (ctx) => { await resetQuotas(c.db, ctx.params.id); },
    },
  ];
}
