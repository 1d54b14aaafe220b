/**
 * Floating IPs: an address of an external network (held by a `network:floatingip` port of no
 * project) NATed 1:1 by the router that joins the external network to the fixed address's
 * subnet; and port forwardings on floating IPs that are not associated with a port.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUniqueViolation, lockKey } from '../../core/db/database.js';
import type { FloatingIpRow, NetworkDB, PortForwardingRow, PortRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { badRequestOf, neutronError, notFoundOf } from './errors.js';
import { formatIp, parseIp } from './ip-math.js';
import { lowestFree, ROUTER_OWNERS, type FixedIpRequest } from './ipam.js';
import { getNetwork } from './networks.js';
import { createPortInternal, deletePortInternal, getPort, portIps } from './ports.js';
import { checkQuota } from './quotas.js';
import { routersBetween } from './routers.js';

export const FIP_OWNER = 'network:floatingip';

export interface NewFloatingIp {
  projectId: string; floatingNetworkId: string; floatingIpAddress?: string; subnetId?: string;
  portId?: string; fixedIpAddress?: string; description: string;
}

export interface FloatingIpChanges { portId?: string | null; fixedIpAddress?: string; description?: string }

export async function getFloatingIp(c: NetworkContext, caller: Caller, id: string, db: Kysely<NetworkDB> = c.db): Promise<FloatingIpRow> {
  const f = await db.selectFrom('floating_ip').selectAll().where('id', '=', id).executeTakeFirst();
  if (!f || (!caller.isAdmin && f.project_id !== caller.projectId)) throw notFoundOf('floatingip', id);
  return f;
}

export async function listFloatingIps(c: NetworkContext, caller: Caller): Promise<FloatingIpRow[]> {
  let q = c.db.selectFrom('floating_ip').selectAll();
  if (!caller.isAdmin) q = q.where('project_id', '=', caller.projectId);
  return q.execute();
}

/** Floating IPs a router NATs (for the dataplane). */
export async function floatingIpsOfRouter(db: Kysely<NetworkDB>, routerId: string): Promise<{ id: string; floating: string; fixed: string; portId: string }[]> {
  const rows = await db.selectFrom('floating_ip').selectAll().where('router_id', '=', routerId).where('port_id', 'is not', null).execute();
  return rows.filter((f) => f.fixed_ip_address).map((f) => ({ id: f.id, floating: f.floating_ip_address, fixed: f.fixed_ip_address!, portId: f.port_id! }));
}

/** Port forwardings a router carries (for the dataplane). */
export async function portForwardingsOfRouter(db: Kysely<NetworkDB>, routerId: string): Promise<{ id: string; floating: string; protocol: 'tcp' | 'udp'; externalPort: number; internal: string; internalPort: number }[]> {
  const rows = await db.selectFrom('port_forwarding').innerJoin('floating_ip', 'floating_ip.id', 'port_forwarding.floatingip_id')
    .select(['port_forwarding.id', 'floating_ip.floating_ip_address', 'port_forwarding.protocol', 'port_forwarding.external_port',
      'port_forwarding.internal_ip_address', 'port_forwarding.internal_port'])
    .where('floating_ip.router_id', '=', routerId).execute();
  return rows.map((r) => ({ id: r.id, floating: r.floating_ip_address, protocol: r.protocol as 'tcp' | 'udp', externalPort: r.external_port, internal: r.internal_ip_address, internalPort: r.internal_port }));
}

const normIp = (s: string): string => { const p = parseIp(s); return p ? formatIp(p.value, p.version) : s; };

/**
 * The fixed address and router a floating IP on `extNetId` gets for a port (Neutron's
 * _get_assoc_data): one IPv4 address of the port, reachable through a router with a gateway
 * on the external network.
 */
