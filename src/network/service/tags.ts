import type { Kysely } from 'kysely';
import { sql } from '../../core/db/database.js';
import type { NetworkDB } from '../db/schema.js';
import { neutronNow } from './context.js';
import { neutronError } from './errors.js';

/** Resource tables that carry tags (the standard-attr-tag extension), by collection name. */
export const TAGGABLE: Record<string, keyof NetworkDB> = {
  networks: 'network', subnets: 'subnet', ports: 'port', routers: 'router', floatingips: 'floating_ip',
  security_groups: 'security_group', subnetpools: 'subnet_pool', address_scopes: 'address_scope',
};

/** Tags of many resources at once (for list views). */
export async function tagsOf(db: Kysely<NetworkDB>, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (ids.length === 0) return out;
  // chunks keep SQLite below its bound-parameter limit
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('tag').select(['resource_id', 'tag']).where('resource_id', 'in', ids.slice(i, i + 500)).orderBy('tag').execute();
    for (const r of rows) {
      const l = out.get(r.resource_id) ?? [];
      l.push(r.tag);
      out.set(r.resource_id, l);
    }
  }
  return out;
}

export function validateTag(tag: unknown): string {
  if (typeof tag !== 'string' || tag === '' || tag.length > 255 || tag.includes(',') || tag.includes('/')) {
    throw neutronError(400, 'InvalidInput', `Invalid input for operation: '${String(tag)}' is not a valid tag.`);
  }
  return tag;
}

/** Replaces a resource's tags and bumps its revision. */
export async function replaceTags(db: Kysely<NetworkDB>, table: keyof NetworkDB, id: string, tags: string[]): Promise<void> {
  const unique = [...new Set(tags.map(validateTag))];
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('tag').where('resource_id', '=', id).execute();
    if (unique.length) await trx.insertInto('tag').values(unique.map((tag) => ({ resource_type: table, resource_id: id, tag }))).execute();
    await bump(trx, table, id);
  });
}

export async function addTag(db: Kysely<NetworkDB>, table: keyof NetworkDB, id: string, tag: string): Promise<void> {
  validateTag(tag);
  await db.transaction().execute(async (trx) => {
    const have = await trx.selectFrom('tag').select('tag').where('resource_id', '=', id).where('tag', '=', tag).executeTakeFirst();
    if (have) return;
    await trx.insertInto('tag').values({ resource_type: table, resource_id: id, tag }).execute();
    await bump(trx, table, id);
  });
}

/** False when the resource did not have the tag. */
export async function removeTag(db: Kysely<NetworkDB>, table: keyof NetworkDB, id: string, tag?: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    let q = trx.deleteFrom('tag').where('resource_id', '=', id);
    if (tag !== undefined) q = q.where('tag', '=', tag);
    const r = await q.executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) return tag === undefined;
    await bump(trx, table, id);
    return true;
  });
}

/** Standard attributes on change: revision_number + 1 and updated_at now. */
export async function bump(db: Kysely<NetworkDB>, table: keyof NetworkDB, id: string): Promise<void> {
  await (db as Kysely<any>).updateTable(table)
    .set({ revision_number: sql`revision_number + 1`, updated_at: neutronNow() })
    .where('id', '=', id).execute();
}
