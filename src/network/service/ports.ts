/**
 * Ports: addresses (IPAM), MAC, binding, port security, security groups, allowed address
 * pairs, extra DHCP options. `createPortInternal`/`deletePortInternal` are what the router,
 * floating-IP and DHCP code use inside their own transactions.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { fromJson, isUniqueViolation, lockKey, toJson } from '../../core/db/database.js';
import type { NetworkDB, NetworkRow, PortRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { neutronError, notFoundOf } from './errors.js';
import { formatCidr, formatIp, formatMac, parseCidr, parseIp, parseMac, validPortMac } from './ip-math.js';
import { allocateIps, reallocateIps, ROUTER_OWNERS, type FixedIp, type FixedIpRequest } from './ipam.js';
import { canSeeNetwork, getNetwork } from './networks.js';
import { checkQuota } from './quotas.js';
import { ensureDefaultSecurityGroup } from './security-groups.js';

export interface AddressPair { ip_address: string; mac_address: string }
export interface DhcpOpt { opt_name: string; opt_value: string; ip_version: number }

export interface NewPort {
  projectId: string;
  networkId: string;
  name?: string;
  description?: string;
  adminStateUp?: boolean;
  macAddress?: string;
  /** undefined: Neutron's default addresses; [] none. */
  fixedIps?: FixedIpRequest[];
  deviceId?: string;
  deviceOwner?: string;
  bindingHostId?: string;
  bindingVnicType?: string;
  bindingProfile?: Record<string, unknown>;
  portSecurityEnabled?: boolean;
  /** undefined: the project's default group (none for network:* ports or without port security). */
  securityGroups?: string[];
  allowedAddressPairs?: unknown;
  extraDhcpOpts?: unknown;
  dnsName?: string;
  /** Count the port against the project's quota (API creates). */
  quota?: boolean;
}

export interface PortWithIps { port: PortRow; fixedIps: FixedIp[] }