async function association(trx: Kysely<NetworkDB>, caller: Caller, fip: { id: string; project_id: string; floating_network_id: string }, port: PortRow, fixedIp?: string): Promise<{ fixed: string; routerId: string }> {
  if (!caller.isAdmin && port.project_id !== fip.project_id) {
    throw badRequestOf('floatingip', `Cannot create floating IP and bind it to Port ${port.id}, since that port is owned by a different tenant`);
  }
  if (ROUTER_OWNERS.includes(port.device_owner) || port.device_owner === FIP_OWNER) {
    throw badRequestOf('floatingip', `Port ${port.id} has owner ${port.device_owner} and therefore cannot be associated with a floating IP`);
  }
  const ips = ((await portIps(trx, [port.id])).get(port.id) ?? []).filter((i) => !i.ip_address.includes(':'));
  let chosen = ips[0];
  if (fixedIp !== undefined) {
    chosen = ips.find((i) => i.ip_address === normIp(fixedIp))!;
    if (!chosen) throw badRequestOf('floatingip', `Port ${port.id} does not have fixed ip ${fixedIp}`);
  } else if (ips.length > 1) {
    throw badRequestOf('floatingip', `Port ${port.id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP`);
  }
  if (!chosen) throw badRequestOf('floatingip', `Cannot add floating IP to port ${port.id} that has no fixed IPv4 addresses`);
  const taken = await trx.selectFrom('floating_ip').select(['id', 'floating_ip_address']).where('port_id', '=', port.id)
    .where('fixed_ip_address', '=', chosen.ip_address).where('floating_network_id', '=', fip.floating_network_id).where('id', '!=', fip.id).executeTakeFirst();
  if (taken) {
    throw neutronError(409, 'FloatingIPPortAlreadyAssociated', `Cannot associate floating IP ${taken.floating_ip_address} (${fip.id}) with port ${port.id} using fixed IP ${chosen.ip_address}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id}.`);
  }
  const [router] = await routersBetween(trx, chosen.subnet_id, fip.floating_network_id);
  if (!router) {
    throw neutronError(404, 'ExternalGatewayForFloatingIPNotFound', `External network ${fip.floating_network_id} is not reachable from subnet ${chosen.subnet_id}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`);
  }
  return { fixed: chosen.ip_address, routerId: router.id };
}

async function noPortForwardings(trx: Kysely<NetworkDB>, fipId: string): Promise<void> {
  const pf = await trx.selectFrom('port_forwarding').select('id').where('floatingip_id', '=', fipId).executeTakeFirst();
  if (pf) throw neutronError(409, 'FipInUseByPortForwarding', `Floating IP ${fipId} has port forwardings and cannot be associated with a port.`);
}

export async function createFloatingIp(c: NetworkContext, caller: Caller, n: NewFloatingIp): Promise<FloatingIpRow> {
  const net = await getNetwork(c, caller, n.floatingNetworkId);
  if (!net.external) throw badRequestOf('floatingip', `Network ${net.id} is not a valid external network`);
  const port = n.portId ? await getPort(c, caller, n.portId) : undefined;
  const id = randomUUID();
  const now = neutronNow();
  const row = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `floatingip-create:${n.projectId}`);
    await checkQuota(trx, n.projectId, 'floatingip');
    const subnets = await trx.selectFrom('subnet').selectAll().where('network_id', '=', net.id).orderBy('created_at').orderBy('id').execute();
    if (n.subnetId !== undefined && !subnets.some((s) => s.id === n.subnetId)) throw notFoundOf('subnet', n.subnetId);
    let fixedIps: FixedIpRequest[];
    if (n.floatingIpAddress !== undefined) fixedIps = [{ ipAddress: n.floatingIpAddress, subnetId: n.subnetId }];
    else if (n.subnetId !== undefined) fixedIps = [{ subnetId: n.subnetId }];
    else {
      // one IPv4 address, from the first subnet that has one free
      let pick: string | undefined;
      for (const s of subnets.filter((x) => x.ip_version === 4)) if ((await lowestFree(trx, s)) !== null) { pick = s.id; break; }
      if (!pick) throw neutronError(409, 'IpAddressGenerationFailure', `No more IP addresses available on network ${net.id}.`);
      fixedIps = [{ subnetId: pick }];
    }
    const { fixedIps: got } = await createPortInternal(c, trx, {
      projectId: '', networkId: net.id, deviceOwner: FIP_OWNER, deviceId: id, fixedIps, portSecurityEnabled: false, securityGroups: [],
    });
    const address = got.find((g) => !g.ip_address.includes(':')) ?? got[0];
    if (!address) throw badRequestOf('floatingip', `No IP address available on external network ${net.id}`);
    const floatingPort = await trx.selectFrom('port').select('id').where('device_id', '=', id).where('device_owner', '=', FIP_OWNER).executeTakeFirstOrThrow();
    const f: FloatingIpRow = {
      id, project_id: n.projectId, floating_network_id: net.id, floating_ip_address: address.ip_address, floating_port_id: floatingPort.id,
      port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', dns_name: '', dns_domain: '',
      description: n.description, revision_number: 1, created_at: now, updated_at: now,
    };
    if (port) {
      const p = await trx.selectFrom('port').selectAll().where('id', '=', port.id).executeTakeFirstOrThrow();
      const a = await association(trx, caller, f, p, n.fixedIpAddress);
      Object.assign(f, { port_id: p.id, fixed_ip_address: a.fixed, router_id: a.routerId, status: 'ACTIVE' });
    }
    await trx.insertInto('floating_ip').values(f).execute();
    return f;
  }).catch((e: unknown) => {
    if ((e as { type?: string }).type === 'IpAddressAlreadyAllocated') {
      throw neutronError(409, 'IpAddressInUse', `Unable to complete operation for network ${net.id}. The IP address ${n.floatingIpAddress} is in use.`);
    }
    throw e;
  });
  c.notifyChanged('floatingip-created');
  return row;
}

