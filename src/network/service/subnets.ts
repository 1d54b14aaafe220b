/**
 * Subnets: CIDR (given or from a subnet pool), gateway, allocation pools, DNS, host routes,
 * IPv6 modes; the network's DHCP port follows the DHCP-enabled subnets.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { fromJson, lockKey, toJson } from '../../core/db/database.js';
import type { NetworkDB, NetworkRow, SubnetRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { invalidInput, neutronError, notFoundOf } from './errors.js';
import { cidrContains, cidrsOverlap, defaultPools, formatCidr, formatIp, lastOf, parseCidr, parseIp, rangesOverlap, type Cidr, type IpRange } from './ip-math.js';
import { allocateOnSubnet, isAutoAddress, lowestFree, releaseIps } from './ipam.js';
import { canSeeNetwork, getNetwork } from './networks.js';
import { createPortInternal, deletePortInternal } from './ports.js';
import { checkQuota } from './quotas.js';
import { allocateFromPool, defaultPool, getSubnetPool } from './subnetpools.js';

export const DHCP_OWNER = 'network:dhcp';
const IPV6_MODES = ['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'];
const MAX_DNS = 5;
const MAX_ROUTES = 20;

export interface Pool { start: string; end: string }
export interface HostRoute { destination: string; nexthop: string }

export interface NewSubnet {
  projectId: string; networkId: string; name: string; description: string; ipVersion: number;
  cidr?: string; gatewayIp?: string | null; allocationPools?: unknown; dnsNameservers?: unknown; hostRoutes?: unknown;
  enableDhcp: boolean; ipv6RaMode?: string | null; ipv6AddressMode?: string | null;
  subnetpoolId?: string | null; useDefaultSubnetpool?: boolean; prefixlen?: number; serviceTypes?: unknown; segmentId?: string | null;
}

/** A caller sees a subnet when it sees the subnet's network. */
export async function getSubnet(c: NetworkContext, caller: Caller, id: string): Promise<SubnetRow> {
  const s = await c.db.selectFrom('subnet').selectAll().where('id', '=', id).executeTakeFirst();
  if (!s) throw notFoundOf('subnet', id);
  if (!caller.isAdmin && s.project_id !== caller.projectId) {
    const n = await c.db.selectFrom('network').selectAll().where('id', '=', s.network_id).executeTakeFirst();
    if (!n || !(await subnetsVisible(c, caller, n))) throw notFoundOf('subnet', id);
  }
  return s;
}

/** Neutron shows a network's subnets to those it is shared with, not to everyone who sees it as external. */
async function subnetsVisible(c: NetworkContext, caller: Caller, n: NetworkRow): Promise<boolean> {
  if (n.project_id === caller.projectId || n.shared) return true;
  return canSeeNetwork(c.db, caller, { ...n, external: 0 });
}

export async function listSubnets(c: NetworkContext, caller: Caller): Promise<SubnetRow[]> {
  const rows = await c.db.selectFrom('subnet').selectAll().execute();
  if (caller.isAdmin) return rows;
  const nets = await c.db.selectFrom('network').selectAll().execute();
  const visible = new Set<string>();
  for (const n of nets) if (await subnetsVisible(c, caller, n)) visible.add(n.id);
  return rows.filter((s) => s.project_id === caller.projectId || visible.has(s.network_id));
}

function parseIpVersioned(v: unknown, version: number, what: string) {
  const ip = parseIp(v);
  if (!ip) throw neutronError(400, 'InvalidInput', `Invalid input for ${what}. Reason: '${String(v)}' is not a valid IP address.`);
  if (ip.version !== version) throw invalidInput(`${what} '${String(v)}' does not match the ip_version '${version}'`);
  return ip;
}

