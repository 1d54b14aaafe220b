/**
 * Nova's security group proxy APIs (os-security-groups, os-security-group-rules; deprecated:
 * 404 from 2.36) and a server's groups (GET /servers/{id}/os-security-groups, every version).
 * Served from compute's own store until the network service exists, then by the network service.
 */
import { badRequest, notFound } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { formatVersion } from '../../../core/http/microversion.js';
import { dbSecurityGroups, sortSecurityGroups, type SecurityGroupStore } from '../../network/security-groups.js';
import type { ComputeContext } from '../../service/context.js';
import { fromJson } from '../../service/context.js';
import { at, callerOf, isObj, mv, q1 } from '../common.js';
import { serverOf, serverTarget } from './servers.js';

const P = 'os_compute_api:os-security-groups:';
export const securityGroupsPolicy: Record<string, string> = {
  [`${P}get`]: 'rule:project_reader_or_admin',
  [`${P}show`]: 'rule:project_reader_or_admin',
  [`${P}create`]: 'rule:project_member_or_admin',
  [`${P}update`]: 'rule:project_member_or_admin',
  [`${P}delete`]: 'rule:project_member_or_admin',
  [`${P}rule:create`]: 'rule:project_member_or_admin',
  [`${P}rule:delete`]: 'rule:project_member_or_admin',
  [`${P}list`]: 'rule:project_reader_or_admin',
};

/** Nova's _from_body: a non-empty body with the member `key`. */
function fromBody(body: unknown, key: string): Record<string, unknown> {
  if (!isObj(body) || Object.keys(body).length === 0) throw badRequest("The request body can't be empty");
  const v = body[key];
  if (v === undefined || v === null) throw badRequest(`Missing parameter ${key}`);
  if (!isObj(v)) throw badRequest(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'object'`);
  return v;
}

/** Nova's common.limited: offset and limit (at most 1000) query parameters. */
function limited<T>(ctx: RequestCtx, items: T[]): T[] {
  const read = (k: 'limit' | 'offset', dflt: number) => {
    const raw = q1(ctx, k);
    if (raw === undefined) return dflt;
    if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw badRequest(`${k} param must be an integer`);
    const n = Number(raw);
    if (n < 0) throw badRequest(`${k} param must be positive`);
    return n;
  };
  const offset = read('offset', 0);
  const limit = Math.min(1000, read('limit', 1000));
  return items.slice(offset, offset + limit);
}

export function securityGroupsRoutes(c: ComputeContext): Route[] {
  // with the network service, Nova's proxy to Neutron; else compute's own (nova-network's) groups
  const store: SecurityGroupStore = c.network.securityGroups ?? dbSecurityGroups(c.db, c.kind);
  /** The proxy APIs end at 2.35; the target runs before the policy check, so 2.36+ is a 404 for everyone. */
  const proxyTarget = (ctx: RequestCtx) => {
    if (at(ctx, '2.36')) throw notFound(`API version ${formatVersion(mv(ctx))} is not supported on this method.`);
    return { project_id: ctx.auth.projectId ?? '' };
  };
  const route = (method: Route['method'], url: string, rule: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url, policy: `${P}${rule}`, target: proxyTarget, handler, ...(status ? { status } : {}) });
  /** An empty id (".../os-security-groups/") names no resource. */
  const idOf = (ctx: RequestCtx) => {
    if (!ctx.params.id) throw notFound('The resource could not be found.');
    return ctx.params.id;
  };
  return [
    route('GET', '/v2.1/os-security-groups', 'get', async (ctx) => {
      const groups = await store.list(callerOf(ctx), { allTenants: q1(ctx, 'all_tenants') !== undefined });
      return { security_groups: sortSecurityGroups(limited(ctx, groups)) };
    }),
    route('POST', '/v2.1/os-security-groups', 'create', async (ctx) => {
      const g = fromBody(ctx.body, 'security_group');
      return { security_group: await store.create(callerOf(ctx), { name: g.name, description: g.description }) };
    }),
    route('GET', '/v2.1/os-security-groups/:id', 'show', async (ctx) => ({ security_group: await store.get(callerOf(ctx), idOf(ctx)) })),
    route('PUT', '/v2.1/os-security-groups/:id', 'update', async (ctx) => {
      const id = idOf(ctx);
      await store.get(callerOf(ctx), id); // 400/404 for the id before the body, as Nova
      const g = fromBody(ctx.body, 'security_group');
      return { security_group: await store.update(callerOf(ctx), id, { name: g.name, description: g.description }) };
    }),
    route('DELETE', '/v2.1/os-security-groups/:id', 'delete', async (ctx) => {
      await store.delete(callerOf(ctx), idOf(ctx));
    }, 202),
    route('POST', '/v2.1/os-security-group-rules', 'rule:create', async (ctx) => {
      const r = fromBody(ctx.body, 'security_group_rule');
      return { security_group_rule: await store.createRule(callerOf(ctx), r) };
    }),
    route('DELETE', '/v2.1/os-security-group-rules/:id', 'rule:delete', async (ctx) => {
      await store.deleteRule(callerOf(ctx), idOf(ctx));
    }, 202),
    {
      method: 'GET', url: '/v2.1/servers/:id/os-security-groups', policy: `${P}list`, target: serverTarget(c),
      handler: async (ctx) => {
        const row = serverOf(ctx);
        const refs = fromJson<unknown[]>(row.security_groups, []);
        const names = Array.isArray(refs) ? refs.filter((x): x is string => typeof x === 'string') : [];
        return { security_groups: await store.ofServer(row.project_id, names) };
      },
    },
  ];
}
