import type { Kysely } from 'kysely';
import type { NetworkDB } from '../db/schema.js';
import { neutronError } from './errors.js';

/** Neutron's default quotas (neutron.conf [quotas]); -1 is unlimited. */
export const DEFAULT_QUOTAS: Record<string, number> = {
  network: 100, subnet: 100, port: 500, router: 10, floatingip: 50,
  security_group: 10, security_group_rule: 100, rbac_policy: 10, subnetpool: -1,
};

/** The table each quota resource counts. */
export const QUOTA_TABLES: Record<string, keyof NetworkDB> = {
  network: 'network', subnet: 'subnet', port: 'port', router: 'router', floatingip: 'floating_ip',
  security_group: 'security_group', security_group_rule: 'security_group_rule', rbac_policy: 'rbac_policy', subnetpool: 'subnet_pool',
};

export async function limitsOf(db: Kysely<NetworkDB>, projectId: string): Promise<Record<string, number>> {
  const rows = await db.selectFrom('quota').selectAll().where('project_id', '=', projectId).execute();
  const out = { ...DEFAULT_QUOTAS };
  for (const r of rows) out[r.resource] = r.hard_limit;
  return out;
}

export async function usageOf(db: Kysely<NetworkDB>, projectId: string, resource: string): Promise<number> {
  const table = QUOTA_TABLES[resource];
  const r = await (db as Kysely<any>).selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * Throws Neutron's OverQuota (409) when adding `count` of a resource would pass the project's
 * limit. Call it inside the creating transaction (after the project's lock) so racing creates
 * cannot both pass.
 */
export async function checkQuota(db: Kysely<NetworkDB>, projectId: string, resource: string, count = 1): Promise<void> {
  const limit = (await limitsOf(db, projectId))[resource] ?? -1;
  if (limit < 0) return;
  const used = await usageOf(db, projectId, resource);
  if (used + count > limit) throw neutronError(409, 'OverQuota', `Quota exceeded for resources: ['${resource}'].`);
}

/** Projects with at least one limit of their own (GET /v2.0/quotas). */
export async function projectsWithQuotas(db: Kysely<NetworkDB>): Promise<string[]> {
  const rows = await db.selectFrom('quota').select('project_id').distinct().orderBy('project_id').execute();
  return rows.map((r) => r.project_id);
}

/** Stores a project's limits (validated by the caller); a limit equal to the default is kept as given. */
export async function setQuotas(db: Kysely<NetworkDB>, projectId: string, limits: Record<string, number>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const [resource, hard_limit] of Object.entries(limits)) {
      await trx.deleteFrom('quota').where('project_id', '=', projectId).where('resource', '=', resource).execute();
      await trx.insertInto('quota').values({ project_id: projectId, resource, hard_limit }).execute();
    }
  });
}

/** Back to the defaults. */
export async function resetQuotas(db: Kysely<NetworkDB>, projectId: string): Promise<void> {
  await db.deleteFrom('quota').where('project_id', '=', projectId).execute();
}
