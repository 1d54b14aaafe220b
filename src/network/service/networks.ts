/**
 * Networks: create (VNI allocated per network), visibility (owner, shared, external, RBAC),
 * update, delete (only when nothing but the network's own DHCP ports remain).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { lockKey, toJson } from '../../core/db/database.js';
import type { NetworkDB, NetworkRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { neutronError, notFoundOf } from './errors.js';
import { checkQuota } from './quotas.js';

/** VXLAN overhead (50 bytes) under a 1500-byte underlay, as Neutron computes it. */
export const VXLAN_MTU = 1450;
export const FLAT_MTU = 1500;
const MAX_VNI = 16_777_215;

export interface NewNetwork {
  projectId: string;
  name: string;
  description: string;
  adminStateUp: boolean;
  shared: boolean;
  external: boolean;
  isDefault: boolean;
  mtu?: number;
  portSecurityEnabled: boolean;
  providerNetworkType?: string;
  providerPhysicalNetwork?: string | null;
  providerSegmentationId?: number | null;
  availabilityZoneHints: string[];
  dnsDomain: string;
}

/** Projects (or '*') a network is shared with through RBAC, by action. */
export async function rbacTargets(db: Kysely<NetworkDB>, objectType: string, objectId: string): Promise<{ action: string; target: string }[]> {
  const rows = await db.selectFrom('rbac_policy').select(['action', 'target_tenant']).where('object_type', '=', objectType).where('object_id', '=', objectId).execute();
  return rows.map((r) => ({ action: r.action, target: r.target_tenant }));
}

/** Ids of networks shared with a project (or everyone) through RBAC. */
async function rbacNetworkIds(db: Kysely<NetworkDB>, projectId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('rbac_policy').select('object_id')
    .where('object_type', '=', 'network').where('target_tenant', 'in', [projectId, '*']).execute();
  return new Set(rows.map((r) => r.object_id));
}

/** Whether a caller sees a network: admin, owner, shared, external, or an RBAC entry for its project. */
export async function canSeeNetwork(db: Kysely<NetworkDB>, caller: Caller, n: NetworkRow): Promise<boolean> {
  if (caller.isAdmin || n.project_id === caller.projectId || n.shared || n.external) return true;
  return (await rbacNetworkIds(db, caller.projectId)).has(n.id);
}

/** The network a caller may see, or 404. */
export async function getNetwork(c: NetworkContext, caller: Caller, id: string): Promise<NetworkRow> {
  const n = await c.db.selectFrom('network').selectAll().where('id', '=', id).executeTakeFirst();
  if (!n || !(await canSeeNetwork(c.db, caller, n))) throw notFoundOf('network', id);
  return n;
}

export async function listNetworks(c: NetworkContext, caller: Caller): Promise<NetworkRow[]> {
  const rows = await c.db.selectFrom('network').selectAll().execute();
  if (caller.isAdmin) return rows;
  const shared = await rbacNetworkIds(c.db, caller.projectId);
  return rows.filter((n) => n.project_id === caller.projectId || n.shared || n.external || shared.has(n.id));
}