export async function updateFloatingIp(c: NetworkContext, caller: Caller, id: string, ch: FloatingIpChanges): Promise<FloatingIpRow> {
  await getFloatingIp(c, caller, id);
  const port = ch.portId ? await getPort(c, caller, ch.portId) : undefined;
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `floatingip:${id}`);
    const f = await trx.selectFrom('floating_ip').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const set: Partial<FloatingIpRow> = {};
    if (ch.description !== undefined) set.description = ch.description;
    if (ch.portId === null) Object.assign(set, { port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' });
    else if (port || (ch.fixedIpAddress !== undefined && f.port_id)) {
      await noPortForwardings(trx, id);
      const p = await trx.selectFrom('port').selectAll().where('id', '=', port?.id ?? f.port_id!).executeTakeFirstOrThrow();
      const a = await association(trx, caller, f, p, ch.fixedIpAddress);
      Object.assign(set, { port_id: p.id, fixed_ip_address: a.fixed, router_id: a.routerId, status: 'ACTIVE' });
    }
    await trx.updateTable('floating_ip').set({ ...set, revision_number: f.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
  });
  c.notifyChanged('floatingip-updated');
  return c.db.selectFrom('floating_ip').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Deletes floating IPs with their ports and port forwardings, inside the caller's transaction. */
export async function deleteFloatingIpsInternal(c: NetworkContext, trx: Kysely<NetworkDB>, ids: string[]): Promise<void> {
  for (const id of ids) {
    const f = await trx.selectFrom('floating_ip').select('floating_port_id').where('id', '=', id).executeTakeFirst();
    if (!f) continue;
    await trx.deleteFrom('port_forwarding').where('floatingip_id', '=', id).execute();
    await trx.deleteFrom('tag').where('resource_id', '=', id).execute();
    await trx.deleteFrom('floating_ip').where('id', '=', id).execute();
    await deletePortInternal(c, trx, f.floating_port_id);
  }
}

export async function deleteFloatingIp(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  await getFloatingIp(c, caller, id);
  await c.db.transaction().execute((trx) => deleteFloatingIpsInternal(c, trx, [id]));
  c.notifyChanged('floatingip-deleted');
}

// ---- port forwardings (floating-ip-port-forwarding) ----

export interface NewPortForwarding { internalPortId: string; internalIpAddress: string; internalPort: number; externalPort: number; protocol: string; description: string }

const PF_PROTOCOLS = ['tcp', 'udp'];

export async function listPortForwardings(c: NetworkContext, caller: Caller, fipId: string): Promise<PortForwardingRow[]> {
  await getFloatingIp(c, caller, fipId);
  return c.db.selectFrom('port_forwarding').selectAll().where('floatingip_id', '=', fipId).execute();
}

export async function getPortForwarding(c: NetworkContext, caller: Caller, fipId: string, id: string): Promise<PortForwardingRow> {
  await getFloatingIp(c, caller, fipId);
  const pf = await c.db.selectFrom('port_forwarding').selectAll().where('floatingip_id', '=', fipId).where('id', '=', id).executeTakeFirst();
  if (!pf) throw notFoundOf('port_forwarding', id);
  return pf;
}

function checkPfValues(v: { internalPort?: number; externalPort?: number; protocol?: string }): void {
  for (const [k, p] of [['internal_port', v.internalPort], ['external_port', v.externalPort]] as const) {
    if (p !== undefined && (!Number.isInteger(p) || p < 1 || p > 65535)) throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${p}' is not a valid port number.`);
  }
  if (v.protocol !== undefined && !PF_PROTOCOLS.includes(v.protocol)) {
    throw neutronError(400, 'InvalidInput', `Invalid input for protocol. Reason: '${v.protocol}' is not in ${JSON.stringify(PF_PROTOCOLS)}.`);
  }
}

/** The router the forwarded address is reached through; also what the floating IP's router_id becomes. */
async function pfRouter(trx: Kysely<NetworkDB>, caller: Caller, f: FloatingIpRow, portId: string, ip: string): Promise<string> {
  const port = await trx.selectFrom('port').selectAll().where('id', '=', portId).executeTakeFirst();
  if (!port || (!caller.isAdmin && port.project_id !== caller.projectId)) throw notFoundOf('port', portId);
  const ips = (await portIps(trx, [port.id])).get(port.id) ?? [];
  const fixed = ips.find((i) => i.ip_address === normIp(ip));
  if (!fixed) throw badRequestOf('port_forwarding', `The Port ${portId} does not have IP address ${ip}`);
  const [router] = await routersBetween(trx, fixed.subnet_id, f.floating_network_id);
  if (!router) throw neutronError(404, 'ExternalGatewayForFloatingIPNotFound', `External network ${f.floating_network_id} is not reachable from subnet ${fixed.subnet_id}.  Therefore, cannot associate Port ${portId} with a Floating IP.`);
  if (f.router_id && f.router_id !== router.id) throw badRequestOf('port_forwarding', `The internal port ${portId} is behind router ${router.id}, not ${f.router_id} that the floating IP's other port forwardings use`);
  return router.id;
}

const duplicatePf = () => badRequestOf('port_forwarding', 'A duplicate port forwarding entry with same attributes already exists');

async function checkPfUnique(trx: Kysely<NetworkDB>, pf: PortForwardingRow): Promise<void> {
  const others = await trx.selectFrom('port_forwarding').selectAll().where('id', '!=', pf.id).where('protocol', '=', pf.protocol)
    .where((eb) => eb.or([
      eb.and([eb('floatingip_id', '=', pf.floatingip_id), eb('external_port', '=', pf.external_port)]),
      eb.and([eb('internal_port_id', '=', pf.internal_port_id), eb('internal_ip_address', '=', pf.internal_ip_address), eb('internal_port', '=', pf.internal_port)]),
    ])).executeTakeFirst();
  if (others) throw duplicatePf();
}

export async function createPortForwarding(c: NetworkContext, caller: Caller, fipId: string, n: NewPortForwarding): Promise<PortForwardingRow> {
  await getFloatingIp(c, caller, fipId);
  checkPfValues(n);
  const row = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `floatingip:${fipId}`);
    const f = await trx.selectFrom('floating_ip').selectAll().where('id', '=', fipId).executeTakeFirstOrThrow();
    if (f.port_id) {
      throw neutronError(409, 'FloatingIPPortAlreadyAssociated', `Cannot associate floating IP ${f.floating_ip_address} (${f.id}) with port forwardings, as it is associated with port ${f.port_id}.`);
    }
    const routerId = await pfRouter(trx, caller, f, n.internalPortId, n.internalIpAddress);
    const pf: PortForwardingRow = {
      id: randomUUID(), floatingip_id: fipId, internal_port_id: n.internalPortId, internal_ip_address: normIp(n.internalIpAddress),
      internal_port: n.internalPort, external_port: n.externalPort, protocol: n.protocol, description: n.description,
    };
    await checkPfUnique(trx, pf);
    try {
      await trx.insertInto('port_forwarding').values(pf).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw duplicatePf();
      throw e;
    }
    await trx.updateTable('floating_ip').set({ router_id: routerId, revision_number: f.revision_number + 1, updated_at: neutronNow() }).where('id', '=', fipId).execute();
    return pf;
  });
  c.notifyChanged('port-forwarding-created');
  return row;
}

