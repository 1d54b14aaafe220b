/**
 * Hosts as the admin APIs see them: services (os-services), hypervisors (os-hypervisors) and
 * availability zones (os-availability-zone). A compute host's zone comes from the
 * `availability_zone` metadata of its aggregates, else the configured default zone; every
 * other service lives in the internal zone (Nova's internal_service_availability_zone).
 */
import { createHash, randomUUID } from 'node:crypto';
import { loadavg, uptime } from 'node:os';
import { conflict, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { ComputeNodeRow, ServiceRow } from '../db/schema.js';
import { hostCacheOf } from '../scheduler/host-cache.js';
import { fromJson, type ComputeContext } from './context.js';

export const INTERNAL_ZONE = 'internal';
export const COMPUTE_BINARY = 'nova-compute';
/** Nova's [DEFAULT] service_down_time: a service not heard from for this long is down. */
export const SERVICE_DOWN_SECONDS = 60;
/** API services never show in the zone detail (Nova skips them). */
const API_BINARIES = new Set(['nova-osapi_compute', 'nova-metadata']);

/**
 * The integer id a service shows before microversion 2.53 (Nova's autoincrement id). Our rows
 * are keyed by uuid, so the integer is derived from it: stable, and the same in every process.
 */
export function serviceIntId(uuid: string): number {
  const n = createHash('sha256').update(uuid).digest().readUInt32BE(0) & 0x7fffffff;
  return n === 0 ? 1 : n;
}

export function serviceIsUp(s: Pick<ServiceRow, 'forced_down' | 'last_seen_up' | 'updated_at'>, now = Date.now()): boolean {
  if (s.forced_down) return false;
  const seen = Date.parse(s.last_seen_up ?? s.updated_at ?? '');
  return Number.isFinite(seen) && now - seen <= SERVICE_DOWN_SECONDS * 1000;
}

/** host → availability zone from aggregate metadata (several zones join with ','). */
export async function hostZones(c: ComputeContext): Promise<Map<string, string>> {
  const rows = await c.db.selectFrom('aggregate_host')
    .innerJoin('aggregate_metadata', 'aggregate_metadata.aggregate_id', 'aggregate_host.aggregate_id')
    .select(['aggregate_host.host', 'aggregate_metadata.value'])
    .where('aggregate_metadata.key', '=', 'availability_zone')
    .orderBy('aggregate_metadata.value').execute();
  const zones = new Map<string, string[]>();
  for (const r of rows) {
    const list = zones.get(r.host) ?? [];
    if (!list.includes(r.value)) list.push(r.value);
    zones.set(r.host, list);
  }
  return new Map([...zones].map(([h, z]) => [h, z.join(',')]));
}

export interface ServiceInfo extends ServiceRow {
  /** the zone shown: from aggregates for compute, internal for the rest */
  availabilityZone: string;
  up: boolean;
}

export async function listServices(c: ComputeContext, filter: { host?: string; binary?: string } = {}): Promise<ServiceInfo[]> {
  let q = c.db.selectFrom('service').selectAll();
  if (filter.host !== undefined) q = q.where('host', '=', filter.host);
  if (filter.binary !== undefined) q = q.where('binary', '=', filter.binary);
  const rows = await q.orderBy('created_at').orderBy('id').execute();
  const zones = await hostZones(c);
  const now = Date.now();
  return rows.map((r) => ({
    ...r,
    availabilityZone: r.binary === COMPUTE_BINARY ? zones.get(r.host) ?? c.config.compute.defaultAvailabilityZone : INTERNAL_ZONE,
    up: serviceIsUp(r, now),
  }));
}

/** A service by its API id: the uuid (2.53+) or the derived integer (before). undefined: none. */
export async function findService(c: ComputeContext, id: string, byUuid: boolean): Promise<ServiceInfo | undefined> {
  const all = await listServices(c);
  return byUuid ? all.find((s) => s.id === id) : all.find((s) => String(serviceIntId(s.id)) === id);
}

export async function updateService(c: ComputeContext, id: string, values: Partial<Pick<ServiceRow, 'disabled' | 'disabled_reason' | 'forced_down'>>): Promise<void> {
  await c.db.updateTable('service').set({ ...values, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
  // this process's scheduler sees the change at once (others within their cache's second)
  hostCacheOf(c).invalidate();
}

/**
 * Deletes a service. A compute service that still hosts servers or has migrations in progress
 * is refused (409, as Nova); otherwise its compute nodes, aggregate memberships and placement
 * resource providers go with it.
 */
export async function deleteService(c: ComputeContext, s: ServiceInfo): Promise<void> {
  if (s.binary === COMPUTE_BINARY) {
    const hosting = await c.db.selectFrom('instance').select('uuid').where('host', '=', s.host).where('deleted', '=', 0).executeTakeFirst();
    if (hosting) throw conflict('Unable to delete compute service that is hosting instances. Migrate or delete the instances first.');
    const moving = await c.db.selectFrom('migration').select('id')
      .where((eb) => eb.or([eb('source_compute', '=', s.host), eb('dest_compute', '=', s.host)]))
      .where('status', 'not in', ['confirmed', 'reverted', 'error', 'failed', 'completed', 'cancelled', 'done'])
      .executeTakeFirst();
    if (moving) throw conflict('Unable to delete compute service that has in-progress migrations. Complete the migrations or delete the instances first.');
  }
  const nodes = s.binary === COMPUTE_BINARY ? await c.db.selectFrom('compute_node').select('uuid').where('host', '=', s.host).execute() : [];
  await c.db.transaction().execute(async (trx) => {
    if (s.binary === COMPUTE_BINARY) {
      await trx.deleteFrom('compute_node').where('host', '=', s.host).execute();
      await trx.deleteFrom('aggregate_host').where('host', '=', s.host).execute();
    }
    await trx.deleteFrom('service').where('id', '=', s.id).execute();
  });
  hostCacheOf(c).invalidate();
  for (const n of nodes) await c.placement.deleteProvider(n.uuid);
}

// ---- hypervisors

export interface HypervisorInfo {
  node: ComputeNodeRow;
  service: ServiceInfo | undefined;
  vcpusUsed: number;
  memoryMbUsed: number;
  localGbUsed: number;
  runningVms: number;
  currentWorkload: number;
  servers: { uuid: string; name: string }[];
}

/** Every compute node with its service and what the servers on it use, ordered by id. */
export async function listHypervisors(c: ComputeContext): Promise<HypervisorInfo[]> {
  const nodes = await c.db.selectFrom('compute_node').selectAll().orderBy('id').execute();
  const services = (await listServices(c, { binary: COMPUTE_BINARY }));
  const instances = await c.db.selectFrom('instance').select(['uuid', 'name', 'host', 'node', 'flavor', 'new_flavor', 'task_state', 'created_at'])
    .where('deleted', '=', 0).where('host', 'is not', null).orderBy('created_at').orderBy('uuid').execute();
  const reserved = c.config.compute.reservedHostMemoryMb;
  return nodes.map((node) => {
    const mine = instances.filter((i) => (i.node ?? i.host) === node.hypervisor_hostname || (i.node === null && i.host === node.host));
    let vcpus = 0;
    let mem = 0;
    let disk = 0;
    for (const i of mine) {
      const f = fromJson<{ vcpus?: number; memory_mb?: number; root_gb?: number; ephemeral_gb?: number }>(i.flavor, {});
      const n = fromJson<typeof f | null>(i.new_flavor, null);
      vcpus += Math.max(f.vcpus ?? 0, n?.vcpus ?? 0);
      mem += Math.max(f.memory_mb ?? 0, n?.memory_mb ?? 0);
      disk += Math.max((f.root_gb ?? 0) + (f.ephemeral_gb ?? 0), (n?.root_gb ?? 0) + (n?.ephemeral_gb ?? 0));
    }
    return {
      node,
      service: services.find((s) => s.host === node.host),
      vcpusUsed: vcpus,
      memoryMbUsed: Math.min(reserved, node.memory_mb) + mem,
      localGbUsed: disk,
      runningVms: mine.length,
      currentWorkload: mine.filter((i) => i.task_state !== null).length,
      servers: mine.map((i) => ({ uuid: i.uuid, name: i.name })),
    };
  });
}

/** Nova's hypervisor-statistics: sums over nodes whose compute service is enabled. */
export function hypervisorStatistics(hs: HypervisorInfo[]) {
  const s = { count: 0, vcpus: 0, memory_mb: 0, local_gb: 0, vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0, free_ram_mb: 0, free_disk_gb: 0, current_workload: 0, running_vms: 0, disk_available_least: 0 };
  for (const h of hs) {
    if (!h.service || h.service.disabled) continue;
    s.count++;
    s.vcpus += h.node.vcpus;
    s.memory_mb += h.node.memory_mb;
    s.local_gb += h.node.local_gb;
    s.vcpus_used += h.vcpusUsed;
    s.memory_mb_used += h.memoryMbUsed;
    s.local_gb_used += h.localGbUsed;
    s.free_ram_mb += h.node.memory_mb - h.memoryMbUsed;
    s.free_disk_gb += h.node.local_gb - h.localGbUsed;
    s.current_workload += h.currentWorkload;
    s.running_vms += h.runningVms;
    s.disk_available_least += h.node.local_gb - h.localGbUsed;
  }
  return s;
}

/**
 * The `uptime` text of a host (as `uptime` prints it). Nova asks the host's agent; the fake
 * driver's hosts live in this process, so they report this machine. A host whose service is
 * down or disabled has none (Nova answers 400 for those).
 */
export function hostUptimeText(now = new Date()): string {
  const secs = Math.floor(uptime());
  const days = Math.floor(secs / 86400);
  const hh = Math.floor((secs % 86400) / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  const clock = `${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())}`;
  const load = loadavg().map((x) => x.toFixed(2)).join(', ');
  return ` ${clock} up ${days} days, ${pad(hh)}:${pad(mm)},  0 users,  load average: ${load}`;
}

// ---- availability zones

export interface ZoneInfo {
  zoneName: string;
  available: boolean;
  /** enabled, non-API services of the zone by host, for the detail view (available zones only) */
  hosts: Map<string, ServiceInfo[]>;
}

/**
 * Zones as Nova reports them: a zone with an enabled service is available; a zone whose
 * services are all disabled is not. Available zones first, each in order of first appearance.
 */
export async function availabilityZones(c: ComputeContext): Promise<ZoneInfo[]> {
  const services = await listServices(c);
  const available: ZoneInfo[] = [];
  for (const s of services.filter((x) => !x.disabled)) {
    let z = available.find((x) => x.zoneName === s.availabilityZone);
    if (!z) available.push((z = { zoneName: s.availabilityZone, available: true, hosts: new Map() }));
    if (API_BINARIES.has(s.binary)) continue;
    const list = z.hosts.get(s.host) ?? [];
    list.push(s);
    z.hosts.set(s.host, list);
  }
  const unavailable: ZoneInfo[] = [];
  for (const s of services.filter((x) => x.disabled)) {
    if (available.some((x) => x.zoneName === s.availabilityZone) || unavailable.some((x) => x.zoneName === s.availabilityZone)) continue;
    unavailable.push({ zoneName: s.availabilityZone, available: false, hosts: new Map() });
  }
  return [...available, ...unavailable];
}

/** The compute service of a host, or 404 as Nova says it. */
export async function computeServiceOf(c: ComputeContext, host: string): Promise<ServiceRow> {
  const s = await c.db.selectFrom('service').selectAll().where('host', '=', host).where('binary', '=', COMPUTE_BINARY).executeTakeFirst();
  if (!s) throw notFound(`Compute host ${host} could not be found.`);
  return s;
}

/** Registers (or refreshes) a service row, as each Nova service does when it starts; returns its id. */
export async function registerService(c: Pick<ComputeContext, 'db'>, s: { host: string; binary: string; topic: string; zone: string }): Promise<void> {
  const now = nowIso();
  const found = await c.db.selectFrom('service').select('id').where('host', '=', s.host).where('binary', '=', s.binary).executeTakeFirst();
  if (found) {
    await c.db.updateTable('service').set({ last_seen_up: now, updated_at: now }).where('id', '=', found.id).execute();
    return;
  }
  await c.db.insertInto('service').values({
    id: randomUUID(), host: s.host, binary: s.binary, topic: s.topic, zone: s.zone,
    disabled: 0, disabled_reason: null, forced_down: 0, last_seen_up: now, created_at: now, updated_at: now,
  }).execute().catch(() => undefined); // another process registered it first
}

/** The periodic "I am alive" of a service (Nova's report_state). */
export async function heartbeat(c: Pick<ComputeContext, 'db'>, host: string, binary: string): Promise<void> {
  await c.db.updateTable('service').set({ last_seen_up: nowIso() }).where('host', '=', host).where('binary', '=', binary).execute();
}