export async function createNetwork(c: NetworkContext, n: NewNetwork): Promise<NetworkRow> {
  const type = n.providerNetworkType ?? 'vxlan';
  if (!['vxlan', 'flat', 'local', 'vlan', 'geneve'].includes(type)) {
    throw neutronError(400, 'InvalidInput', `Invalid input for operation: network_type value '${type}' not supported.`);
  }
  const maxMtu = type === 'vxlan' || type === 'geneve' ? VXLAN_MTU : FLAT_MTU;
  if (n.mtu !== undefined && (n.mtu < 68 || n.mtu > maxMtu)) {
    throw neutronError(400, 'InvalidInput', `Invalid input for operation: Requested MTU is too big, maximum is ${maxMtu}.`);
  }
  const now = neutronNow();
  return c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `network-create:${n.projectId}`);
    await checkQuota(trx, n.projectId, 'network');
    let seg = n.providerSegmentationId ?? null;
    if (type === 'vxlan' || type === 'geneve') {
      await lockKey(trx, c.kind, 'network-vni');
      if (seg === null) {
        const r = await trx.selectFrom('network').select((eb) => eb.fn.max('provider_segmentation_id').as('m'))
          .where('provider_network_type', '=', type).executeTakeFirst();
        seg = Number(r?.m ?? 0) + 1;
        if (seg > MAX_VNI) throw neutronError(503, 'NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
      } else {
        if (!Number.isInteger(seg) || seg < 1 || seg > MAX_VNI) throw neutronError(400, 'InvalidInput', `Invalid input for operation: ${seg} is not a valid VXLAN VNI.`);
        const used = await trx.selectFrom('network').select('id').where('provider_network_type', '=', type).where('provider_segmentation_id', '=', seg).executeTakeFirst();
        if (used) throw neutronError(409, 'TunnelIdInUse', `Unable to create the network. The tunnel ID ${seg} is in use.`);
      }
    }
    if (n.isDefault && n.external) {
      await trx.updateTable('network').set({ is_default: 0 }).where('is_default', '=', 1).execute();
    }
    const row: NetworkRow = {
      id: randomUUID(), project_id: n.projectId, name: n.name, description: n.description,
      admin_state_up: Number(n.adminStateUp), status: 'ACTIVE', shared: Number(n.shared), external: Number(n.external),
      is_default: Number(n.isDefault && n.external), mtu: n.mtu ?? maxMtu, port_security_enabled: Number(n.portSecurityEnabled),
      provider_network_type: type, provider_physical_network: n.providerPhysicalNetwork ?? (type === 'flat' || type === 'vlan' ? 'public' : null),
      provider_segmentation_id: seg, availability_zone_hints: toJson(n.availabilityZoneHints), dns_domain: n.dnsDomain,
      revision_number: 1, created_at: now, updated_at: now,
    };
    await trx.insertInto('network').values(row).execute();
    if (n.shared) await addSharedRbac(trx, row);
    return row;
  });
}

async function addSharedRbac(db: Kysely<NetworkDB>, n: NetworkRow): Promise<void> {
  const now = neutronNow();
  await db.insertInto('rbac_policy').values({
    id: randomUUID(), project_id: n.project_id, object_type: 'network', object_id: n.id, action: 'access_as_shared',
    target_tenant: '*', description: '', created_at: now, updated_at: now, revision_number: 1,
  }).execute();
}

export interface NetworkChanges {
  name?: string;
  description?: string;
  adminStateUp?: boolean;
  shared?: boolean;
  external?: boolean;
  isDefault?: boolean;
  mtu?: number;
  portSecurityEnabled?: boolean;
  dnsDomain?: string;
}

