/**
 * Security groups as compute serves them before the network service exists (Nova's
 * nova-network-era os-security-groups / os-security-group-rules): groups with integer ids, per
 * project, each with ingress rules (a CIDR or a source group, a protocol and a port range).
 * A project's 'default' group exists implicitly: it is created on first use and cannot be
 * changed or removed. Servers name their groups (instance.security_groups), so a group is in
 * use while a live server of its project names it.
 *
 * The API layer talks to the SecurityGroupStore interface only; when the network service
 * exists, its client implements the same interface (Nova's proxy to Neutron).
 */
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DbKind } from '../../core/db/database.js';
import { HttpError, badRequest, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { ComputeDB, SecurityGroupRow, SecurityGroupRuleRow } from '../db/schema.js';
import { fromJson, lockKey, toJson } from '../service/context.js';
import { effectiveLimits } from '../service/quotas.js';

/** One rule as Nova shows it: `group` for a source-group rule, `ip_range` for a CIDR rule (the other one empty). */
export interface SecurityGroupRule {
  /** integers in compute's own store; UUIDs from the network service (Nova with Neutron) */
  id: number | string;
  parent_group_id: number | string;
  ip_protocol: string | null;
  from_port: number | null;
  to_port: number | null;
  group: { name: string; tenant_id: string } | Record<string, never>;
  ip_range: { cidr: string } | Record<string, never>;
}

/** One group as Nova shows it. */
export interface SecurityGroup {
  id: number | string;
  name: string;
  description: string;
  tenant_id: string;
  rules: SecurityGroupRule[];
}

/** Who asks: their project, and whether they may see every project's groups. */
export interface SecurityGroupCaller { projectId: string; isAdmin: boolean }

/** What a rule create may carry (the body of os-security-group-rules, unvalidated). */
export interface RuleInput {
  parent_group_id?: unknown;
  ip_protocol?: unknown;
  from_port?: unknown;
  to_port?: unknown;
  cidr?: unknown;
  group_id?: unknown;
}

/** The security group operations compute needs; the network service's client will implement it too. Errors are HttpErrors (400/404). */
export interface SecurityGroupStore {
  /** The caller's project's groups (every project's when `allTenants` and admin), in id order. */
  list(caller: SecurityGroupCaller, opts?: { allTenants?: boolean }): Promise<SecurityGroup[]>;
  get(caller: SecurityGroupCaller, id: unknown): Promise<SecurityGroup>;
  create(caller: SecurityGroupCaller, input: { name?: unknown; description?: unknown }): Promise<SecurityGroup>;
  update(caller: SecurityGroupCaller, id: unknown, input: { name?: unknown; description?: unknown }): Promise<SecurityGroup>;
  delete(caller: SecurityGroupCaller, id: unknown): Promise<void>;
  createRule(caller: SecurityGroupCaller, input: RuleInput): Promise<SecurityGroupRule>;
  deleteRule(caller: SecurityGroupCaller, id: unknown): Promise<void>;
  /** The groups a server of `projectId` names (by name or id), with their rules, sorted as Nova sorts them. */
  ofServer(projectId: string, refs: string[]): Promise<SecurityGroup[]>;
  /** Whether `projectId` has a group of this name (or integer id); 'default' always exists. */
  exists(projectId: string, nameOrId: string): Promise<boolean>;
}

const MAX_INT = 2147483647;
const ALLOC_LOCK = 'compute:security_group';

/** Nova-network's validate_id: an integer (as int() reads it) or 400; an integer no row can have yields null. */
export function parseGroupId(id: unknown): number | null {
  let n: number;
  if (typeof id === 'number' && Number.isInteger(id)) n = id;
  else if (typeof id === 'string' && /^\s*[+-]?\d+\s*$/.test(id)) n = Number(id.trim());
  else throw badRequest('Security group id should be integer');
  return n >= 1 && n <= MAX_INT ? n : null;
}

/** Nova's validate_property + check_string_length: a string, 1..255 characters once stripped. */
function checkProperty(value: unknown, property: 'name' | 'description', allowEmpty: boolean): string {
  if (typeof value !== 'string') throw badRequest(`Security group ${property} is not a string or unicode`);
  if (!allowEmpty && value.trim().length < 1) throw badRequest(`${property} has a minimum character requirement of 1.`);
  if (value.length > 255) throw badRequest(`${property} has more than 255 characters.`);
  return value;
}

/** An integer as Python's int() takes it from JSON (a number without fraction, or a decimal string). */
function toInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v.trim());
  return undefined;
}

