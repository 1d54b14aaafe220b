/**
 * Routers (Neutron L3): the gateway leg on an external network, interfaces on tenant subnets,
 * extra routes. A router's legs are ports whose device_id is the router; the dataplane reads
 * them back with `routerLegs`.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { fromJson, lockKey, toJson } from '../../core/db/database.js';
import type { NetworkDB, PortRow, RouterRow, SubnetRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { badRequestOf, neutronError, notFoundOf } from './errors.js';
import { cidrContains, cidrsOverlap, formatCidr, formatIp, parseCidr, parseIp } from './ip-math.js';
import type { FixedIp, FixedIpRequest } from './ipam.js';
import { createPortInternal, deletePortInternal, getPort, portIps } from './ports.js';
import { checkQuota } from './quotas.js';
import { getSubnet } from './subnets.js';

export const GW_OWNER = 'network:router_gateway';
export const IF_OWNER = 'network:router_interface';
/** Every kind of router interface port Neutron knows (DVR and HA ones included). */
export const IF_OWNERS = [IF_OWNER, 'network:router_interface_distributed', 'network:ha_router_replicated_interface'];
const MAX_ROUTES = 30;

export interface Route { destination: string; nexthop: string }
export interface GatewayInfo { networkId: string; enableSnat?: boolean; fixedIps?: FixedIpRequest[] }

export interface NewRouter {
  projectId: string; name: string; description: string; adminStateUp: boolean;
  /** undefined / null: no gateway. */
  gateway?: GatewayInfo | null;
  availabilityZoneHints: string[];
}

export interface RouterChanges {
  name?: string; description?: string; adminStateUp?: boolean;
  /** null removes the gateway. */
  gateway?: GatewayInfo | null;
  routes?: Route[];
}

/** What add/remove_router_interface answer. */
export interface InterfaceInfo { id: string; tenant_id: string; project_id: string; subnet_id: string; subnet_ids: string[]; port_id: string; network_id: string }

export async function getRouter(c: NetworkContext, caller: Caller, id: string, db: Kysely<NetworkDB> = c.db): Promise<RouterRow> {
  const r = await db.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r || (!caller.isAdmin && r.project_id !== caller.projectId)) throw notFoundOf('router', id);
  return r;
}

export async function listRouters(c: NetworkContext, caller: Caller): Promise<RouterRow[]> {
  let q = c.db.selectFrom('router').selectAll();
  if (!caller.isAdmin) q = q.where('project_id', '=', caller.projectId);
  return q.execute();
}

/** The host whose L3 agent runs routers: the network node (the first L3 agent registered). */
async function l3Host(db: Kysely<NetworkDB>): Promise<string | null> {
  const a = await db.selectFrom('agent').select('host').where('agent_type', '=', 'L3 agent').orderBy('created_at').orderBy('id').executeTakeFirst();
  return a?.host ?? null;
}

/** A router's legs: the gateway port and the interface ports, with their addresses. */
export async function routerLegs(db: Kysely<NetworkDB>, routerId: string): Promise<{ gateway: { port: PortRow; ips: FixedIp[] } | null; interfaces: { port: PortRow; ips: FixedIp[] }[] }> {
  const ports = await db.selectFrom('port').selectAll().where('device_id', '=', routerId).where('device_owner', 'in', [GW_OWNER, ...IF_OWNERS]).orderBy('created_at').orderBy('id').execute();
  const ips = await portIps(db, ports.map((p) => p.id));
  const gw = ports.find((p) => p.device_owner === GW_OWNER);
  return {
    gateway: gw ? { port: gw, ips: ips.get(gw.id) ?? [] } : null,
    interfaces: ports.filter((p) => p.device_owner !== GW_OWNER).map((p) => ({ port: p, ips: ips.get(p.id) ?? [] })),
  };
}

/** A router's extra routes. */
export const routerRoutes = (r: RouterRow): Route[] => fromJson<Route[]>(r.routes, []);

/** Subnets behind a router's interfaces. */
async function interfaceSubnets(db: Kysely<NetworkDB>, routerId: string): Promise<SubnetRow[]> {
  return db.selectFrom('subnet').selectAll().where('id', 'in', (eb) => eb.selectFrom('ip_allocation').innerJoin('port', 'port.id', 'ip_allocation.port_id')
    .select('ip_allocation.subnet_id').where('port.device_id', '=', routerId).where('port.device_owner', 'in', IF_OWNERS)).execute();
}