export async function updatePortForwarding(c: NetworkContext, caller: Caller, fipId: string, id: string, ch: Partial<NewPortForwarding>): Promise<PortForwardingRow> {
  await getPortForwarding(c, caller, fipId, id);
  checkPfValues(ch);
  const row = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `floatingip:${fipId}`);
    const f = await trx.selectFrom('floating_ip').selectAll().where('id', '=', fipId).executeTakeFirstOrThrow();
    const cur = await trx.selectFrom('port_forwarding').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const pf: PortForwardingRow = {
      ...cur,
      internal_port_id: ch.internalPortId ?? cur.internal_port_id,
      internal_ip_address: ch.internalIpAddress !== undefined ? normIp(ch.internalIpAddress) : cur.internal_ip_address,
      internal_port: ch.internalPort ?? cur.internal_port, external_port: ch.externalPort ?? cur.external_port,
      protocol: ch.protocol ?? cur.protocol, description: ch.description ?? cur.description,
    };
    if (ch.internalPortId !== undefined || ch.internalIpAddress !== undefined) {
      const others = await trx.selectFrom('port_forwarding').select('id').where('floatingip_id', '=', fipId).where('id', '!=', id).executeTakeFirst();
      const routerId = await pfRouter(trx, caller, { ...f, router_id: others ? f.router_id : null }, pf.internal_port_id, pf.internal_ip_address);
      await trx.updateTable('floating_ip').set({ router_id: routerId }).where('id', '=', fipId).execute();
    }
    await checkPfUnique(trx, pf);
    await trx.updateTable('port_forwarding').set(pf).where('id', '=', id).execute();
    return pf;
  });
  c.notifyChanged('port-forwarding-updated');
  return row;
}

