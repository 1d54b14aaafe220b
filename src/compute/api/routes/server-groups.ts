/**
 * os-server-groups: `policies` (a one-item list) and empty `metadata` before 2.64, `policy` and
 * `rules` since; project_id/user_id since 2.13; soft policies since 2.15; limit/offset paging;
 * all_projects for admins; unknown query parameters refused since 2.75.
 */
import { badRequest } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';
import { createServerGroup, deleteServerGroup, getServerGroup, listServerGroups, type ServerGroup } from '../../service/server-groups.js';
import { at, callerOf, isObj, q1 } from '../common.js';

const P = 'os_compute_api:os-server-groups:';
export const serverGroupsPolicy: Record<string, string> = {
  [`${P}create`]: 'rule:project_member_api',
  [`${P}delete`]: 'rule:project_member_or_admin',
  [`${P}index`]: 'rule:project_reader_or_admin',
  [`${P}index:all_projects`]: 'rule:admin_api',
  [`${P}show`]: 'rule:project_reader_or_admin',
};

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const invalid = (field: string, value: unknown, why: string) => badRequest(`Invalid input for field/attribute ${field}. Value: ${show(value)}. ${why}`);
const MAX_INT = 2147483647;

function view(ctx: RequestCtx, g: ServerGroup) {
  const out: Record<string, unknown> = { id: g.uuid, name: g.name };
  if (at(ctx, '2.64')) {
    out.policy = g.policy;
    out.rules = g.rulesObj;
  } else {
    out.policies = [g.policy];
    out.metadata = {};
  }
  out.members = g.members;
  if (at(ctx, '2.13')) {
    out.project_id = g.project_id;
    out.user_id = g.user_id;
  }
  return out;
}

function policies(ctx: RequestCtx): string[] {
  return ['anti-affinity', 'affinity', ...(at(ctx, '2.15') ? ['soft-anti-affinity', 'soft-affinity'] : [])];
}