/** Creates, replaces, or (null) removes a router's gateway port, inside the caller's transaction. */
async function setGateway(c: NetworkContext, trx: Kysely<NetworkDB>, r: RouterRow, gw: GatewayInfo | null): Promise<Partial<RouterRow>> {
  const current = r.gw_port_id ? await trx.selectFrom('port').selectAll().where('id', '=', r.gw_port_id).executeTakeFirst() : undefined;
  if (gw && current && gw.networkId === r.gw_network_id && gw.fixedIps === undefined) {
    return { enable_snat: Number(gw.enableSnat ?? !!r.enable_snat) };
  }
  if (current && (!gw || gw.networkId !== r.gw_network_id)) {
    const fip = await trx.selectFrom('floating_ip').select('id').where('router_id', '=', r.id).where('floating_network_id', '=', current.network_id).executeTakeFirst();
    if (fip) throw neutronError(409, 'RouterExternalGatewayInUseByFloatingIp', `Gateway cannot be updated for router ${r.id}, since a gateway to external network ${current.network_id} is required by one or more floating IPs.`);
  }
  if (!gw) {
    if (current) await deletePortInternal(c, trx, current.id);
    return { gw_network_id: null, gw_port_id: null, enable_snat: 1 };
  }
  const net = await trx.selectFrom('network').selectAll().where('id', '=', gw.networkId).executeTakeFirst();
  if (!net) throw notFoundOf('network', gw.networkId);
  if (!net.external) throw badRequestOf('router', `The network ${net.id} is not an external network`);
  const subnets = await trx.selectFrom('subnet').select('id').where('network_id', '=', net.id).execute();
  if (subnets.length === 0) throw badRequestOf('router', `No subnets are present on external network ${net.id}`);
  if (current) await deletePortInternal(c, trx, current.id);
  // the gateway port belongs to no project (Neutron hides it from the router's owner)
  const { port } = await createPortInternal(c, trx, {
    projectId: '', networkId: net.id, deviceOwner: GW_OWNER, deviceId: r.id, fixedIps: gw.fixedIps, portSecurityEnabled: false, securityGroups: [],
  });
  await trx.updateTable('port').set({ status: 'ACTIVE' }).where('id', '=', port.id).execute();
  return { gw_network_id: net.id, gw_port_id: port.id, enable_snat: Number(gw.enableSnat ?? true) };
}

export async function createRouter(c: NetworkContext, n: NewRouter): Promise<RouterRow> {
  const now = neutronNow();
  const row = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `router-create:${n.projectId}`);
    await checkQuota(trx, n.projectId, 'router');
    const r: RouterRow = {
      id: randomUUID(), project_id: n.projectId, name: n.name, description: n.description, admin_state_up: Number(n.adminStateUp),
      status: 'ACTIVE', gw_network_id: null, gw_port_id: null, enable_snat: 1, routes: '[]', distributed: 0, ha: 0,
      availability_zone_hints: toJson(n.availabilityZoneHints), host: await l3Host(trx), revision_number: 1, created_at: now, updated_at: now,
    };
    await trx.insertInto('router').values(r).execute();
    if (n.gateway) {
      const set = await setGateway(c, trx, r, n.gateway);
      await trx.updateTable('router').set(set).where('id', '=', r.id).execute();
    }
    return trx.selectFrom('router').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
  });
  c.notifyChanged('router-created');
  return row;
}

