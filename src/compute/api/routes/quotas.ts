/**
 * Quotas (Nova's os-quota-sets, os-quota-class-sets) and limits. Keys by microversion: 2.36 drops
 * the nova-network ones (fixed_ips, floating_ips, security_groups, security_group_rules), 2.57 the
 * personality ones (injected_file*); quota classes show server_groups* only from 2.50 and drop
 * the network ones there.
 */
import { badRequest } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';
import { classLimits, deleteQuotas, effectiveLimits, quotaUsage, setClassQuotas, setQuotas } from '../../service/quotas.js';
import { at, member, q1 } from '../common.js';

const P = 'os_compute_api:';
export const quotasPolicy: Record<string, string> = {
  [`${P}os-quota-sets:show`]: 'rule:project_reader_or_admin',
  [`${P}os-quota-sets:detail`]: 'rule:project_reader_or_admin',
  [`${P}os-quota-sets:update`]: 'rule:admin_api',
  [`${P}os-quota-sets:delete`]: 'rule:admin_api',
  [`${P}os-quota-class-sets:show`]: 'rule:admin_api',
  [`${P}os-quota-class-sets:update`]: 'rule:admin_api',
  [`${P}limits:other_project`]: 'rule:admin_api',
};

const BASE = ['instances', 'cores', 'ram', 'metadata_items', 'key_pairs', 'server_groups', 'server_group_members'];
const NETWORK = ['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'];
const PERSONALITY = ['injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes'];
const MAX_INT = 2147483647;

/** The quota keys a microversion shows and accepts for os-quota-sets. */
export function quotaSetKeys(ctx: RequestCtx): string[] {
  return [...BASE, ...(at(ctx, '2.36') ? [] : NETWORK), ...(at(ctx, '2.57') ? [] : PERSONALITY)];
}
/** ... and for os-quota-class-sets. */
export function quotaClassKeys(ctx: RequestCtx): string[] {
  if (!at(ctx, '2.50')) return [...BASE.filter((k) => !k.startsWith('server_group')), ...NETWORK, ...PERSONALITY];
  return [...BASE, ...(at(ctx, '2.57') ? [] : PERSONALITY)];
}

const pick = (keys: string[], values: Record<string, number>) => Object.fromEntries(keys.map((k) => [k, values[k] ?? -1]));

/** A quota value: an integer or a string of one, -1 (unlimited) or more. */
function limitValue(field: string, v: unknown): number {
  let n: number;
  if (typeof v === 'number' && Number.isInteger(v)) n = v;
  else if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) n = Number(v);
  else throw badRequest(`Invalid input for field/attribute ${field}. Value: ${typeof v === 'string' ? v : JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'integer', 'string'`);
  if (n < -1) throw badRequest(`Invalid input for field/attribute ${field}. Value: ${n}. ${n} is less than the minimum of -1`);
  if (n > MAX_INT) throw badRequest(`Invalid input for field/attribute ${field}. Value: ${n}. ${n} is greater than the maximum of ${MAX_INT}`);
  return n;
}

const STRICT_TRUE = new Set(['true', '1', 'on', 'yes', 'y', 't']);
const STRICT_FALSE = new Set(['false', '0', 'off', 'no', 'n', 'f']);
function forceValue(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && STRICT_TRUE.has(v.toLowerCase())) return true;
  if (typeof v === 'string' && STRICT_FALSE.has(v.toLowerCase())) return false;
  throw badRequest(`Invalid input for field/attribute force. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'boolean'`);
}

/** Reads {"<wrapper>": {key: value, ...}} for the allowed keys; unknown keys are a 400. */
function limitsBody(body: unknown, wrapper: string, keys: string[], extra: string[] = []): { values: Record<string, number>; rest: Record<string, unknown> } {
  const m = member(body, wrapper);
  const values: Record<string, number> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) {
    if (extra.includes(k)) rest[k] = v;
    else if (keys.includes(k)) values[k] = limitValue(k, v);
    else throw badRequest(`Invalid input for field/attribute ${wrapper}. Value: ${JSON.stringify(m)}. Additional properties are not allowed ('${k}' was unexpected)`);
  }
  return { values, rest };
}

const inf = (v: number) => (v === -1 ? Infinity : v);