function parseDns(raw: unknown, version: number): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for dns_nameservers. Reason: '${String(raw)}' is not a list.`);
  if (raw.length > MAX_DNS) throw neutronError(400, 'DNSNameServersExhausted', `Unable to complete operation for subnet. The number of DNS nameservers exceeds the limit ${MAX_DNS}.`);
  const out = raw.map((d) => {
    const ip = parseIp(d);
    if (!ip) throw neutronError(400, 'InvalidInput', `Invalid input for dns_nameservers. Reason: '${String(d)}' is not a valid nameserver. '${String(d)}' is not a valid IP address.`);
    if (ip.version !== version) throw invalidInput(`Error parsing dns address ${String(d)}`);
    return formatIp(ip.value, ip.version);
  });
  const dup = out.find((d, i) => out.indexOf(d) !== i);
  if (dup) throw neutronError(400, 'InvalidInput', `Invalid input for dns_nameservers. Reason: Duplicate nameserver '${dup}'.`);
  return out;
}

function parseRoutes(raw: unknown, version: number): HostRoute[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for host_routes. Reason: '${String(raw)}' is not a list.`);
  if (raw.length > MAX_ROUTES) throw neutronError(400, 'HostRoutesExhausted', `Unable to complete operation for subnet. The number of host routes exceeds the limit ${MAX_ROUTES}.`);
  const out = raw.map((r) => {
    const o = r as Record<string, unknown>;
    const dest = parseCidr(o?.destination);
    const hop = parseIp(o?.nexthop);
    if (!o || typeof o !== 'object' || !dest || !hop) throw neutronError(400, 'InvalidInput', `Invalid input for host_routes. Reason: Invalid data format for hostroute: '${JSON.stringify(r)}'.`);
    if (dest.version !== version || hop.version !== version) throw invalidInput(`Invalid route: ${JSON.stringify(r)}`);
    return { destination: formatCidr(dest), nexthop: formatIp(hop.value, hop.version) };
  });
  const keys = out.map((r) => `${r.destination}|${r.nexthop}`);
  if (new Set(keys).size !== keys.length) throw neutronError(400, 'InvalidInput', 'Invalid input for host_routes. Reason: Duplicate hostroute.');
  return out;
}

function parsePools(raw: unknown, cidr: Cidr, subnetId: string): IpRange[] {
  if (!Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for allocation_pools. Reason: '${String(raw)}' is not a list.`);
  const ranges = raw.map((p) => {
    const o = p as Record<string, unknown>;
    const start = parseIp(o?.start);
    const end = parseIp(o?.end);
    if (!start || !end || start.version !== end.version || start.value > end.value) {
      throw neutronError(400, 'InvalidAllocationPool', `The allocation pool ${o?.start}-${o?.end} is not valid.`);
    }
    const r = { start: start.value, end: end.value };
    if (start.version !== cidr.version || !cidrContains(cidr, start) || !cidrContains(cidr, end)) {
      throw neutronError(400, 'OutOfBoundsAllocationPool', `The allocation pool ${o.start}-${o.end} spans beyond the subnet cidr ${formatCidr(cidr)}.`);
    }
    return r;
  });
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangesOverlap(ranges[i], ranges[j])) {
        const f = (r: IpRange) => `${formatIp(r.start, cidr.version)}-${formatIp(r.end, cidr.version)}`;
        throw neutronError(400, 'OverlappingAllocationPools', `Found overlapping allocation pools: ${f(ranges[i])} and ${f(ranges[j])} for subnet ${formatCidr(cidr)}.`);
      }
    }
  }
  void subnetId;
  return ranges;
}

const poolsJson = (ranges: IpRange[], version: 4 | 6) => toJson(ranges.map((r) => ({ start: formatIp(r.start, version), end: formatIp(r.end, version) })));

function checkGatewayNotInPools(gw: bigint | null, ranges: IpRange[], version: 4 | 6): void {
  if (gw === null) return;
  const hit = ranges.find((r) => gw >= r.start && gw <= r.end);
  if (hit) {
    throw neutronError(409, 'GatewayConflictWithAllocationPools', `Gateway ip ${formatIp(gw, version)} conflicts with allocation pool ${formatIp(hit.start, version)}-${formatIp(hit.end, version)}.`);
  }
}

function checkGateway(cidr: Cidr, gw: bigint): void {
  const size = lastOf(cidr) - cidr.network + 1n;
  if (size > 2n && (gw === cidr.network || (cidr.version === 4 && gw === lastOf(cidr)))) {
    throw invalidInput(`Gateway is not valid on subnet`);
  }
}

function checkIpv6Modes(n: { ipVersion: number; enableDhcp: boolean; ipv6RaMode?: string | null; ipv6AddressMode?: string | null }, cidr?: Cidr): void {
  const ra = n.ipv6RaMode ?? null;
  const am = n.ipv6AddressMode ?? null;
  for (const [k, v] of [['ipv6_ra_mode', ra], ['ipv6_address_mode', am]] as const) {
    if (v !== null && !IPV6_MODES.includes(v)) throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${v}' is not in [${IPV6_MODES.map((m) => `'${m}'`).join(', ')}].`);
  }
  if (ra === null && am === null) return;
  if (n.ipVersion !== 6) throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when ip_version is 4');
  if (!n.enableDhcp) throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False.');
  if (ra !== null && am !== null && ra !== am) {
    throw invalidInput(`ipv6_ra_mode set to '${ra}' with ipv6_address_mode set to '${am}' is not valid. If both attributes are set, they must be the same value`);
  }
  const auto = am === 'slaac' || am === 'dhcpv6-stateless' || (am === null && (ra === 'slaac' || ra === 'dhcpv6-stateless'));
  if (auto && cidr && cidr.prefixlen !== 64) {
    throw invalidInput(`Invalid CIDR ${formatCidr(cidr)} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64`);
  }
}

