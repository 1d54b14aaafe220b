/**
 * Security groups (Neutron's securitygroups_db): one `default` group per project, made lazily
 * and race-safely; visibility (owner, admin, RBAC access_as_shared); create, update, delete
 * with Neutron's rules about the default group and groups in use by ports.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUniqueViolation, lockKey } from '../../core/db/database.js';
import type { NetworkDB, SecurityGroupRow, SecurityGroupRuleRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { neutronError, notFoundOf } from './errors.js';
import { checkQuota } from './quotas.js';

export { rulesForPorts, type PortFirewall, type FirewallRule } from './firewall-rules.js';

const DEFAULT_NAME = 'default';

/** The project's default group id, if it has one already. */
async function defaultOf(db: Kysely<NetworkDB>, projectId: string): Promise<string | undefined> {
  const r = await db.selectFrom('default_security_group').select('security_group_id').where('project_id', '=', projectId).executeTakeFirst();
  return r?.security_group_id;
}

/** Neutron's default rules: all egress, and ingress from members of the same group, for both IP versions. */
function defaultRules(groupId: string, projectId: string, now: string): SecurityGroupRuleRow[] {
  const rule = (direction: string, ethertype: string, remote: string | null): SecurityGroupRuleRow => ({
    id: randomUUID(), project_id: projectId, security_group_id: groupId, direction, ethertype, protocol: null,
    port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: remote, remote_address_group_id: null,
    description: '', revision_number: 0, created_at: now, updated_at: now,
  });
  return [rule('egress', 'IPv4', null), rule('egress', 'IPv6', null), rule('ingress', 'IPv4', groupId), rule('ingress', 'IPv6', groupId)];
}

async function createDefault(c: NetworkContext, trx: Kysely<NetworkDB>, projectId: string): Promise<string> {
  await lockKey(trx, c.kind, `default-sg:${projectId}`);
  const again = await defaultOf(trx, projectId);
  if (again) return again;
  const now = neutronNow();
  const id = randomUUID();
  await trx.insertInto('security_group').values({
    id, project_id: projectId, name: DEFAULT_NAME, description: 'Default security group', stateful: 1,
    revision_number: 1, created_at: now, updated_at: now,
  }).execute();
  // the primary key on project_id is what makes a second default impossible
  await trx.insertInto('default_security_group').values({ project_id: projectId, security_group_id: id }).execute();
  await trx.insertInto('security_group_rule').values(defaultRules(id, projectId, now)).execute();
  return id;
}

/**
 * The project's default security group id, created with Neutron's default rules when missing.
 * Callable with a transaction (the group then commits with the caller's work) or with the
 * plain database (it uses its own transaction).
 */
export async function ensureDefaultSecurityGroup(c: NetworkContext, db: Kysely<NetworkDB>, projectId: string): Promise<string> {
  const found = await defaultOf(db, projectId);
  if (found) return found;
  if (db.isTransaction) return createDefault(c, db, projectId);
  try {
    return await db.transaction().execute((trx) => createDefault(c, trx, projectId));
  } catch (e) {
    // another process made it between our read and our insert
    if (!isUniqueViolation(e)) throw e;
    const id = await defaultOf(db, projectId);
    if (!id) throw e;
    return id;
  }
}

/** Ids of security groups shared with a project (or everyone) through RBAC. */
async function rbacGroupIds(db: Kysely<NetworkDB>, projectId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('rbac_policy').select('object_id')
    .where('object_type', '=', 'security_group').where('target_tenant', 'in', [projectId, '*']).execute();
  return new Set(rows.map((r) => r.object_id));
}

/** Whether a group is shared with anyone through RBAC (the `shared` attribute). */
export async function sharedGroupIds(db: Kysely<NetworkDB>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('rbac_policy').select('object_id').where('object_type', '=', 'security_group')
      .where('action', '=', 'access_as_shared').where('object_id', 'in', ids.slice(i, i + 500)).execute();
    for (const r of rows) out.add(r.object_id);
  }
  return out;
}

export async function canSeeGroup(db: Kysely<NetworkDB>, caller: Caller, g: SecurityGroupRow): Promise<boolean> {
  if (caller.isAdmin || g.project_id === caller.projectId) return true;
  return (await rbacGroupIds(db, caller.projectId)).has(g.id);
}

/** The group a caller may see, or 404. */
export async function getSecurityGroup(c: NetworkContext, caller: Caller, id: string): Promise<SecurityGroupRow> {
  const g = await c.db.selectFrom('security_group').selectAll().where('id', '=', id).executeTakeFirst();
  if (!g || !(await canSeeGroup(c.db, caller, g))) throw notFoundOf('security_group', id);
  return g;
}

