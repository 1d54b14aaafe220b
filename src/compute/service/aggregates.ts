/**
 * Host aggregates (os-aggregates). An aggregate's `availability_zone` metadata is the zone of
 * its hosts (kept in the aggregate.availability_zone column too); Nova's rules apply: a host is
 * in at most one zone, a zone cannot change under hosts that run servers, a non-empty aggregate
 * cannot be deleted. Membership is mirrored onto the hosts' placement resource providers (the
 * aggregate uuid), so `member_of` queries see it.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { badRequest, conflict, HttpError, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { AggregateRow, ComputeDB } from '../db/schema.js';
import { lockKey, type ComputeContext } from './context.js';
import { hostCacheOf } from '../scheduler/host-cache.js';
import { computeServiceOf } from './hosts.js';

export interface Aggregate extends AggregateRow {
  hosts: string[];
  metadata: Record<string, string>;
}

const AZ_KEY = 'availability_zone';

/**
 * Aggregate ids are never reused (Nova's autoincrement): a deleted aggregate with the highest id
 * stays behind as a tombstone row (hosts and metadata gone, renamed with this prefix, which no
 * aggregate name can start with), so max(id) + 1 stays fresh. At most one tombstone exists.
 */
const TOMBSTONE = '\u0001deleted:';
const live = <Q extends { where: (...a: any[]) => Q }>(q: Q): Q => q.where('name', 'not like', `${TOMBSTONE}%`);

/** Aggregate membership mirrored on the hosts' placement providers (member_of queries see it). */
async function mirrorToPlacement(c: ComputeContext, host: string, aggUuid: string, add: boolean): Promise<void> {
  const p = c.placement;
  const nodes = await c.db.selectFrom('compute_node').select('uuid').where('host', '=', host).execute();
  for (const n of nodes) {
    try {
      const cur = await p.providerAggregates(n.uuid);
      const next = add ? [...new Set([...cur, aggUuid])] : cur.filter((a) => a !== aggUuid);
      if (next.length !== cur.length) await p.setProviderAggregates(n.uuid, next);
    } catch (e) {
      // Nova logs and carries on when placement cannot be updated (the compute record is the truth).
      c.logger.warn({ err: e, host, aggregate: aggUuid }, 'could not mirror aggregate membership to placement');
    }
  }
}

async function load(db: Kysely<ComputeDB>, rows: AggregateRow[]): Promise<Aggregate[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const hosts = await db.selectFrom('aggregate_host').selectAll().where('aggregate_id', 'in', ids).orderBy('host').execute();
  const meta = await db.selectFrom('aggregate_metadata').selectAll().where('aggregate_id', 'in', ids).orderBy('key').execute();
  return rows.map((r) => ({
    ...r,
    id: Number(r.id),
    hosts: hosts.filter((h) => Number(h.aggregate_id) === Number(r.id)).map((h) => h.host),
    metadata: Object.fromEntries(meta.filter((m) => Number(m.aggregate_id) === Number(r.id)).map((m) => [m.key, m.value])),
  }));
}

export async function listAggregates(c: ComputeContext): Promise<Aggregate[]> {
  return load(c.db, await live(c.db.selectFrom('aggregate').selectAll()).orderBy('id').execute());
}

export async function getAggregate(c: ComputeContext | { db: Kysely<ComputeDB> }, id: number): Promise<Aggregate> {
  const row = await live(c.db.selectFrom('aggregate').selectAll().where('id', '=', id)).executeTakeFirst();
  if (!row) throw notFound(`Aggregate ${id} could not be found.`);
  return (await load(c.db, [row]))[0];
}

type Action = 'add' | 'update' | 'update_meta';
function invalid(action: Action, id: number, reason: string): HttpError {
  switch (action) {
    case 'add': return conflict(`Cannot add host to aggregate ${id}. Reason: ${reason}.`);
    case 'update': return badRequest(`Cannot update aggregate ${id}. Reason: ${reason}.`);
    default: return badRequest(`Cannot update metadata of aggregate ${id}. Reason: ${reason}.`);
  }
}

/** Nova's is_safe_to_update_az: the zone a change would give the hosts must not clash. */
async function checkZone(db: Kysely<ComputeDB>, agg: Aggregate, az: string | null | undefined, action: Action, hosts: string[], checkInstances: boolean): Promise<void> {
  if (az === undefined || az === null) return;
  if (az === '') throw invalid(action, agg.id, `Aggregate ${agg.name} does not support empty named availability zone`);
  if (hosts.length === 0) return;
  const others = await db.selectFrom('aggregate_host')
    .innerJoin('aggregate_metadata', 'aggregate_metadata.aggregate_id', 'aggregate_host.aggregate_id')
    .select(['aggregate_host.aggregate_id', 'aggregate_metadata.value'])
    .where('aggregate_metadata.key', '=', AZ_KEY).where('aggregate_host.host', 'in', hosts).execute();
  const clashing = [...new Set(others.filter((o) => Number(o.aggregate_id) !== agg.id && o.value !== az).map((o) => o.value))];
  if (clashing.length) throw invalid(action, agg.id, `One or more hosts already in availability zone(s) ['${clashing.join("', '")}']`);
  if (checkInstances && agg.availability_zone !== az) {
    const busy = await db.selectFrom('instance').select('uuid').where('host', 'in', hosts).where('deleted', '=', 0).executeTakeFirst();
    if (busy) throw invalid(action, agg.id, 'One or more hosts contain instances in this zone');
  }
}