/** Extra routes: valid, unique, and each next hop on a subnet behind one of the router's interfaces. */
export async function checkRoutes(db: Kysely<NetworkDB>, routerId: string, routes: Route[]): Promise<Route[]> {
  const invalid = (why: string) => neutronError(400, 'InvalidRoutes', `Invalid format for routes: ${JSON.stringify(routes)}, ${why}`);
  if (routes.length > MAX_ROUTES) throw neutronError(400, 'RoutesExhausted', `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${MAX_ROUTES}.`);
  const subnets = (await interfaceSubnets(db, routerId)).map((s) => parseCidr(s.cidr)!);
  const legs = await routerLegs(db, routerId);
  const own = new Set(legs.interfaces.flatMap((l) => l.ips.map((i) => i.ip_address)));
  const out: Route[] = [];
  for (const rt of routes) {
    const dest = parseCidr(rt?.destination);
    const hop = parseIp(rt?.nexthop);
    if (!dest || !hop) throw neutronError(400, 'InvalidInput', `Invalid input for routes. Reason: Invalid data format for hostroute: '${JSON.stringify(rt)}'.`);
    if (dest.version !== hop.version) throw invalid('the nexthop and destination are of different IP versions');
    const nexthop = formatIp(hop.value, hop.version);
    if (!subnets.some((s) => cidrContains(s, hop))) throw invalid(`the nexthop is not connected with router`);
    if (own.has(nexthop)) throw invalid('the nexthop is used by router');
    const r = { destination: formatCidr(dest), nexthop };
    if (!out.some((o) => o.destination === r.destination && o.nexthop === r.nexthop)) out.push(r);
  }
  return out;
}

export async function updateRouter(c: NetworkContext, caller: Caller, id: string, ch: RouterChanges): Promise<RouterRow> {
  await getRouter(c, caller, id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `router:${id}`);
    const r = await trx.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    let set: Partial<RouterRow> = {};
    if (ch.gateway !== undefined) set = await setGateway(c, trx, r, ch.gateway);
    if (ch.routes !== undefined) set.routes = toJson(await checkRoutes(trx, id, ch.routes));
    if (ch.name !== undefined) set.name = ch.name;
    if (ch.description !== undefined) set.description = ch.description;
    if (ch.adminStateUp !== undefined) set.admin_state_up = Number(ch.adminStateUp);
    await trx.updateTable('router').set({ ...set, revision_number: r.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
  });
  c.notifyChanged('router-updated');
  return c.db.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Adds (`add`) or removes extra routes (extraroute-atomic), under the router's lock. */
export async function changeExtraRoutes(c: NetworkContext, caller: Caller, id: string, routes: Route[], add: boolean): Promise<RouterRow> {
  await getRouter(c, caller, id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `router:${id}`);
    const r = await trx.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const current = routerRoutes(r);
    const given = add ? await checkRoutes(trx, id, routes) : routes.map((x) => ({ destination: formatCidr(parseCidr(x?.destination) ?? badRoute(x)), nexthop: normIp(x?.nexthop) }));
    const same = (a: Route, b: Route) => a.destination === b.destination && a.nexthop === b.nexthop;
    const next = add ? [...current, ...given.filter((g) => !current.some((x) => same(x, g)))] : current.filter((x) => !given.some((g) => same(x, g)));
    if (next.length > MAX_ROUTES) throw neutronError(400, 'RoutesExhausted', `Unable to complete operation for ${id}. The number of routes exceeds the maximum ${MAX_ROUTES}.`);
    await trx.updateTable('router').set({ routes: toJson(next), revision_number: r.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
  });
  c.notifyChanged('router-routes');
  return c.db.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

const badRoute = (x: unknown): never => { throw neutronError(400, 'InvalidInput', `Invalid input for routes. Reason: Invalid data format for hostroute: '${JSON.stringify(x)}'.`); };
const normIp = (s: unknown): string => { const p = parseIp(s); return p ? formatIp(p.value, p.version) : badRoute(s); };

export async function deleteRouter(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  await getRouter(c, caller, id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `router:${id}`);
    const r = await trx.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFoundOf('router', id);
    const legs = await trx.selectFrom('port').select('id').where('device_id', '=', id).where('device_owner', 'in', IF_OWNERS).executeTakeFirst();
    if (legs) throw neutronError(409, 'RouterInUse', `Router ${id} still has ports`);
    const gws = await trx.selectFrom('port').select('id').where('device_id', '=', id).where('device_owner', '=', GW_OWNER).execute();
    for (const p of gws) await deletePortInternal(c, trx, p.id);
    await trx.updateTable('floating_ip').set({ router_id: null, port_id: null, fixed_ip_address: null, status: 'DOWN' }).where('router_id', '=', id).execute();
    await trx.updateTable('auto_allocated_topology').set({ router_id: null }).where('router_id', '=', id).execute();
    await trx.deleteFrom('tag').where('resource_id', '=', id).execute();
    await trx.deleteFrom('router').where('id', '=', id).execute();
  });
  c.notifyChanged('router-deleted');
}