/** The create body, as Nova's schema for the request's microversion validates it. */
export function parseCreate(ctx: RequestCtx, body: unknown): { name: string; policy: string; rules: Record<string, unknown> } {
  if (!isObj(body) || !isObj(body.server_group)) throw badRequest(`Invalid input for field/attribute server_group. Value: ${show(body)}. 'server_group' is a required property`);
  const extraTop = Object.keys(body).filter((k) => k !== 'server_group');
  if (extraTop.length) throw badRequest(`Additional properties are not allowed ('${extraTop.join("', '")}' was unexpected)`);
  const g = body.server_group;
  const v264 = at(ctx, '2.64');
  const allowed = v264 ? ['name', 'policy', 'rules'] : ['name', 'policies'];
  const extra = Object.keys(g).filter((k) => !allowed.includes(k));
  if (extra.length) throw invalid('server_group', g, `Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
  for (const k of v264 ? ['name', 'policy'] : ['name', 'policies']) {
    if (g[k] === undefined) throw invalid('server_group', g, `'${k}' is a required property`);
  }
  const name = g.name;
  if (typeof name !== 'string') throw invalid('name', name, `${show(name)} is not of type 'string'`);
  if (name.length < 1) throw invalid('name', name, `'${name}' is too short`);
  if (name.length > 255) throw invalid('name', name, `'${name}' is too long`);
  if (name.trim() !== name) throw invalid('name', name, `'${name}' does not match the name format (no leading or trailing whitespace)`);
  const known = policies(ctx);
  const enumMsg = (p: unknown) => `${show(p)} is not one of ['${known.join("', '")}']`;
  if (!v264) {
    const ps = g.policies;
    if (!Array.isArray(ps)) throw invalid('policies', ps, `${show(ps)} is not of type 'array'`);
    if (ps.length < 1) throw invalid('policies', ps, '[] is too short');
    if (ps.length > 1) throw invalid('policies', ps, `${show(ps)} ${new Set(ps).size < ps.length ? 'has non-unique elements' : 'is too long'}`);
    if (typeof ps[0] !== 'string' || !known.includes(ps[0])) throw invalid('policies', ps[0], enumMsg(ps[0]));
    return { name, policy: ps[0], rules: {} };
  }
  const policy = g.policy;
  if (typeof policy !== 'string' || !known.includes(policy)) throw invalid('policy', policy, enumMsg(policy));
  const rules: Record<string, unknown> = {};
  if (g.rules !== undefined) {
    if (!isObj(g.rules)) throw invalid('rules', g.rules, `${show(g.rules)} is not of type 'object'`);
    const extraRules = Object.keys(g.rules).filter((k) => k !== 'max_server_per_host');
    if (extraRules.length) throw invalid('rules', g.rules, `Additional properties are not allowed ('${extraRules.join("', '")}' was unexpected)`);
    const m = g.rules.max_server_per_host;
    if (m !== undefined) {
      let n: number;
      if (typeof m === 'number' && Number.isInteger(m)) n = m;
      else if (typeof m === 'string' && /^[0-9]+$/.test(m)) n = Number(m);
      else throw invalid('max_server_per_host', m, `${show(m)} is not of type 'integer', 'string'`);
      if (n < 1) throw invalid('max_server_per_host', m, `${n} is less than the minimum of 1`);
      if (n > MAX_INT) throw invalid('max_server_per_host', m, `${n} is greater than the maximum of ${MAX_INT}`);
      rules.max_server_per_host = n;
    }
  }
  if (policy !== 'anti-affinity' && Object.keys(rules).length) throw badRequest('Only anti-affinity policy supports rules.');
  return { name, policy, rules };
}

/** Nova's common.limited: ?limit= and ?offset=, non-negative integers, limit capped at 1000. */
function limited<T>(ctx: RequestCtx, items: T[]): T[] {
  const parse = (k: string) => {
    const v = q1(ctx, k);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw badRequest(`${k} param must be an integer`);
    const n = Number(v);
    if (n < 0) throw badRequest(`${k} param must be positive`);
    return n;
  };
  const limit = parse('limit');
  const offset = parse('offset') ?? 0;
  const max = Math.min(limit ?? 1000, 1000);
  return items.slice(offset, offset + max);
}

export function serverGroupsRoutes(c: ComputeContext): Route[] {
  return [
    {
      method: 'GET', url: '/v2.1/os-server-groups', policy: `${P}index`,
      target: (ctx) => ({ project_id: ctx.auth.projectId ?? '' }),
      handler: async (ctx) => {
        if (at(ctx, '2.75')) {
          const extra = Object.keys(ctx.query).filter((k) => !['all_projects', 'limit', 'offset'].includes(k));
          if (extra.length) throw badRequest(`Invalid input for query parameters ${extra[0]}. Value: ${show(ctx.query[extra[0]])}. Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
        }
        const caller = callerOf(ctx);
        let all = false;
        if (ctx.query.all_projects !== undefined) {
          ctx.enforce(`${P}index:all_projects`, { project_id: caller.projectId });
          all = true;
        }
        const groups = await listServerGroups(c, all ? undefined : caller.projectId);
        return { server_groups: limited(ctx, groups).map((g) => view(ctx, g)) };
      },
    },
    {
      method: 'POST', url: '/v2.1/os-server-groups', policy: `${P}create`,
      target: (ctx) => ({ project_id: ctx.auth.projectId ?? '', user_id: ctx.auth.userId }),
      handler: async (ctx) => {
        const input = parseCreate(ctx, ctx.body);
        const caller = callerOf(ctx);
        return { server_group: view(ctx, await createServerGroup(c, caller, input)) };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-server-groups/:id', policy: `${P}show`,
      target: async (ctx) => ({ project_id: (await getServerGroup(c, ctx.params.id)).project_id }),
      handler: async (ctx) => ({ server_group: view(ctx, await getServerGroup(c, ctx.params.id)) }),
    },
    {
      method: 'DELETE', url: '/v2.1/os-server-groups/:id', policy: `${P}delete`, status: 204,
      target: async (ctx) => ({ project_id: (await getServerGroup(c, ctx.params.id)).project_id }),
      handler: async (ctx) => {
        await deleteServerGroup(c, ctx.params.id);
      },
    },
  ];
}