function validCidr(cidr: string): boolean {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) return false;
  const v = isIP(m[1]);
  const p = Number(m[2]);
  return (v === 4 && p <= 32) || (v === 6 && p <= 128);
}

interface NewRule { ip_protocol: string | null; from_port: number | null; to_port: number | null; cidr: string | null; source_group_id: number | null }

/** Nova-network's _rule_args_to_dict / _new_ingress_rule, with its checks and messages. */
export function buildRule(input: RuleInput, sourceGroupId: number | null): NewRule {
  let cidr: string | null = null;
  if (sourceGroupId === null) {
    if (input.cidr === undefined || input.cidr === null || input.cidr === '') cidr = '0.0.0.0/0';
    else {
      if (typeof input.cidr !== 'string') throw badRequest(`${JSON.stringify(input.cidr)} is not a valid IP network.`);
      let c = input.cidr;
      try { c = decodeURIComponent(c); } catch { /* keep as given */ }
      if (!validCidr(c)) throw badRequest(`${c} is not a valid IP network.`);
      cidr = c;
    }
  }
  const proto = input.ip_protocol === undefined || input.ip_protocol === null || input.ip_protocol === '' ? null : String(input.ip_protocol);
  let from: unknown = input.from_port ?? null;
  let to: unknown = input.to_port ?? null;
  if (sourceGroupId !== null && proto && from === null && to === null) {
    if (proto.toUpperCase() === 'ICMP') { from = -1; to = -1; }
    else if (['TCP', 'UDP'].includes(proto.toUpperCase())) { from = 1; to = 65535; }
  }
  if (!proto || from === null || to === null) {
    // A CIDR rule needs a protocol and ports; a source-group rule may allow everything from the group.
    if (sourceGroupId === null || proto || from !== null || to !== null) throw badRequest('Not enough parameters to build a valid rule.');
    return { ip_protocol: null, from_port: null, to_port: null, cidr, source_group_id: sourceGroupId };
  }
  const P = proto.toUpperCase();
  const f = toInt(from);
  const t = toInt(to);
  if (f === undefined || t === undefined) {
    throw badRequest(P === 'ICMP' ? 'Invalid input received: Type and Code must be integers for ICMP protocol type' : 'Invalid input received: To and From ports must be integers');
  }
  if (!['TCP', 'UDP', 'ICMP'].includes(P)) throw badRequest(`Invalid IP protocol ${proto}.`);
  if (P !== 'ICMP' && f > t) throw badRequest(`Invalid port range ${f}:${t}. Former value cannot be greater than the later`);
  if (P !== 'ICMP' && (f < 1 || t > 65535)) throw badRequest(`Invalid port range ${f}:${t}. Valid ${P} ports should be between 1-65535`);
  if (P === 'ICMP' && (f < -1 || f > 255 || t < -1 || t > 255)) throw badRequest(`Invalid port range ${f}:${t}. For ICMP, the type:code must be valid`);
  if (cidr !== null) {
    const [net, prefix] = cidr.split('/');
    if (prefix === '0' && net !== '0.0.0.0' && net !== '::') throw badRequest(`Bad prefix for network in cidr ${cidr}`);
  }
  return { ip_protocol: proto.toLowerCase(), from_port: f, to_port: t, cidr, source_group_id: sourceGroupId };
}