/** Neutron refuses a subnet whose CIDR overlaps one already behind the router. */
function checkOverlap(existing: SubnetRow[], s: SubnetRow): void {
  const cidr = parseCidr(s.cidr)!;
  for (const e of existing) {
    if (e.id === s.id) throw badRequestOf('router', `Router already has a port on subnet ${s.id}`);
    if (cidrsOverlap(parseCidr(e.cidr)!, cidr)) {
      throw badRequestOf('router', `Cidr ${s.cidr} of subnet ${s.id} overlaps with cidr ${e.cidr} of subnet ${e.id}`);
    }
  }
}

const infoOf = (r: RouterRow, port: { id: string; network_id: string }, subnetIds: string[]): InterfaceInfo => ({
  id: r.id, tenant_id: r.project_id, project_id: r.project_id, subnet_id: subnetIds[0], subnet_ids: subnetIds, port_id: port.id, network_id: port.network_id,
});

export async function addRouterInterface(c: NetworkContext, caller: Caller, id: string, by: { subnetId?: string; portId?: string }): Promise<InterfaceInfo> {
  if (by.subnetId && by.portId) throw badRequestOf('router', 'Cannot specify both subnet-id and port-id');
  if (!by.subnetId && !by.portId) throw badRequestOf('router', 'Either subnet_id or port_id must be specified');
  await getRouter(c, caller, id);
  const subnet = by.subnetId ? await getSubnet(c, caller, by.subnetId) : undefined;
  const given = by.portId ? await getPort(c, caller, by.portId) : undefined;
  const info = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `router:${id}`);
    const r = await trx.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const existing = await interfaceSubnets(trx, id);
    if (subnet) {
      if (!subnet.gateway_ip) throw badRequestOf('router', `Subnet for router interface must have a gateway IP`);
      checkOverlap(existing, subnet);
      const { port } = await createPortInternal(c, trx, {
        projectId: subnet.project_id, networkId: subnet.network_id, deviceOwner: IF_OWNER, deviceId: id,
        fixedIps: [{ subnetId: subnet.id, ipAddress: subnet.gateway_ip }], securityGroups: [],
      }).catch((e: unknown) => {
        if ((e as { type?: string }).type === 'IpAddressAlreadyAllocated') {
          throw neutronError(409, 'IpAddressInUse', `Unable to complete operation for network ${subnet.network_id}. The IP address ${subnet.gateway_ip} is in use.`);
        }
        throw e;
      });
      await trx.updateTable('port').set({ status: 'ACTIVE' }).where('id', '=', port.id).execute();
      return infoOf(r, port, [subnet.id]);
    }
    const p = await trx.selectFrom('port').selectAll().where('id', '=', given!.id).executeTakeFirstOrThrow();
    if (p.device_id) throw neutronError(409, 'PortInUse', `Unable to complete operation on port ${p.id} for network ${p.network_id}. Port already has an attached device ${p.device_id}.`);
    const ips = (await portIps(trx, [p.id])).get(p.id) ?? [];
    if (ips.length === 0) throw badRequestOf('router', 'Router port must have at least one fixed IP');
    const subs = await trx.selectFrom('subnet').selectAll().where('id', 'in', [...new Set(ips.map((i) => i.subnet_id))]).execute();
    for (const s of subs) checkOverlap(existing, s);
    await trx.updateTable('port').set({ device_id: id, device_owner: IF_OWNER, status: 'ACTIVE', revision_number: p.revision_number + 1, updated_at: neutronNow() })
      .where('id', '=', p.id).execute();
    return infoOf(r, p, ips.map((i) => i.subnet_id));
  });
  await bumpRouter(c.db, id);
  c.notifyChanged('router-interface-added');
  return info;
}

