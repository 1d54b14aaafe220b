/**
 * Simple tenant usage (os-simple-tenant-usage): for a period, every server that ran in it
 * (launched before its end, not terminated before its start, deleted ones included) is charged
 * the hours it ran inside the period, times its vCPUs, RAM and disk.
 */
import { badRequest } from '../../core/errors.js';
import type { InstanceRow } from '../db/schema.js';
import { fromJson, type ComputeContext } from './context.js';

/** Nova's usage times: naive UTC, microseconds ("2024-01-02T03:04:05.123000"). */
export const usageTime = (d: Date): string => d.toISOString().replace(/Z$/, '').replace(/\.(\d{3})$/, '.$1000');

/**
 * Parses a start/end parameter as Nova does: "%Y-%m-%dT%H:%M:%S", with ".%f", or
 * "%Y-%m-%d %H:%M:%S.%f", always UTC. Missing: now. Anything else: 400.
 */
export function parseUsageTime(s: string | undefined, now: Date): Date {
  if (s === undefined || s === '') return now;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?| (\d{2}):(\d{2}):(\d{2})\.(\d{1,6}))$/.exec(s);
  if (m) {
    const [y, mo, d] = [m[1], m[2], m[3]].map(Number);
    const [h, mi, se] = (m[4] !== undefined ? [m[4], m[5], m[6]] : [m[8], m[9], m[10]]).map(Number);
    const frac = m[7] ?? m[11] ?? '0';
    const ms = Math.floor(Number(frac.padEnd(6, '0')) / 1000);
    const t = Date.UTC(y, mo - 1, d, h, mi, se, ms);
    const back = new Date(t);
    // reject what Python's strptime rejects: Feb 30, hour 25 ...
    if (back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h && back.getUTCMinutes() === mi && back.getUTCSeconds() === se) return back;
  }
  throw badRequest('Invalid datetime string: Datetime is in invalid format');
}

export function usagePeriod(start: string | undefined, end: string | undefined, now = new Date()): { start: Date; stop: Date } {
  const a = parseUsageTime(start, now);
  const b = parseUsageTime(end, now);
  const bothDefault = (start ?? '') === '' && (end ?? '') === '';
  if (a.getTime() > b.getTime() || (a.getTime() === b.getTime() && !bothDefault)) {
    throw badRequest('Invalid start time. The start time cannot occur after the end time.');
  }
  return { start: a, stop: b };
}

/** Hours a server ran inside [start, stop] (Nova's _hours_for). */
export function hoursFor(launchedAt: Date | null, terminatedAt: Date | null, start: Date, stop: Date): number {
  if (!launchedAt) return 0;
  if (terminatedAt && terminatedAt < start) return 0;
  if (launchedAt > stop) return 0;
  const from = Math.max(launchedAt.getTime(), start.getTime());
  const to = terminatedAt ? Math.min(stop.getTime(), terminatedAt.getTime()) : stop.getTime();
  return (to - from) / 3_600_000;
}

export interface ServerUsage {
  instance_id: string;
  name: string;
  tenant_id: string;
  hours: number;
  memory_mb: number;
  local_gb: number;
  vcpus: number;
  flavor: string;
  started_at: string;
  ended_at: string | null;
  state: string;
  uptime: number;
}

export interface TenantUsage {
  tenant_id: string;
  server_usages?: ServerUsage[];
  total_local_gb_usage: number;
  total_vcpus_usage: number;
  total_memory_mb_usage: number;
  total_hours: number;
  start: string;
  stop: string;
}

const date = (s: string | null) => (s ? new Date(s.endsWith('Z') || /[+-]\d\d:\d\d$/.test(s) ? s : `${s}Z`) : null);

/**
 * The servers active in a period (optionally of one project), ordered by project then uuid,
 * paged by an instance-uuid marker (400 when unknown) and limit.
 */
export async function activeInstances(c: ComputeContext, period: { start: Date; stop: Date }, opts: { projectId?: string; limit?: number; marker?: string }): Promise<InstanceRow[]> {
  let q = c.db.selectFrom('instance').selectAll()
    .where('launched_at', 'is not', null)
    .where((eb) => eb.or([eb('terminated_at', 'is', null), eb('terminated_at', '>', period.start.toISOString())]))
    .where('launched_at', '<', period.stop.toISOString());
  if (opts.projectId !== undefined) q = q.where('project_id', '=', opts.projectId);
  let rows = await q.orderBy('project_id').orderBy('uuid').execute();
  if (opts.marker !== undefined) {
    const i = rows.findIndex((r) => r.uuid === opts.marker);
    if (i < 0) throw badRequest(`Marker ${opts.marker} could not be found.`);
    rows = rows.slice(i + 1);
  }
  if (opts.limit !== undefined) rows = rows.slice(0, opts.limit);
  return rows;
}

/** Usage per tenant, in order of first appearance; server_usages only when detailed. */
export function tenantUsages(rows: InstanceRow[], period: { start: Date; stop: Date }, detailed: boolean, now = new Date()): TenantUsage[] {
  const out = new Map<string, TenantUsage>();
  for (const r of rows) {
    const f = fromJson<{ vcpus?: number; memory_mb?: number; root_gb?: number; ephemeral_gb?: number; name?: string }>(r.flavor, {});
    const launched = date(r.launched_at)!;
    const terminated = date(r.terminated_at);
    const hours = hoursFor(launched, terminated, period.start, period.stop);
    const info: ServerUsage = {
      instance_id: r.uuid,
      name: r.name,
      tenant_id: r.project_id,
      hours,
      memory_mb: f.memory_mb ?? 0,
      local_gb: (f.root_gb ?? 0) + (f.ephemeral_gb ?? 0),
      vcpus: f.vcpus ?? 0,
      flavor: f.name ?? '',
      started_at: usageTime(launched),
      ended_at: terminated ? usageTime(terminated) : null,
      state: terminated ? 'terminated' : r.vm_state,
      uptime: Math.floor(((terminated ?? now).getTime() - launched.getTime()) / 1000),
    };
    let t = out.get(r.project_id);
    if (!t) {
      t = {
        tenant_id: r.project_id,
        ...(detailed ? { server_usages: [] } : {}),
        total_local_gb_usage: 0, total_vcpus_usage: 0, total_memory_mb_usage: 0, total_hours: 0,
        start: usageTime(period.start), stop: usageTime(period.stop),
      };
      out.set(r.project_id, t);
    }
    t.total_local_gb_usage += info.local_gb * hours;
    t.total_vcpus_usage += info.vcpus * hours;
    t.total_memory_mb_usage += info.memory_mb * hours;
    t.total_hours += hours;
    t.server_usages?.push(info);
  }
  return [...out.values()];
}
