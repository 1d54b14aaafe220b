import type { Kysely } from 'kysely';
import { HttpError } from '../../core/errors.js';
import type { ComputeDB } from '../db/schema.js';
import { fromJson, type ComputeContext } from './context.js';

/** Nova's default quota class values (-1 = unlimited). */
export const DEFAULT_QUOTAS: Record<string, number> = {
  instances: 10, cores: 20, ram: 51200, metadata_items: 128, key_pairs: 100,
  server_groups: 10, server_group_members: 10, injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_bytes: 255,
  // Nova-network era quotas, shown before 2.36 (always "unlimited" proxies to the network service).
  fixed_ips: -1, floating_ips: -1, security_groups: -1, security_group_rules: -1, networks: -1,
};

/** Limits of a project (and user): user override > project override > 'default' quota class > built-in default. */
export async function effectiveLimits(db: Kysely<ComputeDB>, projectId: string, userId?: string): Promise<Record<string, number>> {
  const out = { ...DEFAULT_QUOTAS };
  for (const r of await db.selectFrom('quota_class').selectAll().where('class_name', '=', 'default').execute()) out[r.resource] = r.hard_limit;
  const rows = await db.selectFrom('quota').selectAll().where('project_id', '=', projectId).where('user_id', 'in', userId ? ['', userId] : ['']).execute();
  for (const r of rows.filter((x) => x.user_id === '')) out[r.resource] = r.hard_limit;
  for (const r of rows.filter((x) => x.user_id !== '')) out[r.resource] = r.hard_limit;
  return out;
}

/** What a project (or one user of it) holds now: servers, their vCPUs and RAM (resized servers count their larger flavor). */
export async function instanceUsage(db: Kysely<ComputeDB>, projectId: string, userId?: string): Promise<{ instances: number; cores: number; ram: number }> {
  let q = db.selectFrom('instance').select(['flavor', 'new_flavor']).where('project_id', '=', projectId).where('deleted', '=', 0);
  if (userId) q = q.where('user_id', '=', userId);
  const rows = await q.execute();
  let cores = 0;
  let ram = 0;
  for (const r of rows) {
    const f = fromJson<{ vcpus: number; memory_mb: number }>(r.flavor, { vcpus: 0, memory_mb: 0 });
    const n = fromJson<{ vcpus: number; memory_mb: number } | null>(r.new_flavor, null);
    cores += Math.max(f.vcpus, n?.vcpus ?? 0);
    ram += Math.max(f.memory_mb, n?.memory_mb ?? 0);
  }
  return { instances: rows.length, cores, ram };
}

/** Nova's answer when a request would go over quota: 403 "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores". */
export function overQuota(resource: string, requested: number, used: number, limit: number): HttpError {
  return new HttpError(403, `Quota exceeded for ${resource}: Requested ${requested}, but already used ${used} of ${limit} ${resource}`);
}

/**
 * Checks that `count` more servers of a flavor fit the project's (and user's) instance, core and
 * RAM quotas. Call inside the transaction that inserts them, after taking the project's lock.
 */
export async function checkInstanceQuota(db: Kysely<ComputeDB>, projectId: string, userId: string, count: number, flavor: { vcpus: number; memory_mb: number }): Promise<void> {
  const want = { instances: count, cores: count * flavor.vcpus, ram: count * flavor.memory_mb };
  for (const scope of [undefined, userId]) {
    const limits = await effectiveLimits(db, projectId, scope);
    const used = await instanceUsage(db, projectId, scope);
    for (const k of ['instances', 'cores', 'ram'] as const) {
      if (limits[k] >= 0 && used[k] + want[k] > limits[k]) throw overQuota(k, want[k], used[k], limits[k]);
    }
  }
}

/**
 * Nova's resize quota check (upsize_quota_delta + check_deltas): the growth of a resize (new
 * flavor minus old, positive parts only) must fit the project's and the user's cores and RAM
 * quotas on top of what they use now; 403 "Quota exceeded for cores: ..." otherwise.
 */