export async function createSubnet(c: NetworkContext, caller: Caller, n: NewSubnet, db?: Kysely<NetworkDB>): Promise<SubnetRow> {
  if (n.ipVersion !== 4 && n.ipVersion !== 6) throw neutronError(400, 'InvalidInput', `Invalid input for ip_version. Reason: '${n.ipVersion}' is not in [4, 6].`);
  const net = await getNetwork(c, caller, n.networkId);
  if (!caller.isAdmin && net.project_id !== caller.projectId) {
    throw neutronError(403, 'PolicyNotAuthorized', `(rule:create_subnet) is disallowed by policy`);
  }
  let cidr: Cidr | undefined;
  if (n.cidr !== undefined && n.cidr !== null) {
    cidr = parseCidr(n.cidr) ?? undefined;
    if (!cidr) throw neutronError(400, 'InvalidInput', `Invalid input for cidr. Reason: '${n.cidr}' is not a valid IP subnet.`);
    if (cidr.hostBits) throw neutronError(400, 'InvalidInput', `Invalid input for cidr. Reason: '${n.cidr}' isn't a recognized IP subnet cidr, '${formatCidr(cidr)}' is recommended.`);
    if (cidr.version !== n.ipVersion) throw invalidInput(`Cidr ${n.cidr} does not match ip_version ${n.ipVersion}`);
  }
  if (n.subnetpoolId && n.useDefaultSubnetpool) throw neutronError(400, 'BadRequest', 'Bad subnets request: subnetpool_id and use_default_subnetpool cannot both be specified.');
  if (!cidr && !n.subnetpoolId && !n.useDefaultSubnetpool) throw neutronError(400, 'BadRequest', 'Bad subnets request: a subnetpool must be specified in the absence of a cidr.');
  if (cidr && n.prefixlen !== undefined && !n.subnetpoolId && !n.useDefaultSubnetpool) throw neutronError(400, 'BadRequest', 'Bad subnets request: Cannot specify both cidr and prefixlen.');
  if (cidr) checkIpv6Modes(n, cidr);
  else checkIpv6Modes(n);
  const dns = parseDns(n.dnsNameservers, n.ipVersion);
  const routes = parseRoutes(n.hostRoutes, n.ipVersion);
  const now = neutronNow();
  const id = randomUUID();

  const run = async (trx: Kysely<NetworkDB>): Promise<SubnetRow> => {
    await lockKey(trx, c.kind, `network:${net.id}`);
    await checkQuota(trx, n.projectId, 'subnet');
    let poolId: string | null = null;
    if (n.subnetpoolId || n.useDefaultSubnetpool) {
      const pool = n.subnetpoolId ? await getSubnetPool(c, caller, n.subnetpoolId, trx) : await defaultPool(trx, n.ipVersion);
      if (pool.ip_version !== n.ipVersion) throw invalidInput(`Cannot allocate IPv${n.ipVersion} subnet from IPv${pool.ip_version} subnet pool`);
      poolId = pool.id;
      cidr = parseCidr(await allocateFromPool(c, trx, pool, { cidr, prefixlen: n.prefixlen, projectId: n.projectId }))!;
      checkIpv6Modes(n, cidr);
    }
    const cd = cidr!;
    // overlapping CIDRs on one network would make addresses ambiguous
    const others = await trx.selectFrom('subnet').select(['cidr']).where('network_id', '=', net.id).execute();
    if (others.some((o) => cidrsOverlap(parseCidr(o.cidr)!, cd))) {
      throw invalidInput(`Requested subnet with cidr: ${formatCidr(cd)} for network: ${net.id} overlaps with another subnet.`);
    }
    let gw: bigint | null;
    if (n.gatewayIp === null) gw = null;
    else if (n.gatewayIp === undefined) gw = lastOf(cd) - cd.network >= 2n ? cd.network + 1n : null;
    else {
      gw = parseIpVersioned(n.gatewayIp, n.ipVersion, 'gateway_ip').value;
      checkGateway(cd, gw);
    }
    let ranges: IpRange[];
    if (n.allocationPools === undefined || n.allocationPools === null) ranges = defaultPools(cd, gw);
    else {
      ranges = parsePools(n.allocationPools, cd, id);
      checkGatewayNotInPools(gw, ranges, cd.version);
    }
    const row: SubnetRow = {
      id, project_id: n.projectId, network_id: net.id, name: n.name, description: n.description, ip_version: n.ipVersion,
      cidr: formatCidr(cd), gateway_ip: gw === null ? null : formatIp(gw, cd.version), enable_dhcp: Number(n.enableDhcp),
      ipv6_ra_mode: n.ipv6RaMode ?? null, ipv6_address_mode: n.ipv6AddressMode ?? null, subnetpool_id: poolId,
      dns_nameservers: toJson(dns), host_routes: toJson(routes), allocation_pools: poolsJson(ranges, cd.version),
      service_types: toJson(Array.isArray(n.serviceTypes) ? n.serviceTypes : []), segment_id: n.segmentId ?? null,
      revision_number: 0, created_at: now, updated_at: now,
    };
    await trx.insertInto('subnet').values(row).execute();
    if (row.enable_dhcp) await addToDhcpPort(c, trx, net, row);
    await autoAddressExistingPorts(c, trx, row);
    return row;
  };
  const row = db ? await run(db) : await c.db.transaction().execute(run);
  c.notifyChanged('subnet-created');
  return row;
}