export async function removeRouterInterface(c: NetworkContext, caller: Caller, id: string, by: { subnetId?: string; portId?: string }): Promise<InterfaceInfo> {
  if (!by.subnetId && !by.portId) throw badRequestOf('router', 'Either subnet_id or port_id must be specified');
  await getRouter(c, caller, id);
  const info = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `router:${id}`);
    const r = await trx.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const legs = (await routerLegs(trx, id)).interfaces;
    let leg: (typeof legs)[number] | undefined;
    if (by.portId) {
      leg = legs.find((l) => l.port.id === by.portId);
      if (!leg) throw neutronError(404, 'RouterInterfaceNotFound', `Router ${id} does not have an interface with id ${by.portId}`);
      if (by.subnetId && !leg.ips.some((i) => i.subnet_id === by.subnetId)) {
        throw neutronError(409, 'SubnetMismatchForPort', `Subnet on port ${by.portId} does not match the requested subnet ${by.subnetId}.`);
      }
    } else {
      leg = legs.find((l) => l.ips.some((i) => i.subnet_id === by.subnetId));
      if (!leg) throw neutronError(404, 'RouterInterfaceNotFoundForSubnet', `Router ${id} has no interface on subnet ${by.subnetId}`);
    }
    const subnetIds = by.portId ? [...new Set(leg.ips.map((i) => i.subnet_id))] : [by.subnetId!];
    const subs = subnetIds.length ? await trx.selectFrom('subnet').selectAll().where('id', 'in', subnetIds).execute() : [];
    for (const s of subs) await checkInterfaceUnused(trx, r, s);
    const keep = leg.ips.filter((i) => !subnetIds.includes(i.subnet_id));
    if (keep.length === 0) await deletePortInternal(c, trx, leg.port.id);
    else for (const sid of subnetIds) await trx.deleteFrom('ip_allocation').where('port_id', '=', leg.port.id).where('subnet_id', '=', sid).execute();
    return infoOf(r, leg.port, subnetIds);
  });
  await bumpRouter(c.db, id);
  c.notifyChanged('router-interface-removed');
  return info;
}

/** An interface stays while floating IPs or extra routes need its subnet. */
async function checkInterfaceUnused(trx: Kysely<NetworkDB>, r: RouterRow, s: SubnetRow): Promise<void> {
  const cidr = parseCidr(s.cidr)!;
  const fips = await trx.selectFrom('floating_ip').select(['fixed_ip_address']).where('router_id', '=', r.id).execute();
  const pfs = await trx.selectFrom('port_forwarding').innerJoin('floating_ip', 'floating_ip.id', 'port_forwarding.floatingip_id')
    .select('port_forwarding.internal_ip_address as ip').where('floating_ip.router_id', '=', r.id).execute();
  const inSubnet = (ip: string | null) => { const p = parseIp(ip); return !!p && cidrContains(cidr, p); };
  if (fips.some((f) => inSubnet(f.fixed_ip_address)) || pfs.some((p) => inSubnet(p.ip))) {
    throw neutronError(409, 'RouterInterfaceInUseByFloatingIP', `Router interface for subnet ${s.id} on router ${r.id} cannot be deleted, as it is required by one or more floating IPs.`);
  }
  const route = routerRoutes(r).find((rt) => inSubnet(rt.nexthop));
  if (route) {
    throw neutronError(409, 'RouterInterfaceInUseByRoute', `Router interface for subnet ${s.id} on router ${r.id} cannot be deleted, as it is required by one or more routes.`);
  }
}

async function bumpRouter(db: Kysely<NetworkDB>, id: string): Promise<void> {
  const r = await db.selectFrom('router').select('revision_number').where('id', '=', id).executeTakeFirst();
  if (r) await db.updateTable('router').set({ revision_number: r.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
}

/**
 * Routers with an interface on `subnetId` and a gateway on `externalNetworkId`: where a
 * floating IP for an address of that subnet is NATed (Neutron's _get_router_for_floatingip).
 */
export async function routersBetween(db: Kysely<NetworkDB>, subnetId: string, externalNetworkId: string): Promise<RouterRow[]> {
  return db.selectFrom('router').selectAll().where('gw_network_id', '=', externalNetworkId)
    .where('id', 'in', (eb) => eb.selectFrom('port').innerJoin('ip_allocation', 'ip_allocation.port_id', 'port.id').select('port.device_id')
      .where('ip_allocation.subnet_id', '=', subnetId).where('port.device_owner', 'in', IF_OWNERS))
    .orderBy('created_at').orderBy('id').execute();
}

/** Subnet ids a router's interfaces are on (for views of interface ports and checks). */
export async function routerSubnetIds(db: Kysely<NetworkDB>, routerId: string): Promise<string[]> {
  return (await interfaceSubnets(db, routerId)).map((s) => s.id);
}