export async function checkResizeQuota(db: Kysely<ComputeDB>, projectId: string, userId: string, growth: { cores: number; ram: number }): Promise<void> {
  const want = { cores: Math.max(0, growth.cores), ram: Math.max(0, growth.ram) };
  if (!want.cores && !want.ram) return;
  for (const scope of [undefined, userId]) {
    const limits = await effectiveLimits(db, projectId, scope);
    const used = await instanceUsage(db, projectId, scope);
    for (const k of ['cores', 'ram'] as const) {
      if (want[k] > 0 && limits[k] >= 0 && used[k] + want[k] > limits[k]) throw overQuota(k, want[k], used[k], limits[k]);
    }
  }
}

/** The most servers (≤ max) of a flavor that still fit, for min_count/max_count creates. */
export async function roomFor(c: ComputeContext | { db: Kysely<ComputeDB> }, projectId: string, flavor: { vcpus: number; memory_mb: number }, max: number): Promise<number> {
  const limits = await effectiveLimits(c.db, projectId);
  const used = await instanceUsage(c.db, projectId);
  let n = max;
  if (limits.instances >= 0) n = Math.min(n, limits.instances - used.instances);
  if (limits.cores >= 0 && flavor.vcpus > 0) n = Math.min(n, Math.floor((limits.cores - used.cores) / flavor.vcpus));
  if (limits.ram >= 0 && flavor.memory_mb > 0) n = Math.min(n, Math.floor((limits.ram - used.ram) / flavor.memory_mb));
  return Math.max(0, n);
}

// ------------------------------------------------------------------ os-quota-sets, os-quota-class-sets, limits

/** Limits of a quota class: built-in defaults < the 'default' class < the named class. */
export async function classLimits(db: Kysely<ComputeDB>, className: string): Promise<Record<string, number>> {
  const out = { ...DEFAULT_QUOTAS };
  const rows = await db.selectFrom('quota_class').selectAll().where('class_name', 'in', ['default', className]).execute();
  for (const r of rows.filter((x) => x.class_name === 'default')) out[r.resource] = r.hard_limit;
  for (const r of rows.filter((x) => x.class_name === className)) out[r.resource] = r.hard_limit;
  return out;
}

/** Everything counted against quotas (others are not tracked here and count 0). */
export async function quotaUsage(db: Kysely<ComputeDB>, projectId: string, userId?: string): Promise<Record<string, number>> {
  const inst = await instanceUsage(db, projectId, userId);
  let g = db.selectFrom('server_group').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId);
  if (userId) g = g.where('user_id', '=', userId);
  const groups = Number((await g.executeTakeFirstOrThrow()).n);
  // Keypairs belong to users: counted only when a user is asked about (as Nova does).
  const keys = userId
    ? Number((await db.selectFrom('keypair').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n)
    : 0;
  return { ...inst, server_groups: groups, key_pairs: keys };
}

/** Writes per-project (userId '') or per-user limit overrides. */
export async function setQuotas(db: Kysely<ComputeDB>, projectId: string, userId: string, values: Record<string, number>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const [resource, hard_limit] of Object.entries(values)) {
      await trx.deleteFrom('quota').where('project_id', '=', projectId).where('user_id', '=', userId).where('resource', '=', resource).execute();
      await trx.insertInto('quota').values({ project_id: projectId, user_id: userId, resource, hard_limit }).execute();
    }
  });
}

/** Drops a project's overrides (and its users'), or one user's: limits revert to the defaults. */
export async function deleteQuotas(db: Kysely<ComputeDB>, projectId: string, userId?: string): Promise<void> {
  let q = db.deleteFrom('quota').where('project_id', '=', projectId);
  if (userId) q = q.where('user_id', '=', userId);
  await q.execute();
}

export async function setClassQuotas(db: Kysely<ComputeDB>, className: string, values: Record<string, number>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const [resource, hard_limit] of Object.entries(values)) {
      await trx.deleteFrom('quota_class').where('class_name', '=', className).where('resource', '=', resource).execute();
      await trx.insertInto('quota_class').values({ class_name: className, resource, hard_limit }).execute();
    }
  });
}