export function quotasRoutes(c: ComputeContext): Route[] {
  const userOf = (ctx: RequestCtx) => q1(ctx, 'user_id') || undefined;
  const target = (ctx: RequestCtx) => ({ project_id: ctx.params.id, user_id: userOf(ctx) ?? ctx.auth.userId });
  const validProject = async (id: string) => {
    if (!(await c.identity.getProject(id))) throw badRequest(`Project ID ${id} is not a valid project.`);
  };

  return [
    {
      method: 'GET', url: '/v2.1/os-quota-sets/:id', policy: `${P}os-quota-sets:show`, target,
      handler: async (ctx) => {
        await validProject(ctx.params.id);
        const limits = await effectiveLimits(c.db, ctx.params.id, userOf(ctx));
        return { quota_set: { id: ctx.params.id, ...pick(quotaSetKeys(ctx), limits) } };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-quota-sets/:id/detail', policy: `${P}os-quota-sets:detail`, target,
      handler: async (ctx) => {
        await validProject(ctx.params.id);
        const user = userOf(ctx);
        const limits = await effectiveLimits(c.db, ctx.params.id, user);
        const used = await quotaUsage(c.db, ctx.params.id, user);
        const set: Record<string, unknown> = { id: ctx.params.id };
        for (const k of quotaSetKeys(ctx)) set[k] = { limit: limits[k] ?? -1, in_use: used[k] ?? 0, reserved: 0 };
        return { quota_set: set };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-quota-sets/:id/defaults', policy: 'authenticated',
      handler: async (ctx) => {
        await validProject(ctx.params.id);
        return { quota_set: { id: ctx.params.id, ...pick(quotaSetKeys(ctx), await classLimits(c.db, 'default')) } };
      },
    },
    {
      method: 'PUT', url: '/v2.1/os-quota-sets/:id', policy: `${P}os-quota-sets:update`, target,
      handler: async (ctx) => {
        const keys = quotaSetKeys(ctx);
        const { values, rest } = limitsBody(ctx.body, 'quota_set', keys, ['force']);
        const force = rest.force === undefined ? false : forceValue(rest.force);
        const project = ctx.params.id;
        const user = userOf(ctx);
        await validProject(project);
        if (!force && Object.keys(values).length > 0) {
          const used = await quotaUsage(c.db, project, user);
          const projectLimits = user ? await effectiveLimits(c.db, project) : undefined;
          for (const [k, v] of Object.entries(values)) {
            const minimum = used[k] ?? 0;
            if (inf(v) < inf(minimum)) throw badRequest(`Quota limit ${v} for ${k} must be greater than or equal to already used and reserved ${minimum}.`);
            const maximum = projectLimits ? projectLimits[k] ?? -1 : -1;
            if (inf(v) > inf(maximum)) throw badRequest(`Quota limit ${v} for ${k} must be less than or equal to ${maximum}.`);
          }
        }
        await setQuotas(c.db, project, user ?? '', values);
        return { quota_set: pick(keys, await effectiveLimits(c.db, project, user)) };
      },
    },
    {
      method: 'DELETE', url: '/v2.1/os-quota-sets/:id', policy: `${P}os-quota-sets:delete`, target, status: 202,
      handler: async (ctx) => {
        await deleteQuotas(c.db, ctx.params.id, userOf(ctx));
      },
    },
    {
      method: 'GET', url: '/v2.1/os-quota-class-sets/:id', policy: `${P}os-quota-class-sets:show`, target: () => ({}),
      handler: async (ctx) => ({ quota_class_set: { id: ctx.params.id, ...pick(quotaClassKeys(ctx), await classLimits(c.db, ctx.params.id)) } }),
    },
    {
      method: 'PUT', url: '/v2.1/os-quota-class-sets/:id', policy: `${P}os-quota-class-sets:update`, target: () => ({}),
      handler: async (ctx) => {
        if (ctx.params.id.length > 255) throw badRequest('quota_class name must be at most 255 characters long');
        const keys = quotaClassKeys(ctx);
        const { values } = limitsBody(ctx.body, 'quota_class_set', keys);
        await setClassQuotas(c.db, ctx.params.id, values);
        return { quota_class_set: pick(keys, await classLimits(c.db, ctx.params.id)) };
      },
    },
    {
      method: 'GET', url: '/v2.1/limits', policy: 'authenticated',
      handler: async (ctx) => {
        let project = ctx.auth.projectId ?? '';
        const other = q1(ctx, 'tenant_id');
        if (other !== undefined) {
          ctx.enforce(`${P}limits:other_project`, { project_id: other });
          project = other;
        }
        const l = await effectiveLimits(c.db, project);
        const used = await quotaUsage(c.db, project);
        const absolute: Record<string, number> = {
          maxTotalInstances: l.instances, maxTotalCores: l.cores, maxTotalRAMSize: l.ram, maxServerMeta: l.metadata_items,
          maxTotalKeypairs: l.key_pairs, maxServerGroups: l.server_groups, maxServerGroupMembers: l.server_group_members,
          totalInstancesUsed: used.instances, totalCoresUsed: used.cores, totalRAMUsed: used.ram, totalServerGroupsUsed: used.server_groups,
        };
        if (!at(ctx, '2.36')) {
          Object.assign(absolute, {
            maxTotalFloatingIps: l.floating_ips, maxSecurityGroups: l.security_groups, maxSecurityGroupRules: l.security_group_rules,
            totalFloatingIpsUsed: 0, totalSecurityGroupsUsed: 0,
          });
        }
        if (!at(ctx, '2.39')) absolute.maxImageMeta = l.metadata_items;
        if (!at(ctx, '2.57')) Object.assign(absolute, { maxPersonality: l.injected_files, maxPersonalitySize: l.injected_file_content_bytes });
        return { limits: { absolute, rate: [] } };
      },
    },
  ];
}