export async function updateNetwork(c: NetworkContext, caller: Caller, id: string, ch: NetworkChanges): Promise<NetworkRow> {
  const n = await getNetwork(c, caller, id);
  if (!caller.isAdmin && n.project_id !== caller.projectId) throw notFoundOf('network', id);
  const maxMtu = n.provider_network_type === 'vxlan' || n.provider_network_type === 'geneve' ? VXLAN_MTU : FLAT_MTU;
  if (ch.mtu !== undefined && (ch.mtu < 68 || ch.mtu > maxMtu)) {
    throw neutronError(400, 'InvalidInput', `Invalid input for operation: Requested MTU is too big, maximum is ${maxMtu}.`);
  }
  await c.db.transaction().execute(async (trx) => {
    if (ch.shared === false && n.shared) {
      // Neutron refuses to unshare while other projects have ports on the network
      const foreign = await trx.selectFrom('port').select('id').where('network_id', '=', id).where('project_id', '!=', n.project_id)
        .where('device_owner', 'not like', 'network:%').executeTakeFirst();
      if (foreign) throw neutronError(409, 'InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${id}. Multiple tenants are using it.`);
      await trx.deleteFrom('rbac_policy').where('object_type', '=', 'network').where('object_id', '=', id)
        .where('action', '=', 'access_as_shared').where('target_tenant', '=', '*').execute();
    }
    if (ch.shared === true && !n.shared) await addSharedRbac(trx, n);
    if (ch.isDefault === true) await trx.updateTable('network').set({ is_default: 0 }).where('is_default', '=', 1).execute();
    const set: Partial<NetworkRow> = {};
    if (ch.name !== undefined) set.name = ch.name;
    if (ch.description !== undefined) set.description = ch.description;
    if (ch.adminStateUp !== undefined) set.admin_state_up = Number(ch.adminStateUp);
    if (ch.shared !== undefined) set.shared = Number(ch.shared);
    if (ch.external !== undefined) set.external = Number(ch.external);
    if (ch.isDefault !== undefined) set.is_default = Number(ch.isDefault);
    if (ch.mtu !== undefined) set.mtu = ch.mtu;
    if (ch.portSecurityEnabled !== undefined) set.port_security_enabled = Number(ch.portSecurityEnabled);
    if (ch.dnsDomain !== undefined) set.dns_domain = ch.dnsDomain;
    await trx.updateTable('network').set({ ...set, revision_number: n.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
  });
  c.notifyChanged('network-updated');
  return (await c.db.selectFrom('network').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}

/**
 * Deletes a network with its subnets and its service ports (DHCP); 409 NetworkInUse while
 * any other port remains (instances, router interfaces).
 */
export async function deleteNetwork(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  const n = await getNetwork(c, caller, id);
  if (!caller.isAdmin && n.project_id !== caller.projectId) throw notFoundOf('network', id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `network:${id}`);
    const busy = await trx.selectFrom('port').select('id').where('network_id', '=', id)
      .where('device_owner', 'not in', ['network:dhcp', 'network:floatingip']).executeTakeFirst();
    if (busy) {
      throw neutronError(409, 'NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
    }
    // floating IPs of an external network go with it (Neutron auto-deletes their ports)
    const fips = await trx.selectFrom('floating_ip').select('id').where('floating_network_id', '=', id).execute();
    if (fips.length) {
      await trx.deleteFrom('port_forwarding').where('floatingip_id', 'in', fips.map((f) => f.id)).execute();
      await trx.deleteFrom('tag').where('resource_id', 'in', fips.map((f) => f.id)).execute();
      await trx.deleteFrom('floating_ip').where('floating_network_id', '=', id).execute();
    }
    const ports = await trx.selectFrom('port').select('id').where('network_id', '=', id).execute();
    const portIds = ports.map((p) => p.id);
    if (portIds.length) {
      await trx.deleteFrom('ip_allocation').where('port_id', 'in', portIds).execute();
      await trx.deleteFrom('port_security_group').where('port_id', 'in', portIds).execute();
      await trx.deleteFrom('tag').where('resource_id', 'in', portIds).execute();
      await trx.deleteFrom('port').where('id', 'in', portIds).execute();
    }
    const subnets = await trx.selectFrom('subnet').select('id').where('network_id', '=', id).execute();
    const subnetIds = subnets.map((s) => s.id);
    if (subnetIds.length) {
      await trx.deleteFrom('ip_allocation').where('subnet_id', 'in', subnetIds).execute();
      await trx.deleteFrom('tag').where('resource_id', 'in', subnetIds).execute();
      await trx.deleteFrom('subnet').where('id', 'in', subnetIds).execute();
    }
    await trx.deleteFrom('rbac_policy').where('object_type', '=', 'network').where('object_id', '=', id).execute();
    await trx.deleteFrom('auto_allocated_topology').where('network_id', '=', id).execute();
    await trx.deleteFrom('tag').where('resource_id', '=', id).execute();
    await trx.deleteFrom('network').where('id', '=', id).execute();
  });
  c.notifyChanged('network-deleted');
}

/** Subnet ids per network (for the `subnets` attribute of network views). */
export async function subnetIdsByNetwork(db: Kysely<NetworkDB>, networkIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (networkIds.length === 0) return out;
  for (let i = 0; i < networkIds.length; i += 500) {
    const rows = await db.selectFrom('subnet').select(['id', 'network_id']).where('network_id', 'in', networkIds.slice(i, i + 500)).orderBy('created_at').execute();
    for (const r of rows) out.set(r.network_id, [...(out.get(r.network_id) ?? []), r.id]);
  }
  return out;
}
