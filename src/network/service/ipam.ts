/**
 * IP address management: hands out addresses of a network's subnets to a port, inside the
 * port's transaction. Exact under concurrency: on PostgreSQL each subnet is locked (advisory,
 * in id order) before an address is picked, SQLite writers are serial, and the primary key
 * (subnet_id, ip_address) of ip_allocation refuses a second holder whatever happens.
 */
import type { Kysely } from 'kysely';
import { fromJson, isUniqueViolation, lockKey } from '../../core/db/database.js';
import type { NetworkDB, SubnetRow } from '../db/schema.js';
import type { NetworkContext } from './context.js';
import { invalidInput, neutronError } from './errors.js';
import { cidrContains, eui64, formatIp, parseCidr, parseIp, type Cidr, type IpRange } from './ip-math.js';

export interface FixedIpRequest { subnetId?: string; ipAddress?: string }
export interface FixedIp { subnet_id: string; ip_address: string }

/** Device owners of router ports: they take addresses (the gateway) that others may not. */
export const ROUTER_OWNERS = ['network:router_interface', 'network:router_interface_distributed', 'network:ha_router_replicated_interface', 'network:router_gateway', 'network:router_centralized_snat'];

/** SLAAC and DHCPv6-stateless subnets: hosts form their own address (EUI-64 of the MAC). */
export const isAutoAddress = (s: Pick<SubnetRow, 'ip_version' | 'ipv6_address_mode' | 'ipv6_ra_mode'>): boolean =>
  s.ip_version === 6 && (s.ipv6_address_mode === 'slaac' || s.ipv6_address_mode === 'dhcpv6-stateless');

