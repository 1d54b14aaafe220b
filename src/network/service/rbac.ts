/**
 * RBAC policies (Neutron's rbac-policies): share a network (access_as_shared), make it usable
 * as external (access_as_external), or share a security group, with one project or all ('*').
 * A network's `shared`/`router:external` flags follow its wildcard entries.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUniqueViolation, lockKey } from '../../core/db/database.js';
import type { NetworkDB, RbacPolicyRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { neutronError, notFoundOf } from './errors.js';
import { checkQuota } from './quotas.js';

/** Actions allowed per object type, and the table each type lives in. */
export const RBAC_OBJECTS: Record<string, { table: 'network' | 'security_group'; actions: string[] }> = {
  network: { table: 'network', actions: ['access_as_shared', 'access_as_external'] },
  security_group: { table: 'security_group', actions: ['access_as_shared'] },
};

const rbacNotFound = (id: string) => neutronError(404, 'RbacPolicyNotFound', `RBAC policy with type rbac_policy and id ${id} could not be found.`);

export async function getRbacPolicy(c: NetworkContext, caller: Caller, id: string): Promise<RbacPolicyRow> {
  const r = await c.db.selectFrom('rbac_policy').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r || (!caller.isAdmin && r.project_id !== caller.projectId)) throw rbacNotFound(id);
  return r;
}

export async function listRbacPolicies(c: NetworkContext, caller: Caller): Promise<RbacPolicyRow[]> {
  let q = c.db.selectFrom('rbac_policy').selectAll();
  if (!caller.isAdmin) q = q.where('project_id', '=', caller.projectId);
  return q.execute();
}

export interface NewRbacPolicy { projectId: string; objectType: string; objectId: string; action: string; target: string; description: string }

/** The object an entry is about; the caller must own it (admins may share anything). */
async function objectOf(c: NetworkContext, caller: Caller, type: string, id: string): Promise<{ project_id: string }> {
  const spec = RBAC_OBJECTS[type];
  const o = await (c.db as Kysely<any>).selectFrom(spec.table).select(['id', 'project_id']).where('id', '=', id).executeTakeFirst() as { project_id: string } | undefined;
  const resource = type === 'network' ? 'network' : 'security_group';
  if (!o || (!caller.isAdmin && o.project_id !== caller.projectId)) throw notFoundOf(resource, id);
  return o;
}

/** Keeps network.shared / network.external in step with its wildcard entries. */
async function syncFlags(db: Kysely<NetworkDB>, r: Pick<RbacPolicyRow, 'object_type' | 'object_id' | 'action' | 'target_tenant'>, on: boolean): Promise<void> {
  if (r.object_type !== 'network' || r.target_tenant !== '*') return;
  const col = r.action === 'access_as_shared' ? 'shared' : 'external';
  await db.updateTable('network').set({ [col]: Number(on), updated_at: neutronNow() }).where('id', '=', r.object_id).execute();
}