/** Nova's list order: by (tenant_id, name). */
export const sortSecurityGroups = (gs: SecurityGroup[]): SecurityGroup[] =>
  gs.sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** The store over the compute database (nova-network's tables). */
export function dbSecurityGroups(db: Kysely<ComputeDB>, kind: DbKind): SecurityGroupStore {
  const notFoundId = (id: unknown) => notFound(`Security group ${String(id)} not found.`);

  /** Creates the project's 'default' group when it does not exist yet. */
  async function ensureDefault(projectId: string): Promise<void> {
    const have = await db.selectFrom('security_group').select('id').where('project_id', '=', projectId).where('name', '=', 'default').executeTakeFirst();
    if (have) return;
    await db.transaction().execute(async (trx) => {
      await lockKey(trx, kind, ALLOC_LOCK);
      const again = await trx.selectFrom('security_group').select('id').where('project_id', '=', projectId).where('name', '=', 'default').executeTakeFirst();
      if (again) return;
      await insertGroup(trx, projectId, 'default', 'default');
    });
  }

  async function insertGroup(trx: Kysely<ComputeDB>, projectId: string, name: string, description: string): Promise<SecurityGroupRow> {
    const max = await trx.selectFrom('security_group').select((e) => e.fn.max('id').as('m')).executeTakeFirst();
    const row: SecurityGroupRow = { id: Number(max?.m ?? 0) + 1, uuid: randomUUID(), project_id: projectId, name, description, created_at: nowIso() };
    await trx.insertInto('security_group').values(row).execute();
    return row;
  }

  /** The group row the caller may see (their project's, or any for an admin), else 404. */
  async function groupRow(caller: SecurityGroupCaller, rawId: unknown): Promise<SecurityGroupRow> {
    const id = parseGroupId(rawId);
    if (id === null) throw notFoundId(rawId);
    let q = db.selectFrom('security_group').selectAll().where('id', '=', id);
    if (!caller.isAdmin) q = q.where('project_id', '=', caller.projectId);
    const row = await q.executeTakeFirst();
    if (!row) throw notFoundId(rawId);
    return row;
  }

  async function views(groups: SecurityGroupRow[]): Promise<SecurityGroup[]> {
    if (groups.length === 0) return [];
    const rules = await db.selectFrom('security_group_rule').selectAll().where('group_id', 'in', groups.map((g) => g.id)).orderBy('id').execute();
    const sourceIds = [...new Set(rules.map((r) => r.source_group_id).filter((x): x is number => x !== null))];
    const sources = new Map<number, SecurityGroupRow>(groups.map((g) => [g.id, g]));
    const missing = sourceIds.filter((id) => !sources.has(id));
    if (missing.length) for (const s of await db.selectFrom('security_group').selectAll().where('id', 'in', missing).execute()) sources.set(s.id, s);
    return groups.map((g) => ({
      id: g.id, name: g.name, description: g.description, tenant_id: g.project_id,
      rules: rules.filter((r) => r.group_id === g.id).flatMap((r) => {
        const v = ruleView(r, sources);
        return v ? [v] : [];
      }),
    }));
  }

  function ruleView(r: SecurityGroupRuleRow, sources: Map<number, SecurityGroupRow>): SecurityGroupRule | undefined {
    const base = { id: r.id, parent_group_id: r.group_id, ip_protocol: r.ip_protocol, from_port: r.from_port, to_port: r.to_port };
    if (r.source_group_id !== null) {
      const s = sources.get(r.source_group_id);
      if (!s) return undefined; // the source group went away meanwhile: Nova leaves the rule out
      return { ...base, group: { name: s.name, tenant_id: s.project_id }, ip_range: {} };
    }
    return { ...base, group: {}, ip_range: { cidr: r.cidr ?? '0.0.0.0/0' } };
  }

  /** Live servers of the group's project that name it (by name or id). */
  async function inUse(trx: Kysely<ComputeDB>, g: SecurityGroupRow): Promise<boolean> {
    const rows = await trx.selectFrom('instance').select('security_groups').where('project_id', '=', g.project_id).where('deleted', '=', 0).execute();
    return rows.some((r) => {
      const names = fromJson<unknown[]>(r.security_groups, []);
      return Array.isArray(names) && (names.includes(g.name) || names.includes(String(g.id)));
    });
  }

  return {
    async list(caller, opts = {}) {
      await ensureDefault(caller.projectId);
      let q = db.selectFrom('security_group').selectAll().orderBy('id');
      if (!(opts.allTenants && caller.isAdmin)) q = q.where('project_id', '=', caller.projectId);
      return views(await q.execute());
    },

    async get(caller, id) {
      return (await views([await groupRow(caller, id)]))[0];
    },

    async create(caller, input) {
      const name = checkProperty(input.name, 'name', false);
      const description = input.description === undefined || input.description === null ? '' : checkProperty(input.description, 'description', true);
      await ensureDefault(caller.projectId);
      const row = await db.transaction().execute(async (trx) => {
        await lockKey(trx, kind, ALLOC_LOCK);
        const dup = await trx.selectFrom('security_group').select('id').where('project_id', '=', caller.projectId).where('name', '=', name).executeTakeFirst();
        if (dup) throw badRequest(`Security group ${name} already exists`);
        // Nova-network's security_groups quota: the project's groups, 'default' included.
        const limit = (await effectiveLimits(trx, caller.projectId)).security_groups;
        if (limit >= 0) {
          const used = await trx.selectFrom('security_group').select((e) => e.fn.countAll<number>().as('n')).where('project_id', '=', caller.projectId).executeTakeFirstOrThrow();
          if (Number(used.n) + 1 > limit) throw new HttpError(403, 'Quota exceeded, too many security groups.');
        }
        return insertGroup(trx, caller.projectId, name, description);
      });
      return (await views([row]))[0];
    },

    async update(caller, id, input) {
      const g = await groupRow(caller, id);
      if (input.name === undefined && input.description === undefined) checkProperty(undefined, 'name', false);
      const name = input.name === undefined ? undefined : checkProperty(input.name, 'name', false);
      const description = input.description === undefined ? undefined : input.description === null ? '' : checkProperty(input.description, 'description', true);
      if (g.name === 'default') throw badRequest("Unable to update system group 'default'");
      await db.transaction().execute(async (trx) => {
        await lockKey(trx, kind, ALLOC_LOCK);
        const set: Partial<SecurityGroupRow> = {};
        if (name !== undefined && name !== g.name) {
          const dup = await trx.selectFrom('security_group').select('id').where('project_id', '=', g.project_id).where('name', '=', name).executeTakeFirst();
          if (dup) throw badRequest(`Security group ${name} already exists`);
          set.name = name;
          // Servers name their groups: carry the new name to the project's live servers.
          const rows = await trx.selectFrom('instance').select(['uuid', 'security_groups']).where('project_id', '=', g.project_id).where('deleted', '=', 0).execute();
          for (const r of rows) {
            const names = fromJson<string[]>(r.security_groups, []);
            if (Array.isArray(names) && names.includes(g.name)) {
              await trx.updateTable('instance').set({ security_groups: toJson(names.map((n) => (n === g.name ? name : n))) }).where('uuid', '=', r.uuid).execute();
            }
          }
        }
        if (description !== undefined) set.description = description;
        if (Object.keys(set).length) await trx.updateTable('security_group').set(set).where('id', '=', g.id).execute();
      });
      return (await views([await groupRow(caller, g.id)]))[0];
    },

    async delete(caller, id) {
      const g = await groupRow(caller, id);
      if (g.name === 'default') throw badRequest('Removing default security group not allowed');
      await db.transaction().execute(async (trx) => {
        await lockKey(trx, kind, ALLOC_LOCK);
        if (await inUse(trx, g)) throw badRequest('Security group is still in use');
        // Rules of the group, and rules of other groups that name it as their source, go with it.
        await trx.deleteFrom('security_group_rule').where((e) => e.or([e('group_id', '=', g.id), e('source_group_id', '=', g.id)])).execute();
        await trx.deleteFrom('security_group').where('id', '=', g.id).execute();
      });
    },

    async createRule(caller, input) {
      const parent = await groupRow(caller, input.parent_group_id);
      const source = input.group_id === undefined || input.group_id === null ? null : await groupRow(caller, input.group_id);
      const rule = buildRule(input, source ? source.id : null);
      const row = await db.transaction().execute(async (trx) => {
        await lockKey(trx, kind, ALLOC_LOCK);
        if (!(await trx.selectFrom('security_group').select('id').where('id', '=', parent.id).executeTakeFirst())) throw notFoundId(parent.id);
        const existing = await trx.selectFrom('security_group_rule').selectAll().where('group_id', '=', parent.id).execute();
        if (existing.some((r) => r.ip_protocol === rule.ip_protocol && r.from_port === rule.from_port && r.to_port === rule.to_port && r.cidr === rule.cidr && r.source_group_id === rule.source_group_id)) {
          throw badRequest(`This rule already exists in group ${parent.id}`);
        }
        // Nova-network's security_group_rules quota counts the rules of one group.
        const limit = (await effectiveLimits(trx, parent.project_id)).security_group_rules;
        if (limit >= 0 && existing.length + 1 > limit) throw new HttpError(403, 'Quota exceeded, too many security group rules.');
        const max = await trx.selectFrom('security_group_rule').select((e) => e.fn.max('id').as('m')).executeTakeFirst();
        const r: SecurityGroupRuleRow = { id: Number(max?.m ?? 0) + 1, group_id: parent.id, ...rule, created_at: nowIso() };
        await trx.insertInto('security_group_rule').values(r).execute();
        return r;
      });
      const sources = new Map<number, SecurityGroupRow>([[parent.id, parent], ...(source ? [[source.id, source] as const] : [])]);
      return ruleView(row, sources)!;
    },

    async deleteRule(caller, rawId) {
      const id = parseGroupId(rawId);
      const gone = notFound(`Security group with rule ${String(rawId)} not found.`);
      if (id === null) throw gone;
      const r = await db.selectFrom('security_group_rule').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) throw gone;
      let q = db.selectFrom('security_group').select('id').where('id', '=', r.group_id);
      if (!caller.isAdmin) q = q.where('project_id', '=', caller.projectId);
      if (!(await q.executeTakeFirst())) throw gone;
      await db.deleteFrom('security_group_rule').where('id', '=', id).execute();
    },

    async ofServer(projectId, refs) {
      if (refs.length === 0) return [];
      if (refs.includes('default')) await ensureDefault(projectId);
      const ids = refs.map((r) => (/^\d+$/.test(r) ? Number(r) : NaN)).filter((n) => n >= 1 && n <= MAX_INT);
      const rows = await db.selectFrom('security_group').selectAll().where('project_id', '=', projectId)
        .where((e) => (ids.length ? e.or([e('name', 'in', refs), e('id', 'in', ids)]) : e('name', 'in', refs))).orderBy('id').execute();
      return sortSecurityGroups(await views(rows));
    },

    async exists(projectId, nameOrId) {
      if (nameOrId === 'default') {
        await ensureDefault(projectId);
        return true;
      }
      const byName = await db.selectFrom('security_group').select('id').where('project_id', '=', projectId).where('name', '=', nameOrId).executeTakeFirst();
      if (byName) return true;
      if (!/^\d+$/.test(nameOrId)) return false;
      const id = Number(nameOrId);
      if (id < 1 || id > MAX_INT) return false;
      return !!(await db.selectFrom('security_group').select('id').where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst());
    },
  };
}