/**
 * Groups a caller sees. As Neutron does, listing makes sure the caller's project (or, for an
 * admin filtering by project, that project) has its default group.
 */
export async function listSecurityGroups(c: NetworkContext, caller: Caller, projectFilter: string[]): Promise<SecurityGroupRow[]> {
  if (caller.projectId) await ensureDefaultSecurityGroup(c, c.db, caller.projectId);
  if (caller.isAdmin) for (const p of projectFilter) if (p && p !== caller.projectId) await ensureDefaultSecurityGroup(c, c.db, p);
  const rows = await c.db.selectFrom('security_group').selectAll().execute();
  if (caller.isAdmin) return rows;
  const shared = await rbacGroupIds(c.db, caller.projectId);
  return rows.filter((g) => g.project_id === caller.projectId || shared.has(g.id));
}

export interface NewSecurityGroup { projectId: string; name: string; description: string; stateful: boolean }

export async function createSecurityGroup(c: NetworkContext, n: NewSecurityGroup): Promise<SecurityGroupRow> {
  await ensureDefaultSecurityGroup(c, c.db, n.projectId);
  if (n.name === DEFAULT_NAME) throw neutronError(409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  const now = neutronNow();
  const row: SecurityGroupRow = {
    id: randomUUID(), project_id: n.projectId, name: n.name, description: n.description, stateful: Number(n.stateful),
    revision_number: 1, created_at: now, updated_at: now,
  };
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `sg-create:${n.projectId}`);
    await checkQuota(trx, n.projectId, 'security_group');
    await trx.insertInto('security_group').values(row).execute();
    // Neutron gives a new group the two egress rules of the default group
    const egress = defaultRules(row.id, n.projectId, now).filter((r) => r.direction === 'egress');
    await trx.insertInto('security_group_rule').values(egress).execute();
  });
  c.notifyChanged('security-group-created');
  return row;
}

/** Whether a group is the default group of its project. */
export async function isDefaultGroup(db: Kysely<NetworkDB>, g: SecurityGroupRow): Promise<boolean> {
  return (await defaultOf(db, g.project_id)) === g.id;
}

export interface SecurityGroupChanges { name?: string; description?: string; stateful?: boolean }

export async function updateSecurityGroup(c: NetworkContext, caller: Caller, id: string, ch: SecurityGroupChanges): Promise<SecurityGroupRow> {
  const g = await getSecurityGroup(c, caller, id);
  if (!caller.isAdmin && g.project_id !== caller.projectId) throw notFoundOf('security_group', id);
  const isDefault = await isDefaultGroup(c.db, g);
  if (ch.name !== undefined && ch.name !== g.name) {
    if (isDefault) throw neutronError(409, 'SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
    if (ch.name === DEFAULT_NAME) throw neutronError(409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  }
  if (ch.stateful !== undefined && Number(ch.stateful) !== g.stateful && (await groupInUse(c.db, id))) {
    throw neutronError(409, 'SecurityGroupInUse', `Security Group ${id} in use.`);
  }
  const set: Partial<SecurityGroupRow> = {};
  if (ch.name !== undefined) set.name = ch.name;
  if (ch.description !== undefined) set.description = ch.description;
  if (ch.stateful !== undefined) set.stateful = Number(ch.stateful);
  await c.db.updateTable('security_group').set({ ...set, revision_number: g.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
  if (ch.stateful !== undefined) c.notifyChanged('security-group-updated');
  return c.db.selectFrom('security_group').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function groupInUse(db: Kysely<NetworkDB>, id: string): Promise<boolean> {
  return !!(await db.selectFrom('port_security_group').select('port_id').where('security_group_id', '=', id).executeTakeFirst());
}

/** Deletes a group and its rules (and rules of other groups that name it as remote group). */
export async function deleteSecurityGroup(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  const g = await getSecurityGroup(c, caller, id);
  if (!caller.isAdmin && g.project_id !== caller.projectId) throw notFoundOf('security_group', id);
  if (!caller.isAdmin && (await isDefaultGroup(c.db, g))) {
    throw neutronError(409, 'SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
  }
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `sg:${id}`);
    if (await groupInUse(trx, id)) throw neutronError(409, 'SecurityGroupInUse', `Security Group ${id} in use.`);
    await trx.deleteFrom('security_group_rule').where((eb) => eb.or([eb('security_group_id', '=', id), eb('remote_group_id', '=', id)])).execute();
    await trx.deleteFrom('default_security_group').where('security_group_id', '=', id).execute();
    await trx.deleteFrom('rbac_policy').where('object_type', '=', 'security_group').where('object_id', '=', id).execute();
    await trx.deleteFrom('tag').where('resource_id', '=', id).execute();
    await trx.deleteFrom('security_group').where('id', '=', id).execute();
  });
  c.notifyChanged('security-group-deleted');
}