/** Gives the network's DHCP port an address on a DHCP-enabled subnet, creating the port if needed. */
async function addToDhcpPort(c: NetworkContext, trx: Kysely<NetworkDB>, net: NetworkRow, s: SubnetRow): Promise<void> {
  const dhcp = await trx.selectFrom('port').selectAll().where('network_id', '=', net.id).where('device_owner', '=', DHCP_OWNER).executeTakeFirst();
  if (!dhcp) {
    // a subnet without a free address (a /31, a full pool) gets no DHCP port
    if (!isAutoAddress(s) && (await lowestFree(trx, s)) === null) return;
    await createPortInternal(c, trx, { projectId: net.project_id, networkId: net.id, deviceOwner: DHCP_OWNER, deviceId: `dhcp${net.id}`, fixedIps: [{ subnetId: s.id }] });
    return;
  }
  await allocateOnSubnet(c, trx, dhcp, s);
}

/** A new SLAAC/DHCPv6-stateless subnet gives every existing (non-router) port its EUI-64 address, as Neutron does. */
async function autoAddressExistingPorts(c: NetworkContext, trx: Kysely<NetworkDB>, s: SubnetRow): Promise<void> {
  if (!isAutoAddress(s)) return;
  const ports = await trx.selectFrom('port').select(['id', 'network_id', 'mac_address', 'device_owner']).where('network_id', '=', s.network_id)
    .where('device_owner', 'not like', 'network:router%').where('device_owner', '!=', DHCP_OWNER).execute();
  for (const p of ports) await allocateOnSubnet(c, trx, p, s);
}

export interface SubnetChanges {
  name?: string; description?: string; gatewayIp?: string | null; allocationPools?: unknown; dnsNameservers?: unknown; hostRoutes?: unknown;
  enableDhcp?: boolean; serviceTypes?: unknown;
}