export async function createRbacPolicy(c: NetworkContext, caller: Caller, n: NewRbacPolicy): Promise<RbacPolicyRow> {
  const spec = RBAC_OBJECTS[n.objectType];
  if (!spec) throw neutronError(400, 'InvalidInput', `Invalid input for object_type. Reason: '${n.objectType}' is not in [${Object.keys(RBAC_OBJECTS).map((k) => `'${k}'`).join(', ')}].`);
  if (!spec.actions.includes(n.action)) throw neutronError(400, 'InvalidInput', `Invalid input for operation: Action ${n.action} is not supported for object type ${n.objectType}.`);
  await objectOf(c, caller, n.objectType, n.objectId);
  const now = neutronNow();
  const row: RbacPolicyRow = {
    id: randomUUID(), project_id: n.projectId, object_type: n.objectType, object_id: n.objectId, action: n.action,
    target_tenant: n.target, description: n.description, created_at: now, updated_at: now, revision_number: 1,
  };
  try {
    await c.db.transaction().execute(async (trx) => {
      await lockKey(trx, c.kind, `rbac-create:${n.projectId}`);
      await checkQuota(trx, n.projectId, 'rbac_policy');
      const dup = await trx.selectFrom('rbac_policy').select('id').where('object_type', '=', n.objectType).where('object_id', '=', n.objectId)
        .where('action', '=', n.action).where('target_tenant', '=', n.target).executeTakeFirst();
      if (dup) throw duplicate();
      await trx.insertInto('rbac_policy').values(row).execute();
      await syncFlags(trx, row, true);
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw duplicate();
    throw e;
  }
  c.notifyChanged('rbac-policy-created');
  return row;
}

const duplicate = () => neutronError(409, 'DuplicateRbacPolicy', 'An RBAC policy already exists with those values.');

/**
 * 409 while the projects an entry lets in still use the object: ports of those projects on a
 * shared network, or ports of theirs in a shared security group. Entries that still let a
 * project in after this one is gone keep it free.
 */
async function assertUnused(db: Kysely<NetworkDB>, r: RbacPolicyRow, newTarget?: string): Promise<void> {
  const owner = r.object_type === 'network'
    ? (await db.selectFrom('network').select('project_id').where('id', '=', r.object_id).executeTakeFirst())?.project_id
    : (await db.selectFrom('security_group').select('project_id').where('id', '=', r.object_id).executeTakeFirst())?.project_id;
  if (owner === undefined) return;
  if (newTarget === '*') return;
  const others = await db.selectFrom('rbac_policy').select('target_tenant').where('object_type', '=', r.object_type).where('object_id', '=', r.object_id)
    .where('action', '=', r.action).where('id', '!=', r.id).execute();
  const stillAllowed = new Set([owner, ...others.map((o) => o.target_tenant), ...(newTarget ? [newTarget] : [])]);
  if (stillAllowed.has('*')) return;
  let users: string[];
  if (r.object_type === 'network') {
    if (r.action !== 'access_as_shared') {
      // access_as_external: floating IPs and router gateways of other projects use it
      const fips = await db.selectFrom('floating_ip').select('project_id').where('floating_network_id', '=', r.object_id).execute();
      const routers = await db.selectFrom('router').select('project_id').where('gw_network_id', '=', r.object_id).execute();
      users = [...fips, ...routers].map((x) => x.project_id);
    } else {
      const ports = await db.selectFrom('port').select('project_id').where('network_id', '=', r.object_id).where('device_owner', 'not like', 'network:%').execute();
      users = ports.map((p) => p.project_id);
    }
  } else {
    const ports = await db.selectFrom('port_security_group').innerJoin('port', 'port.id', 'port_security_group.port_id').select('port.project_id')
      .where('port_security_group.security_group_id', '=', r.object_id).execute();
    users = ports.map((p) => p.project_id);
  }
  const blocked = users.filter((p) => !stillAllowed.has(p) && (r.target_tenant === '*' || p === r.target_tenant));
  if (blocked.length) {
    throw neutronError(409, 'RbacPolicyInUse', `RBAC policy on object ${r.object_id} cannot be removed because other objects depend on it.\nDetails: Callback neutron.plugins.ml2.plugin.Ml2Plugin.validate_network_rbac_policy_change failed with "Unable to reconfigure sharing settings for network ${r.object_id}. Multiple tenants are using it.".`);
  }
}

export async function updateRbacPolicy(c: NetworkContext, caller: Caller, id: string, ch: { target?: string; description?: string }): Promise<RbacPolicyRow> {
  const r = await getRbacPolicy(c, caller, id);
  try {
    await c.db.transaction().execute(async (trx) => {
      await lockKey(trx, c.kind, `rbac:${r.object_type}:${r.object_id}`);
      if (ch.target !== undefined && ch.target !== r.target_tenant) {
        await assertUnused(trx, r, ch.target);
        await syncFlags(trx, r, false);
        await syncFlags(trx, { ...r, target_tenant: ch.target }, true);
      }
      await trx.updateTable('rbac_policy').set({
        ...(ch.target !== undefined ? { target_tenant: ch.target } : {}),
        ...(ch.description !== undefined ? { description: ch.description } : {}),
        revision_number: r.revision_number + 1, updated_at: neutronNow(),
      }).where('id', '=', id).execute();
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw duplicate();
    throw e;
  }
  c.notifyChanged('rbac-policy-updated');
  return c.db.selectFrom('rbac_policy').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function deleteRbacPolicy(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  const r = await getRbacPolicy(c, caller, id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `rbac:${r.object_type}:${r.object_id}`);
    await assertUnused(trx, r);
    await trx.deleteFrom('rbac_policy').where('id', '=', id).execute();
    await syncFlags(trx, r, false);
  });
  c.notifyChanged('rbac-policy-deleted');
}
