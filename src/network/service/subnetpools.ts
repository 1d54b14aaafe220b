/**
 * Subnet pools (subnet_allocation, default-subnetpools): prefixes a project's subnets take
 * their CIDRs from, the first free aligned block of the requested length.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { fromJson, lockKey, toJson } from '../../core/db/database.js';
import type { NetworkDB, SubnetPoolRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { invalidInput, neutronError, notFoundOf } from './errors.js';
import { bitsOf, cidrsOverlap, cidrWithin, formatCidr, lastOf, parseCidr, sizeOf, type Cidr, type IpVersion } from './ip-math.js';
import { checkQuota } from './quotas.js';

export const canSeePool = (caller: Caller, p: SubnetPoolRow): boolean => caller.isAdmin || !!p.shared || p.project_id === caller.projectId;

export async function getSubnetPool(c: NetworkContext, caller: Caller, id: string, db: Kysely<NetworkDB> = c.db): Promise<SubnetPoolRow> {
  const p = await db.selectFrom('subnet_pool').selectAll().where('id', '=', id).executeTakeFirst();
  if (!p || !canSeePool(caller, p)) throw notFoundOf('subnetpool', id);
  return p;
}

export async function listSubnetPools(c: NetworkContext, caller: Caller): Promise<SubnetPoolRow[]> {
  const rows = await c.db.selectFrom('subnet_pool').selectAll().execute();
  return rows.filter((p) => canSeePool(caller, p));
}

/** Merges overlapping/adjacent prefixes into their normal CIDR form (Neutron compacts the list). */
export function compactPrefixes(prefixes: Cidr[]): Cidr[] {
  const sorted = [...prefixes].sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : a.prefixlen - b.prefixlen));
  const out: Cidr[] = [];
  for (const p of sorted) if (!out.some((o) => cidrWithin(p, o))) out.push(p);
  return out;
}

export interface NewSubnetPool {
  projectId: string; name: string; description: string; prefixes: unknown; defaultPrefixlen?: number; minPrefixlen?: number; maxPrefixlen?: number;
  shared: boolean; isDefault: boolean; defaultQuota?: number | null; addressScopeId?: string | null;
}

function parsePrefixes(raw: unknown): Cidr[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalidInput('prefixes must be a non-empty list of CIDRs.');
  const out = raw.map((p) => {
    const c = parseCidr(p);
    if (!c) throw neutronError(400, 'InvalidInput', `Invalid input for prefixes. Reason: '${String(p)}' is not a valid IP subnet.`);
    return { ...c, hostBits: false };
  });
  if (new Set(out.map((c) => c.version)).size > 1) throw neutronError(400, 'PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.');
  return compactPrefixes(out);
}

function checkLengths(version: IpVersion, min: number, def: number, max: number, prefixes: Cidr[]): void {
  const bits = bitsOf(version);
  for (const [k, v] of [['min_prefixlen', min], ['default_prefixlen', def], ['max_prefixlen', max]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > bits) throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${v}' is not in range 0 through ${bits}.`);
  }
  if (!(min <= def && def <= max)) {
    throw neutronError(400, 'IllegalSubnetPoolPrefixBounds', `Illegal prefix bounds: min_prefixlen=${min}, default_prefixlen=${def}, max_prefixlen=${max}.`);
  }
  void prefixes;
}

export async function createSubnetPool(c: NetworkContext, n: NewSubnetPool): Promise<SubnetPoolRow> {
  const prefixes = parsePrefixes(n.prefixes);
  const version = prefixes[0].version;
  // Neutron's defaults, whatever the prefixes: 8 (IPv4) or 64 (IPv6)
  const min = n.minPrefixlen ?? (version === 4 ? 8 : 64);
  const max = n.maxPrefixlen ?? bitsOf(version);
  const def = n.defaultPrefixlen ?? min;
  checkLengths(version, min, def, max, prefixes);
  const now = neutronNow();
  return c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `subnetpool-create:${n.projectId}`);
    await checkQuota(trx, n.projectId, 'subnetpool');
    if (n.addressScopeId) await checkScope(trx, n.addressScopeId, version);
    if (n.isDefault) await clearDefault(trx, version);
    const row: SubnetPoolRow = {
      id: randomUUID(), project_id: n.projectId, name: n.name, description: n.description, ip_version: version,
      prefixes: toJson(prefixes.map(formatCidr)), default_prefixlen: def, min_prefixlen: min, max_prefixlen: max,
      shared: Number(n.shared), is_default: Number(n.isDefault), default_quota: n.defaultQuota ?? null, address_scope_id: n.addressScopeId ?? null,
      revision_number: 0, created_at: now, updated_at: now,
    };
    await trx.insertInto('subnet_pool').values(row).execute();
    return row;
  });
}