export async function updateSubnet(c: NetworkContext, caller: Caller, id: string, ch: SubnetChanges): Promise<SubnetRow> {
  const s = await getSubnet(c, caller, id);
  const net = await c.db.selectFrom('network').selectAll().where('id', '=', s.network_id).executeTakeFirstOrThrow();
  if (!caller.isAdmin && s.project_id !== caller.projectId && net.project_id !== caller.projectId) throw notFoundOf('subnet', id);
  const cidr = parseCidr(s.cidr)!;
  const enableDhcp = ch.enableDhcp ?? !!s.enable_dhcp;
  checkIpv6Modes({ ipVersion: s.ip_version, enableDhcp, ipv6RaMode: s.ipv6_ra_mode, ipv6AddressMode: s.ipv6_address_mode }, cidr);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `network:${s.network_id}`);
    const set: Partial<SubnetRow> = {};
    let gw = s.gateway_ip === null ? null : parseIp(s.gateway_ip)!.value;
    if (ch.gatewayIp !== undefined) {
      gw = ch.gatewayIp === null ? null : parseIpVersioned(ch.gatewayIp, s.ip_version, 'gateway_ip').value;
      if (gw !== null) checkGateway(cidr, gw);
      set.gateway_ip = gw === null ? null : formatIp(gw, cidr.version);
    }
    let ranges = fromJson<Pool[]>(s.allocation_pools, []).map((p) => ({ start: parseIp(p.start)!.value, end: parseIp(p.end)!.value }));
    if (ch.allocationPools !== undefined) {
      ranges = parsePools(ch.allocationPools ?? [], cidr, id);
      set.allocation_pools = poolsJson(ranges, cidr.version);
    }
    if (ch.gatewayIp !== undefined || ch.allocationPools !== undefined) checkGatewayNotInPools(gw, ranges, cidr.version);
    if (ch.gatewayIp !== undefined && gw !== null) {
      const holder = await trx.selectFrom('ip_allocation').innerJoin('port', 'port.id', 'ip_allocation.port_id').select(['port.device_owner'])
        .where('ip_allocation.subnet_id', '=', id).where('ip_allocation.ip_address', '=', formatIp(gw, cidr.version)).executeTakeFirst();
      if (holder && !holder.device_owner.startsWith('network:router')) {
        throw neutronError(409, 'IpAddressInUse', `Unable to complete operation for network ${s.network_id}. The IP address ${formatIp(gw, cidr.version)} is in use.`);
      }
    }
    if (ch.name !== undefined) set.name = ch.name;
    if (ch.description !== undefined) set.description = ch.description;
    if (ch.dnsNameservers !== undefined) set.dns_nameservers = toJson(parseDns(ch.dnsNameservers, s.ip_version));
    if (ch.hostRoutes !== undefined) set.host_routes = toJson(parseRoutes(ch.hostRoutes, s.ip_version));
    if (ch.serviceTypes !== undefined) set.service_types = toJson(Array.isArray(ch.serviceTypes) ? ch.serviceTypes : []);
    if (ch.enableDhcp !== undefined) set.enable_dhcp = Number(ch.enableDhcp);
    await trx.updateTable('subnet').set({ ...set, revision_number: s.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
    if (ch.enableDhcp !== undefined && ch.enableDhcp !== !!s.enable_dhcp) {
      const updated = await trx.selectFrom('subnet').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      if (ch.enableDhcp) await addToDhcpPort(c, trx, net, updated);
      else await dropFromDhcpPort(c, trx, s);
    }
  });
  c.notifyChanged('subnet-updated');
  return c.db.selectFrom('subnet').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Releases the DHCP port's address on a subnet; the port goes when it has no address left. */
async function dropFromDhcpPort(c: NetworkContext, trx: Kysely<NetworkDB>, s: SubnetRow): Promise<void> {
  const dhcp = await trx.selectFrom('port').select('id').where('network_id', '=', s.network_id).where('device_owner', '=', DHCP_OWNER).execute();
  for (const p of dhcp) {
    await releaseIps(trx, p.id, s.id);
    const left = await trx.selectFrom('ip_allocation').select('ip_address').where('port_id', '=', p.id).executeTakeFirst();
    if (!left) await deletePortInternal(c, trx, p.id);
  }
}

/**
 * Deletes a subnet: 409 SubnetInUse while a port other than the DHCP port holds an address
 * on it (auto-address IPv6 subnets excepted: those addresses simply go, as in Neutron).
 */
export async function deleteSubnet(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  const s = await getSubnet(c, caller, id);
  const net = await c.db.selectFrom('network').selectAll().where('id', '=', s.network_id).executeTakeFirstOrThrow();
  if (!caller.isAdmin && s.project_id !== caller.projectId && net.project_id !== caller.projectId) throw notFoundOf('subnet', id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `network:${s.network_id}`);
    await lockKey(trx, c.kind, `subnet:${id}`);
    const holders = await trx.selectFrom('ip_allocation').innerJoin('port', 'port.id', 'ip_allocation.port_id').select(['port.id', 'port.device_owner'])
      .where('ip_allocation.subnet_id', '=', id).execute();
    const blocking = holders.filter((h) => h.device_owner !== DHCP_OWNER && (!isAutoAddress(s) || h.device_owner.startsWith('network:router')));
    if (blocking.length) {
      throw neutronError(409, 'SubnetInUse', `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
    }
    await dropFromDhcpPort(c, trx, s);
    await trx.deleteFrom('ip_allocation').where('subnet_id', '=', id).execute();
    await trx.deleteFrom('tag').where('resource_id', '=', id).execute();
    await trx.deleteFrom('subnet').where('id', '=', id).execute();
  });
  c.notifyChanged('subnet-deleted');
}

export { poolsJson };