export function poolsOf(s: SubnetRow): IpRange[] {
  return fromJson<{ start: string; end: string }[]>(s.allocation_pools, []).map((p) => ({ start: parseIp(p.start)!.value, end: parseIp(p.end)!.value }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

export const cidrOf = (s: SubnetRow): Cidr => parseCidr(s.cidr)!;

/** Whether an address may be given to a port at all: not the network address, nor the IPv4 broadcast. */
export function usableInSubnet(s: SubnetRow, value: bigint): boolean {
  const c = cidrOf(s);
  if (!cidrContains(c, { version: c.version, value })) return false;
  const size = 1n << BigInt((c.version === 4 ? 32 : 128) - c.prefixlen);
  if (size <= 2n) return true;
  if (value === c.network) return false;
  return !(c.version === 4 && value === c.network + size - 1n);
}

/** Serialises address picking per subnet (PostgreSQL; SQLite writers are serial). Ids sorted: no deadlocks. */
export async function lockSubnets(c: NetworkContext, trx: Kysely<NetworkDB>, subnetIds: string[]): Promise<void> {
  for (const id of [...new Set(subnetIds)].sort()) await lockKey(trx, c.kind, `subnet:${id}`);
}

/** The lowest free address of a subnet's pools, or null when they are full. Walks past taken ones only. */
export async function lowestFree(db: Kysely<NetworkDB>, s: SubnetRow): Promise<bigint | null> {
  return lowestFreeExcept(db, s, new Set());
}

async function isTaken(db: Kysely<NetworkDB>, subnetId: string, ip: string): Promise<boolean> {
  return !!(await db.selectFrom('ip_allocation').select('port_id').where('subnet_id', '=', subnetId).where('ip_address', '=', ip).executeTakeFirst());
}

const exhausted = (networkId: string) => neutronError(409, 'IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);
const alreadyAllocated = (ip: string, subnetId: string) => neutronError(409, 'IpAddressAlreadyAllocated', `IP address ${ip} already allocated in subnet ${subnetId}`);

export interface PortForIpam { id: string; network_id: string; mac_address: string; device_owner: string }

/**
 * Resolves a port's fixed_ips request into concrete addresses (without storing them).
 * Undefined means Neutron's default: one address from the IPv4 subnets, one from the
 * stateful IPv6 subnets, and the EUI-64 address on every auto-address IPv6 subnet.
 */
async function choose(db: Kysely<NetworkDB>, port: PortForIpam, subnets: SubnetRow[], requests: FixedIpRequest[] | undefined, keep: FixedIp[] = []): Promise<FixedIp[]> {
  const out: FixedIp[] = [];
  const picked = new Set<string>();
  const kept = (sid: string, ip: string) => keep.some((k) => k.subnet_id === sid && k.ip_address === ip);
  const take = (subnet_id: string, ip_address: string) => {
    const key = `${subnet_id}|${ip_address}`;
    if (picked.has(key)) return;
    picked.add(key);
    out.push({ subnet_id, ip_address });
  };
  const isRouter = ROUTER_OWNERS.includes(port.device_owner);
  const pickFrom = async (s: SubnetRow): Promise<string | null> => {
    if (isAutoAddress(s) && !isRouter) return formatIp(eui64(cidrOf(s), port.mac_address), 6);
    // skip addresses picked earlier in this same request
    const v = await lowestFreeExcept(db, s, picked);
    return v === null ? null : formatIp(v, s.ip_version as 4 | 6);
  };

  if (requests === undefined) {
    const v4 = subnets.filter((s) => s.ip_version === 4);
    const v6Stateful = subnets.filter((s) => s.ip_version === 6 && !isAutoAddress(s));
    const v6Auto = subnets.filter((s) => isAutoAddress(s));
    for (const group of [v4, isRouter ? [] : v6Stateful]) {
      if (group.length === 0) continue;
      let got = false;
      for (const s of group) {
        const ip = await pickFrom(s);
        if (ip !== null) { take(s.id, ip); got = true; break; }
      }
      if (!got) throw exhausted(port.network_id);
    }
    if (!isRouter) for (const s of v6Auto) take(s.id, formatIp(eui64(cidrOf(s), port.mac_address), 6));
    return out;
  }

  for (const r of requests) {
    if (r.ipAddress !== undefined) {
      const ip = parseIp(r.ipAddress);
      if (!ip) throw invalidInput(`'${r.ipAddress}' is not a valid IP address.`);
      const text = formatIp(ip.value, ip.version);
      let s: SubnetRow | undefined;
      if (r.subnetId !== undefined) {
        s = subnets.find((x) => x.id === r.subnetId);
        if (!s) throw invalidInput(`Failed to create port on network ${port.network_id}, because fixed_ips included invalid subnet ${r.subnetId}.`);
        if (!usableInSubnet(s, ip.value)) throw invalidInput(`IP address ${r.ipAddress} is not a valid IP for the specified subnet.`);
      } else {
        s = subnets.find((x) => usableInSubnet(x, ip.value));
        if (!s) throw invalidInput(`IP address ${r.ipAddress} is not a valid IP for any of the subnets on the specified network.`);
      }
      if (isAutoAddress(s) && !isRouter) {
        throw invalidInput(`IPv6 address ${text} cannot be directly assigned to a port on subnet ${s.id} with ${s.ipv6_address_mode} address mode`);
      }
      if (picked.has(`${s.id}|${text}`)) throw alreadyAllocated(text, s.id);
      if (!kept(s.id, text) && await isTaken(db, s.id, text)) throw alreadyAllocated(text, s.id);
      take(s.id, text);
    } else if (r.subnetId !== undefined) {
      const s = subnets.find((x) => x.id === r.subnetId);
      if (!s) throw invalidInput(`Failed to create port on network ${port.network_id}, because fixed_ips included invalid subnet ${r.subnetId}.`);
      // an update naming only the subnet keeps the address the port already has there
      const had = keep.find((k) => k.subnet_id === s.id && !picked.has(`${k.subnet_id}|${k.ip_address}`) && !requests.some((q) => q.ipAddress !== undefined && normalize(q.ipAddress) === k.ip_address));
      if (had) { take(had.subnet_id, had.ip_address); continue; }
      const ip = await pickFrom(s);
      if (ip === null) throw exhausted(port.network_id);
      take(s.id, ip);
    } else {
      throw invalidInput('Invalid fixed_ips: each entry needs a subnet_id or an ip_address.');
    }
  }
  return out;
}

const normalize = (ip: string) => { const p = parseIp(ip); return p ? formatIp(p.value, p.version) : ip; };

async function lowestFreeExcept(db: Kysely<NetworkDB>, s: SubnetRow, picked: Set<string>): Promise<bigint | null> {
  const rows = await db.selectFrom('ip_allocation').select('ip_address').where('subnet_id', '=', s.id).execute();
  const taken = new Set(rows.map((r) => parseIp(r.ip_address)?.value ?? -1n));
  for (const key of picked) {
    const [sid, ip] = key.split('|');
    if (sid === s.id) taken.add(parseIp(ip)!.value);
  }
  for (const p of poolsOf(s)) {
    for (let v = p.start; v <= p.end; v++) if (!taken.has(v)) return v;
  }
  return null;
}

/**
 * Allocates a new port's addresses and stores them. Call inside the port-creating
 * transaction, after the port row exists.
 */
export async function allocateIps(c: NetworkContext, trx: Kysely<NetworkDB>, port: PortForIpam, requests: FixedIpRequest[] | undefined): Promise<FixedIp[]> {
  const subnets = await trx.selectFrom('subnet').selectAll().where('network_id', '=', port.network_id).orderBy('created_at').orderBy('id').execute();
  await lockSubnets(c, trx, subnets.map((s) => s.id));
  const ips = await choose(trx, port, subnets, requests);
  await store(trx, port, ips);
  return ips;
}

/**
 * Replaces a port's addresses with a new fixed_ips request: addresses asked again are kept,
 * the others released, new ones allocated.
 */
export async function reallocateIps(c: NetworkContext, trx: Kysely<NetworkDB>, port: PortForIpam, requests: FixedIpRequest[]): Promise<FixedIp[]> {
  const subnets = await trx.selectFrom('subnet').selectAll().where('network_id', '=', port.network_id).orderBy('created_at').orderBy('id').execute();
  await lockSubnets(c, trx, subnets.map((s) => s.id));
  const current = await trx.selectFrom('ip_allocation').select(['subnet_id', 'ip_address']).where('port_id', '=', port.id).execute();
  const wanted = await choose(trx, port, subnets, requests, current);
  const key = (f: FixedIp) => `${f.subnet_id}|${f.ip_address}`;
  const wantedKeys = new Set(wanted.map(key));
  const currentKeys = new Set(current.map(key));
  for (const f of current) {
    if (!wantedKeys.has(key(f))) await trx.deleteFrom('ip_allocation').where('subnet_id', '=', f.subnet_id).where('ip_address', '=', f.ip_address).execute();
  }
  await store(trx, port, wanted.filter((f) => !currentKeys.has(key(f))));
  return wanted;
}

/** Adds one address of a (new) subnet to a port, e.g. the DHCP port when a subnet appears. */
export async function allocateOnSubnet(c: NetworkContext, trx: Kysely<NetworkDB>, port: PortForIpam, subnet: SubnetRow): Promise<FixedIp | null> {
  await lockSubnets(c, trx, [subnet.id]);
  const ips = await choose(trx, port, [subnet], [{ subnetId: subnet.id }]).catch((e: unknown) => {
    if ((e as { type?: string }).type === 'IpAddressGenerationFailure') return [];
    throw e;
  });
  await store(trx, port, ips);
  return ips[0] ?? null;
}

async function store(trx: Kysely<NetworkDB>, port: PortForIpam, ips: FixedIp[]): Promise<void> {
  if (ips.length === 0) return;
  for (const f of ips) {
    // the primary key is the last guard against a double hand-out
    try {
      await trx.insertInto('ip_allocation').values({ subnet_id: f.subnet_id, ip_address: f.ip_address, network_id: port.network_id, port_id: port.id }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyAllocated(f.ip_address, f.subnet_id);
      throw e;
    }
  }
}

/** Frees a port's addresses (all, or those on one subnet). */
export async function releaseIps(trx: Kysely<NetworkDB>, portId: string, subnetId?: string): Promise<void> {
  let q = trx.deleteFrom('ip_allocation').where('port_id', '=', portId);
  if (subnetId !== undefined) q = q.where('subnet_id', '=', subnetId);
  await q.execute();
}