async function nameTaken(db: Kysely<ComputeDB>, name: string, exceptId?: number): Promise<boolean> {
  let q = db.selectFrom('aggregate').select('id').where('name', '=', name);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

export async function createAggregate(c: ComputeContext, name: string, az: string | null): Promise<Aggregate> {
  if (az === '') throw badRequest(`Aggregate ${name} does not support empty named availability zone`);
  const id = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, 'aggregate');
    if (await nameTaken(trx, name)) throw conflict(`Aggregate ${name} already exists.`);
    const max = await trx.selectFrom('aggregate').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
    const next = Number(max?.m ?? 0) + 1;
    await trx.insertInto('aggregate').values({ id: next, uuid: randomUUID(), name, availability_zone: az, created_at: nowIso(), updated_at: null }).execute();
    if (az !== null) await trx.insertInto('aggregate_metadata').values({ aggregate_id: next, key: AZ_KEY, value: az }).execute();
    return next;
  }).catch((e) => {
    // the unique name index answers when two creators raced past the check
    if (!(e instanceof HttpError) && /unique|duplicate/i.test(String((e as Error).message))) throw conflict(`Aggregate ${name} already exists.`);
    throw e;
  });
  return getAggregate(c, id);
}

export async function updateAggregate(c: ComputeContext, id: number, values: { name?: string; availability_zone?: string | null }): Promise<Aggregate> {
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, 'aggregate');
    const agg = await getAggregate({ db: trx }, id);
    if (values.name !== undefined && (await nameTaken(trx, values.name, id))) throw conflict(`Aggregate ${values.name} already exists.`);
    if (values.availability_zone !== undefined) await checkZone(trx, agg, values.availability_zone, 'update', agg.hosts, true);
    const set: Partial<AggregateRow> = { updated_at: nowIso() };
    if (values.name !== undefined) set.name = values.name;
    if (values.availability_zone !== undefined) set.availability_zone = values.availability_zone;
    await trx.updateTable('aggregate').set(set).where('id', '=', id).execute();
    if (values.availability_zone !== undefined) {
      await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).where('key', '=', AZ_KEY).execute();
      if (values.availability_zone !== null) await trx.insertInto('aggregate_metadata').values({ aggregate_id: id, key: AZ_KEY, value: values.availability_zone }).execute();
    }
  }).catch((e) => {
    if (!(e instanceof HttpError) && /unique|duplicate/i.test(String((e as Error).message))) throw conflict(`Aggregate ${values.name} already exists.`);
    throw e;
  });
  hostCacheOf(c).invalidate();
  return getAggregate(c, id);
}

export async function deleteAggregate(c: ComputeContext, id: number): Promise<void> {
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, 'aggregate');
    const agg = await getAggregate({ db: trx }, id);
    if (agg.hosts.length) throw badRequest(`Cannot delete aggregate ${id}. Reason: Host aggregate is not empty.`);
    await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).execute();
    await trx.updateTable('aggregate').set({ name: `${TOMBSTONE}${agg.uuid}`, availability_zone: null, updated_at: nowIso() }).where('id', '=', id).execute();
    const max = await trx.selectFrom('aggregate').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
    await trx.deleteFrom('aggregate').where('name', 'like', `${TOMBSTONE}%`).where('id', '<', Number(max?.m ?? 0)).execute();
  });
}

export async function addHost(c: ComputeContext, id: number, host: string): Promise<Aggregate> {
  await getAggregate(c, id);
  await computeServiceOf(c, host);
  const agg = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, 'aggregate');
    const a = await getAggregate({ db: trx }, id);
    if (a.hosts.includes(host)) throw conflict(`Aggregate ${id} already has host ${host}.`);
    await checkZone(trx, a, a.metadata[AZ_KEY], 'add', [host], false);
    await trx.insertInto('aggregate_host').values({ aggregate_id: id, host }).execute();
    return a;
  });
  hostCacheOf(c).invalidate();
  await mirrorToPlacement(c, host, agg.uuid, true);
  return getAggregate(c, id);
}

export async function removeHost(c: ComputeContext, id: number, host: string): Promise<Aggregate> {
  await getAggregate(c, id);
  await computeServiceOf(c, host);
  const agg = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, 'aggregate');
    const a = await getAggregate({ db: trx }, id);
    if (!a.hosts.includes(host)) throw notFound(`Aggregate ${id} has no host ${host}.`);
    await trx.deleteFrom('aggregate_host').where('aggregate_id', '=', id).where('host', '=', host).execute();
    return a;
  });
  hostCacheOf(c).invalidate();
  await mirrorToPlacement(c, host, agg.uuid, false);
  return getAggregate(c, id);
}

/** set_metadata: each key set to its value, or removed when the value is null. */
export async function setMetadata(c: ComputeContext, id: number, metadata: Record<string, string | null>): Promise<Aggregate> {
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, 'aggregate');
    const agg = await getAggregate({ db: trx }, id);
    if (AZ_KEY in metadata) await checkZone(trx, agg, metadata[AZ_KEY], 'update_meta', agg.hosts, true);
    for (const [key, value] of Object.entries(metadata)) {
      await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).where('key', '=', key).execute();
      if (value !== null) await trx.insertInto('aggregate_metadata').values({ aggregate_id: id, key, value }).execute();
    }
    const set: Partial<AggregateRow> = { updated_at: nowIso() };
    if (AZ_KEY in metadata) set.availability_zone = metadata[AZ_KEY];
    await trx.updateTable('aggregate').set(set).where('id', '=', id).execute();
  });
  hostCacheOf(c).invalidate();
  return getAggregate(c, id);
}