export async function deletePortForwarding(c: NetworkContext, caller: Caller, fipId: string, id: string): Promise<void> {
  await getPortForwarding(c, caller, fipId, id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `floatingip:${fipId}`);
    await trx.deleteFrom('port_forwarding').where('id', '=', id).execute();
    await releasePfRouter(trx, [fipId]);
  });
  c.notifyChanged('port-forwarding-deleted');
}

/** A floating IP without port forwardings nor port is behind no router. */
export async function releasePfRouter(trx: Kysely<NetworkDB>, fipIds: string[]): Promise<void> {
  for (const fipId of fipIds) {
    const left = await trx.selectFrom('port_forwarding').select('id').where('floatingip_id', '=', fipId).executeTakeFirst();
    if (!left) await trx.updateTable('floating_ip').set({ router_id: null }).where('id', '=', fipId).where('port_id', 'is', null).execute();
  }
}

/**
 * Port deletion hook: forwardings to the port go (Neutron deletes them with the port); floating
 * IPs on it are disassociated by deletePortInternal.
 */
export async function dropPortForwardingsOfPort(trx: Kysely<NetworkDB>, portId: string): Promise<void> {
  const rows = await trx.selectFrom('port_forwarding').select(['id', 'floatingip_id']).where('internal_port_id', '=', portId).execute();
  if (rows.length === 0) return;
  await trx.deleteFrom('port_forwarding').where('internal_port_id', '=', portId).execute();
  await releasePfRouter(trx, [...new Set(rows.map((r) => r.floatingip_id))]);
}
