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