async function checkScope(db: Kysely<NetworkDB>, scopeId: string, version: number): Promise<void> {
  const s = await db.selectFrom('address_scope').selectAll().where('id', '=', scopeId).executeTakeFirst();
  if (!s) throw notFoundOf('address_scope', scopeId);
  if (s.ip_version !== version) throw invalidInput(`Illegal subnetpool association: subnetpool cannot be associated with address scope ${scopeId} because subnetpool ip_version is not ${s.ip_version}.`);
}

async function clearDefault(db: Kysely<NetworkDB>, version: number): Promise<void> {
  await db.updateTable('subnet_pool').set({ is_default: 0 }).where('is_default', '=', 1).where('ip_version', '=', version).execute();
}

export interface SubnetPoolChanges {
  name?: string; description?: string; prefixes?: unknown; defaultPrefixlen?: number; minPrefixlen?: number; maxPrefixlen?: number;
  isDefault?: boolean; defaultQuota?: number | null; addressScopeId?: string | null;
}

export async function updateSubnetPool(c: NetworkContext, caller: Caller, id: string, ch: SubnetPoolChanges): Promise<SubnetPoolRow> {
  const p = await getSubnetPool(c, caller, id);
  if (!caller.isAdmin && p.project_id !== caller.projectId) throw notFoundOf('subnetpool', id);
  const old = fromJson<string[]>(p.prefixes, []).map((s) => parseCidr(s)!);
  let prefixes = old;
  if (ch.prefixes !== undefined) {
    prefixes = parsePrefixes(ch.prefixes);
    if (prefixes[0].version !== p.ip_version) throw neutronError(400, 'PrefixVersionMismatch', 'Cannot mix IPv4 and IPv6 prefixes in a subnet pool.');
    // prefixes may only grow: every old prefix must stay covered
    if (!old.every((o) => prefixes.some((n) => cidrWithin(o, n)))) throw neutronError(400, 'IllegalPrefixUpdate', 'Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.');
    prefixes = compactPrefixes([...prefixes, ...old]);
  }
  const min = ch.minPrefixlen ?? p.min_prefixlen;
  const max = ch.maxPrefixlen ?? p.max_prefixlen;
  const def = ch.defaultPrefixlen ?? p.default_prefixlen;
  checkLengths(p.ip_version as IpVersion, min, def, max, prefixes);
  await c.db.transaction().execute(async (trx) => {
    if (ch.addressScopeId) await checkScope(trx, ch.addressScopeId, p.ip_version);
    if (ch.isDefault) await clearDefault(trx, p.ip_version);
    const set: Partial<SubnetPoolRow> = { prefixes: toJson(prefixes.map(formatCidr)), min_prefixlen: min, max_prefixlen: max, default_prefixlen: def };
    if (ch.name !== undefined) set.name = ch.name;
    if (ch.description !== undefined) set.description = ch.description;
    if (ch.isDefault !== undefined) set.is_default = Number(ch.isDefault);
    if (ch.defaultQuota !== undefined) set.default_quota = ch.defaultQuota;
    if (ch.addressScopeId !== undefined) set.address_scope_id = ch.addressScopeId;
    await trx.updateTable('subnet_pool').set({ ...set, revision_number: p.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
  });
  return c.db.selectFrom('subnet_pool').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

export async function deleteSubnetPool(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  const p = await getSubnetPool(c, caller, id);
  if (!caller.isAdmin && p.project_id !== caller.projectId) throw notFoundOf('subnetpool', id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `subnetpool:${id}`);
    const used = await trx.selectFrom('subnet').select('id').where('subnetpool_id', '=', id).executeTakeFirst();
    if (used) throw neutronError(409, 'SubnetPoolInUse', `Unable to complete operation on subnet pool ${id}. Subnet pool ${id} has allocated subnets.`);
    await trx.deleteFrom('tag').where('resource_id', '=', id).execute();
    await trx.deleteFrom('subnet_pool').where('id', '=', id).execute();
  });
}

/** The default pool of a version (use_default_subnetpool), or 400. */
export async function defaultPool(db: Kysely<NetworkDB>, version: number): Promise<SubnetPoolRow> {
  const p = await db.selectFrom('subnet_pool').selectAll().where('is_default', '=', 1).where('ip_version', '=', version).executeTakeFirst();
  if (!p) throw neutronError(400, 'BadRequest', `Bad subnets request: No default subnetpool found for IPv${version}.`);
  return p;
}

/**
 * Takes a CIDR for a subnet from a pool (inside the subnet's transaction, pool locked):
 * the given one if it fits and is free, else the first free block of `prefixlen`.
 */
export async function allocateFromPool(c: NetworkContext, trx: Kysely<NetworkDB>, pool: SubnetPoolRow, want: { cidr?: Cidr; prefixlen?: number; projectId: string }): Promise<string> {
  await lockKey(trx, c.kind, `subnetpool:${pool.id}`);
  const prefixes = fromJson<string[]>(pool.prefixes, []).map((s) => parseCidr(s)!);
  const used = (await trx.selectFrom('subnet').select(['cidr', 'project_id']).where('subnetpool_id', '=', pool.id).execute());
  const usedCidrs = used.map((s) => parseCidr(s.cidr)!);
  const prefixlen = want.cidr?.prefixlen ?? want.prefixlen ?? pool.default_prefixlen;
  if (prefixlen > pool.max_prefixlen) {
    throw neutronError(400, 'MaxPrefixSubnetAllocationError', `Unable to allocate subnet with prefix length ${prefixlen}, maximum allowed prefix is ${pool.max_prefixlen}.`);
  }
  if (prefixlen < pool.min_prefixlen) {
    throw neutronError(400, 'MinPrefixSubnetAllocationError', `Unable to allocate subnet with prefix length ${prefixlen}, minimum allowed prefix is ${pool.min_prefixlen}.`);
  }
  if (pool.default_quota !== null) {
    const size = (p: number) => sizeOf({ version: pool.ip_version as IpVersion, prefixlen: p });
    const unit = size(pool.min_prefixlen);
    const usedUnits = used.filter((s) => s.project_id === want.projectId).reduce((a, s) => a + size(parseCidr(s.cidr)!.prefixlen) / unit, 0n);
    if (usedUnits + size(prefixlen) / unit > BigInt(pool.default_quota)) throw neutronError(409, 'SubnetPoolQuotaExceeded', 'Per-tenant subnet pool prefix quota exceeded.');
  }
  if (want.cidr) {
    if (!prefixes.some((p) => cidrWithin(want.cidr!, p))) throw neutronError(400, 'SubnetAllocationError', `Failed to allocate subnet: Cidr ${formatCidr(want.cidr)} is not within the prefixes of subnet pool ${pool.id}.`);
    if (usedCidrs.some((u) => cidrsOverlap(u, want.cidr!))) throw neutronError(400, 'SubnetAllocationError', `Failed to allocate subnet: Cidr ${formatCidr(want.cidr)} overlaps with a subnet already allocated from subnet pool ${pool.id}.`);
    return formatCidr(want.cidr);
  }
  const version = pool.ip_version as IpVersion;
  const block = sizeOf({ version, prefixlen });
  for (const p of prefixes) {
    if (p.prefixlen > prefixlen) continue;
    let candidate = p.network;
    while (candidate + block - 1n <= lastOf(p)) {
      const cand: Cidr = { version, network: candidate, prefixlen, hostBits: false };
      const clash = usedCidrs.filter((u) => cidrsOverlap(u, cand));
      if (clash.length === 0) return formatCidr(cand);
      // jump past the furthest clashing subnet, aligned to the block
      const end = clash.reduce((m, u) => (lastOf(u) > m ? lastOf(u) : m), 0n) + 1n;
      candidate = ((end + block - 1n) / block) * block;
    }
  }
  throw neutronError(409, 'SubnetAllocationError', `Failed to allocate subnet: Insufficient prefix space to allocate subnet size /${prefixlen}.`);
}