const VNIC_TYPES = ['normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'remote-managed', 'vdpa'];
const MAX_ADDRESS_PAIRS = 10;

/** The vif type and details a binding to `host` gives (our agents plug Linux bridges). */
export const bindingOf = (host: string): { vif_type: string; vif_details: Record<string, unknown> } =>
  (host ? { vif_type: 'bridge', vif_details: { port_filter: true, connectivity: 'l2', bridge_name: 'brq' } } : { vif_type: 'unbound', vif_details: {} });

/** Whether a caller sees a port: admin, the port's project, or the owner of the port's network. */
export async function canSeePort(db: Kysely<NetworkDB>, caller: Caller, p: PortRow): Promise<boolean> {
  if (caller.isAdmin || p.project_id === caller.projectId) return true;
  const n = await db.selectFrom('network').select('project_id').where('id', '=', p.network_id).executeTakeFirst();
  return n?.project_id === caller.projectId;
}

export async function getPort(c: NetworkContext, caller: Caller, id: string): Promise<PortRow> {
  const p = await c.db.selectFrom('port').selectAll().where('id', '=', id).executeTakeFirst();
  if (!p || !(await canSeePort(c.db, caller, p))) throw notFoundOf('port', id);
  return p;
}

export async function listPorts(c: NetworkContext, caller: Caller, networkIds?: string[]): Promise<PortRow[]> {
  let q = c.db.selectFrom('port').selectAll();
  if (networkIds && networkIds.length) q = q.where('network_id', 'in', networkIds);
  const rows = await q.execute();
  if (caller.isAdmin) return rows;
  const own = await c.db.selectFrom('network').select('id').where('project_id', '=', caller.projectId).execute();
  const owned = new Set(own.map((n) => n.id));
  return rows.filter((p) => p.project_id === caller.projectId || owned.has(p.network_id));
}

/** Addresses of many ports, in subnet order, for views. */
export async function portIps(db: Kysely<NetworkDB>, portIds: string[]): Promise<Map<string, FixedIp[]>> {
  const out = new Map<string, FixedIp[]>();
  for (let i = 0; i < portIds.length; i += 500) {
    const rows = await db.selectFrom('ip_allocation').innerJoin('subnet', 'subnet.id', 'ip_allocation.subnet_id')
      .select(['ip_allocation.port_id', 'ip_allocation.subnet_id', 'ip_allocation.ip_address'])
      .where('ip_allocation.port_id', 'in', portIds.slice(i, i + 500))
      .orderBy('subnet.created_at').orderBy('subnet.id').execute();
    for (const r of rows) out.set(r.port_id, [...(out.get(r.port_id) ?? []), { subnet_id: r.subnet_id, ip_address: r.ip_address }]);
  }
  return out;
}

/** Security group ids of many ports (the order the client gave, kept in the port row). */
export function portGroups(p: PortRow): string[] {
  return fromJson<string[]>(p.security_groups, []);
}

export function parseAddressPairs(raw: unknown, portMac: string): AddressPair[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for allowed_address_pairs. Reason: '${String(raw)}' is not a list.`);
  if (raw.length > MAX_ADDRESS_PAIRS) throw neutronError(400, 'AllowedAddressPairExhausted', `The number of allowed address pair exceeds the maximum ${MAX_ADDRESS_PAIRS}.`);
  const out = raw.map((r) => {
    const o = r as Record<string, unknown>;
    if (!o || typeof o !== 'object' || o.ip_address === undefined) throw neutronError(400, 'AllowedAddressPairsMissingIP', 'AllowedAddressPair must contain ip_address');
    const extra = Object.keys(o).filter((k) => k !== 'ip_address' && k !== 'mac_address');
    if (extra.length) throw neutronError(400, 'InvalidInput', `Invalid input for allowed_address_pairs. Reason: Unrecognized attribute(s) '${extra.join(', ')}'.`);
    let ip: string;
    const asIp = parseIp(o.ip_address);
    if (asIp) ip = formatIp(asIp.value, asIp.version);
    else {
      const asCidr = parseCidr(o.ip_address);
      if (!asCidr) throw neutronError(400, 'InvalidInput', `Invalid input for allowed_address_pairs. Reason: '${String(o.ip_address)}' is not a valid IP address.`);
      ip = formatCidr(asCidr);
    }
    let mac = portMac;
    if (o.mac_address !== undefined && o.mac_address !== null) {
      const m = parseMac(o.mac_address);
      if (m === null) throw neutronError(400, 'InvalidInput', `Invalid input for allowed_address_pairs. Reason: '${String(o.mac_address)}' is not a valid MAC address.`);
      mac = formatMac(m);
    }
    return { ip_address: ip, mac_address: mac };
  });
  const keys = out.map((p) => `${p.ip_address}|${p.mac_address}`);
  if (new Set(keys).size !== keys.length) throw neutronError(400, 'InvalidInput', 'Invalid input for allowed_address_pairs. Reason: Duplicate address pair in request.');
  return out;
}

/** Parses extra_dhcp_opts; with `current`, merges as Neutron's update does (null value removes). */
export function parseDhcpOpts(raw: unknown, current: DhcpOpt[] = []): DhcpOpt[] {
  if (raw === undefined || raw === null) return current;
  if (!Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for extra_dhcp_opts. Reason: '${String(raw)}' is not a list.`);
  const out = [...current];
  for (const r of raw) {
    const o = r as Record<string, unknown>;
    if (!o || typeof o !== 'object' || typeof o.opt_name !== 'string' || o.opt_name === '') throw neutronError(400, 'InvalidInput', `Invalid input for extra_dhcp_opts. Reason: Invalid data format for extra-dhcp-opt: ${JSON.stringify(r)}.`);
    const version = o.ip_version === undefined || o.ip_version === null ? 4 : Number(o.ip_version);
    if (version !== 4 && version !== 6) throw neutronError(400, 'InvalidInput', `Invalid input for extra_dhcp_opts. Reason: '${String(o.ip_version)}' is not in [4, 6].`);
    const i = out.findIndex((x) => x.opt_name === o.opt_name && x.ip_version === version);
    if (o.opt_value === null || o.opt_value === undefined) {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (typeof o.opt_value !== 'string' && typeof o.opt_value !== 'number') throw neutronError(400, 'InvalidInput', `Invalid input for extra_dhcp_opts. Reason: Invalid data format for extra-dhcp-opt: ${JSON.stringify(r)}.`);
    const opt = { opt_name: o.opt_name, opt_value: String(o.opt_value), ip_version: version };
    if (i >= 0) out[i] = opt; else out.push(opt);
  }
  return out;
}

/** The project's default security group (created on first use). */
const defaultSecurityGroup = (c: NetworkContext, trx: Kysely<NetworkDB>, projectId: string): Promise<string> => ensureDefaultSecurityGroup(c, trx, projectId);

/** Security groups must exist and belong to the port's project or be shared with it (RBAC); 404 otherwise, as in Neutron. */
async function checkGroups(trx: Kysely<NetworkDB>, ids: string[], projectId: string): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const rows = await trx.selectFrom('security_group').select(['id', 'project_id']).where('id', 'in', unique).execute();
  const shared = new Set((await trx.selectFrom('rbac_policy').select('object_id').where('object_type', '=', 'security_group')
    .where('object_id', 'in', unique).where('target_tenant', 'in', [projectId, '*']).execute()).map((r) => r.object_id));
  for (const id of unique) {
    const r = rows.find((x) => x.id === id);
    if (!r || (r.project_id !== projectId && !shared.has(id))) throw notFoundOf('security_group', id);
  }
  return unique;
}

async function setGroups(trx: Kysely<NetworkDB>, portId: string, ids: string[]): Promise<void> {
  await trx.deleteFrom('port_security_group').where('port_id', '=', portId).execute();
  if (ids.length) await trx.insertInto('port_security_group').values(ids.map((security_group_id) => ({ port_id: portId, security_group_id }))).execute();
}

async function newMac(trx: Kysely<NetworkDB>, networkId: string): Promise<string> {
  for (;;) {
    const mac = `fa:16:3e:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    const used = await trx.selectFrom('port').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac).executeTakeFirst();
    if (!used) return mac;
  }
}

const macInUse = (networkId: string, mac: string) => neutronError(409, 'MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);

function checkVnic(v: string): void {
  if (!VNIC_TYPES.includes(v)) throw neutronError(400, 'InvalidInput', `Invalid input for binding:vnic_type. Reason: '${v}' is not in ${JSON.stringify(VNIC_TYPES)}.`);
}

/**
 * Creates a port with its addresses inside the caller's transaction. The network must
 * exist; visibility and policy are the caller's business.
 */
export async function createPortInternal(c: NetworkContext, trx: Kysely<NetworkDB>, n: NewPort): Promise<PortWithIps> {
  const net = await trx.selectFrom('network').selectAll().where('id', '=', n.networkId).executeTakeFirst();
  if (!net) throw notFoundOf('network', n.networkId);
  if (n.quota) {
    await lockKey(trx, c.kind, `port-create:${n.projectId}`);
    await checkQuota(trx, n.projectId, 'port');
  }
  let mac: string;
  if (n.macAddress !== undefined) {
    const m = parseMac(n.macAddress);
    if (m === null || !validPortMac(m)) throw neutronError(400, 'InvalidInput', `Invalid input for mac_address. Reason: '${n.macAddress}' is not a valid MAC address.`);
    mac = formatMac(m);
    const used = await trx.selectFrom('port').select('id').where('network_id', '=', net.id).where('mac_address', '=', mac).executeTakeFirst();
    if (used) throw macInUse(net.id, mac);
  } else mac = await newMac(trx, net.id);
  const owner = n.deviceOwner ?? '';
  const service = owner.startsWith('network:');
  const portSecurity = n.portSecurityEnabled ?? !!net.port_security_enabled;
  let groups: string[];
  if (n.securityGroups !== undefined) groups = await checkGroups(trx, n.securityGroups, n.projectId);
  else if (!portSecurity || service) groups = [];
  else {
    const d = await defaultSecurityGroup(c, trx, n.projectId);
    groups = d ? [d] : [];
  }
  const pairs = parseAddressPairs(n.allowedAddressPairs, mac);
  if (!portSecurity && groups.length) throw neutronError(400, 'PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
  if (!portSecurity && pairs.length) throw neutronError(409, 'AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  const host = n.bindingHostId ?? '';
  const vnic = n.bindingVnicType ?? 'normal';
  checkVnic(vnic);
  const b = bindingOf(host);
  const now = neutronNow();
  const row: PortRow = {
    id: randomUUID(), project_id: n.projectId, network_id: net.id, name: n.name ?? '', description: n.description ?? '',
    mac_address: mac, admin_state_up: Number(n.adminStateUp ?? true), status: host || owner === 'network:dhcp' ? 'ACTIVE' : 'DOWN',
    device_id: n.deviceId ?? '', device_owner: owner, binding_host_id: host, binding_vnic_type: vnic, binding_vif_type: b.vif_type,
    binding_profile: toJson(n.bindingProfile ?? {}), binding_vif_details: toJson(b.vif_details), port_security_enabled: Number(portSecurity),
    allowed_address_pairs: toJson(pairs), extra_dhcp_opts: toJson(parseDhcpOpts(n.extraDhcpOpts)), dns_name: n.dnsName ?? '',
    security_groups: toJson(groups), propagate_uplink_status: 0, revision_number: 1, created_at: now, updated_at: now,
  };
  try {
    await trx.insertInto('port').values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw macInUse(net.id, mac);
    throw e;
  }
  await setGroups(trx, row.id, groups);
  const fixedIps = await allocateIps(c, trx, row, n.fixedIps);
  return { port: row, fixedIps };
}

/** Deletes a port and frees its addresses; floating IPs on it are disassociated. */
export async function deletePortInternal(c: NetworkContext, trx: Kysely<NetworkDB>, portId: string): Promise<void> {
  void c;
  await trx.updateTable('floating_ip').set({ port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' }).where('port_id', '=', portId).execute();
  // port forwardings to the port go with it (Neutron)
  await trx.deleteFrom('port_forwarding').where('internal_port_id', '=', portId).execute();
  await trx.deleteFrom('ip_allocation').where('port_id', '=', portId).execute();
  await trx.deleteFrom('port_security_group').where('port_id', '=', portId).execute();
  await trx.deleteFrom('tag').where('resource_id', '=', portId).execute();
  await trx.deleteFrom('port').where('id', '=', portId).execute();
}

/** API create: the caller must see the network; only admins and the network's owner create on others' networks with fixed addresses etc. (policy in the route). */
export async function createPort(c: NetworkContext, caller: Caller, n: NewPort): Promise<PortWithIps> {
  await getNetwork(c, caller, n.networkId);
  const r = await c.db.transaction().execute((trx) => createPortInternal(c, trx, { ...n, quota: true }));
  c.notifyChanged('port-created');
  return r;
}

export interface PortChanges {
  name?: string; description?: string; adminStateUp?: boolean; macAddress?: string; fixedIps?: FixedIpRequest[];
  deviceId?: string; deviceOwner?: string; bindingHostId?: string; bindingVnicType?: string; bindingProfile?: Record<string, unknown>;
  portSecurityEnabled?: boolean; securityGroups?: string[]; allowedAddressPairs?: unknown; extraDhcpOpts?: unknown; dnsName?: string;
}

export async function updatePort(c: NetworkContext, caller: Caller, id: string, ch: PortChanges): Promise<PortRow> {
  const p = await getPort(c, caller, id);
  await c.db.transaction().execute(async (trx) => {
    const set: Partial<PortRow> = {};
    const portSecurity = ch.portSecurityEnabled ?? !!p.port_security_enabled;
    let mac = p.mac_address;
    if (ch.macAddress !== undefined) {
      const m = parseMac(ch.macAddress);
      if (m === null || !validPortMac(m)) throw neutronError(400, 'InvalidInput', `Invalid input for mac_address. Reason: '${ch.macAddress}' is not a valid MAC address.`);
      mac = formatMac(m);
      if (mac !== p.mac_address) {
        if (p.binding_host_id && p.binding_vif_type !== 'unbound') throw neutronError(409, 'PortBound', `Unable to complete operation on port ${id}, port is already bound, port type: ${p.binding_vif_type}, old_mac ${p.mac_address}, new_mac ${mac}.`);
        const used = await trx.selectFrom('port').select('id').where('network_id', '=', p.network_id).where('mac_address', '=', mac).executeTakeFirst();
        if (used) throw macInUse(p.network_id, mac);
        set.mac_address = mac;
      }
    }
    let groups = portGroups(p);
    if (ch.securityGroups !== undefined) groups = await checkGroups(trx, ch.securityGroups, p.project_id);
    const pairs = ch.allowedAddressPairs !== undefined ? parseAddressPairs(ch.allowedAddressPairs, mac) : fromJson<AddressPair[]>(p.allowed_address_pairs, []);
    if (!portSecurity && groups.length) {
      if (ch.securityGroups !== undefined) throw neutronError(400, 'PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
      throw neutronError(409, 'PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or ip address until security group is removed');
    }
    if (!portSecurity && pairs.length) throw neutronError(409, 'AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
    if (ch.securityGroups !== undefined) {
      set.security_groups = toJson(groups);
      await setGroups(trx, id, groups);
    }
    if (ch.allowedAddressPairs !== undefined) set.allowed_address_pairs = toJson(pairs);
    if (ch.portSecurityEnabled !== undefined) set.port_security_enabled = Number(ch.portSecurityEnabled);
    if (ch.extraDhcpOpts !== undefined) set.extra_dhcp_opts = toJson(parseDhcpOpts(ch.extraDhcpOpts, fromJson<DhcpOpt[]>(p.extra_dhcp_opts, [])));
    if (ch.name !== undefined) set.name = ch.name;
    if (ch.description !== undefined) set.description = ch.description;
    if (ch.adminStateUp !== undefined) set.admin_state_up = Number(ch.adminStateUp);
    if (ch.deviceId !== undefined) set.device_id = ch.deviceId;
    if (ch.deviceOwner !== undefined) set.device_owner = ch.deviceOwner;
    if (ch.dnsName !== undefined) set.dns_name = ch.dnsName;
    if (ch.bindingVnicType !== undefined) { checkVnic(ch.bindingVnicType); set.binding_vnic_type = ch.bindingVnicType; }
    if (ch.bindingProfile !== undefined) set.binding_profile = toJson(ch.bindingProfile ?? {});
    if (ch.bindingHostId !== undefined) {
      const b = bindingOf(ch.bindingHostId);
      set.binding_host_id = ch.bindingHostId;
      set.binding_vif_type = b.vif_type;
      set.binding_vif_details = toJson(b.vif_details);
      set.status = ch.bindingHostId ? 'ACTIVE' : 'DOWN';
    }
    if (ch.fixedIps !== undefined) {
      await reallocateIps(c, trx, { id, network_id: p.network_id, mac_address: mac, device_owner: ch.deviceOwner ?? p.device_owner }, ch.fixedIps);
    }
    await trx.updateTable('port').set({ ...set, revision_number: p.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
  });
  c.notifyChanged('port-updated');
  return c.db.selectFrom('port').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function deletePort(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  const p = await getPort(c, caller, id);
  if (ROUTER_OWNERS.includes(p.device_owner) || p.device_owner === 'network:floatingip') {
    throw neutronError(409, 'L3PortInUse', `Port ${id} cannot be deleted directly via the port API: has device owner ${p.device_owner}.`);
  }
  await c.db.transaction().execute((trx) => deletePortInternal(c, trx, id));
  c.notifyChanged('port-deleted');
}

/** Whether a caller may see a port's network (for policy targets: the network owner). */
export async function networkOf(c: NetworkContext, caller: Caller, networkId: string): Promise<NetworkRow> {
  const n = await c.db.selectFrom('network').selectAll().where('id', '=', networkId).executeTakeFirst();
  if (!n || !(await canSeeNetwork(c.db, caller, n))) throw notFoundOf('network', networkId);
  return n;
}

