import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DbKind } from '../../core/db/database.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../core/db/database.js';
import { nowIso } from '../../core/ids.js';
import type { PlacementDB, ProviderRow } from '../db/schema.js';
import { invOf, normalizeInventory, type Inventory, type InventoryInput } from './inventory.js';
import { capacityOf, unitProblem, type SnapProvider, type Snapshot } from './candidates.js';
export { MAX_INT, type Inventory, type InventoryInput } from './inventory.js';
import { SnapshotCache, type ProviderUsage } from './snapshot-cache.js';
import { bad, conflict, generationConflict, missing } from './errors.js';
import { STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS } from './standard.js';

type Db = Kysely<PlacementDB> | Transaction<PlacementDB>;

const STD_RC = new Set(STANDARD_RESOURCE_CLASSES);
const STD_TRAITS = new Set(STANDARD_TRAITS);

/** One consumer's allocations to write: provider → class → amount. */
export interface ConsumerAllocations {
  consumer: string;
  allocations: Record<string, Record<string, number>>;
  project_id?: string;
  user_id?: string;
  consumer_type?: string;
  /** undefined: not checked (before 1.28); null: the consumer must be new. */
  consumer_generation?: number | null;
}

export interface ProviderFilters {
  name?: string;
  uuid?: string;
  inTree?: string;
  memberOf?: string[][];
  forbiddenAggregates?: string[];
  resources?: Map<string, number>;
  required?: string[][];
  forbidden?: string[];
}

/** The placement domain: the only place that decides. */
/** Writes that change what the snapshot holds besides usage. */
const STRUCTURAL_WRITES = [
  'createResourceClass', 'deleteResourceClass', 'createTrait', 'deleteTrait', 'createProvider', 'updateProvider', 'deleteProvider',
  'setInventories', 'deleteInventory', 'setProviderTraits', 'setProviderAggregates',
] as const;

export class PlacementService {
  /** The snapshot candidate searches read (kept in memory; see SnapshotCache). */
  readonly cache: SnapshotCache;

  constructor(readonly db: Kysely<PlacementDB>, readonly kind: DbKind, readonly defaultProject = 'incomplete', readonly defaultUser = 'incomplete') {
    this.cache = new SnapshotCache(() => this.snapshot());
    // Every structural write drops the cached snapshot, whether it succeeds or not.
    for (const name of STRUCTURAL_WRITES) {
      const original = this[name] as (...a: unknown[]) => Promise<unknown>;
      (this as Record<string, unknown>)[name] = async (...a: unknown[]) => {
        try {
          return await original.apply(this, a);
        } finally {
          this.cache.invalidate();
        }
      };
    }
  }

  /** Generation and usage of some providers (read in the transaction that changed them). */
  private async usagesOf(db: Db, uuids: string[]): Promise<Map<string, ProviderUsage>> {
    const out = new Map<string, ProviderUsage>();
    if (uuids.length === 0) return out;
    const gens = await db.selectFrom('resource_provider').select(['uuid', 'generation']).where('uuid', 'in', uuids).execute();
    const rows = await db.selectFrom('allocation').select(['provider_uuid', 'resource_class']).select((eb) => eb.fn.sum<number>('used').as('used'))
      .where('provider_uuid', 'in', uuids).groupBy(['provider_uuid', 'resource_class']).execute();
    for (const g of gens) out.set(g.uuid, { generation: g.generation, usages: new Map() });
    for (const r of rows) out.get(r.provider_uuid)?.usages.set(r.resource_class, Number(r.used));
    return out;
  }

  // ---- resource classes and traits

  async resourceClasses(): Promise<string[]> {
    const custom = await this.db.selectFrom('custom_resource_class').select('name').orderBy('name').execute();
    return [...STANDARD_RESOURCE_CLASSES, ...custom.map((r) => r.name)];
  }
  async resourceClassExists(name: string, db: Db = this.db): Promise<boolean> {
    if (STD_RC.has(name)) return true;
    return !!(await db.selectFrom('custom_resource_class').select('name').where('name', '=', name).executeTakeFirst());
  }
  /** Creates a custom class; false when it already existed. */
  async createResourceClass(name: string, failIfExists: boolean): Promise<boolean> {
    if (!/^CUSTOM_[A-Z0-9_]+$/.test(name)) throw bad(`'${name}' does not match '^CUSTOM_[A-Z0-9_]+$'`);
    if (await this.resourceClassExists(name)) {
      if (failIfExists) throw conflict(`Conflicting resource provider name: ${name} already exists.`, 'placement.duplicate_name');
      return false;
    }
    try {
      await this.db.insertInto('custom_resource_class').values({ name, created_at: nowIso() }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      if (failIfExists) throw conflict(`Conflicting resource class name: ${name} already exists.`, 'placement.duplicate_name');
      return false;
    }
    return true;
  }
  async deleteResourceClass(name: string): Promise<void> {
    if (STD_RC.has(name)) throw bad(`Cannot delete standard resource class ${name}: `);
    await this.db.transaction().execute(async (trx) => {
      if (!(await this.resourceClassExists(name, trx))) throw missing(`No such resource class ${name}.`);
      const inUse = await trx.selectFrom('inventory').select('provider_uuid').where('resource_class', '=', name).executeTakeFirst();
      if (inUse) throw conflict(`Unable to delete resource class ${name}. Class is in use in inventory.`);
      await trx.deleteFrom('custom_resource_class').where('name', '=', name).execute();
    });
  }

  async traits(filter: { startsWith?: string; in?: string[]; associated?: boolean }): Promise<string[]> {
    const custom = (await this.db.selectFrom('custom_trait').select('name').execute()).map((r) => r.name);
    let names = [...STANDARD_TRAITS, ...custom];
    if (filter.startsWith !== undefined) names = names.filter((n) => n.startsWith(filter.startsWith!));
    if (filter.in) names = names.filter((n) => filter.in!.includes(n));
    if (filter.associated !== undefined) {
      const used = new Set((await this.db.selectFrom('provider_trait').select('trait').distinct().execute()).map((r) => r.trait));
      names = names.filter((n) => used.has(n) === filter.associated);
    }
    return names.sort();
  }
  async traitExists(name: string, db: Db = this.db): Promise<boolean> {
    if (STD_TRAITS.has(name)) return true;
    return !!(await db.selectFrom('custom_trait').select('name').where('name', '=', name).executeTakeFirst());
  }
  async createTrait(name: string): Promise<boolean> {
    if (!/^CUSTOM_[A-Z0-9_]+$/.test(name)) throw bad(`The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"`);
    if (await this.traitExists(name)) return false;
    try {
      await this.db.insertInto('custom_trait').values({ name, created_at: nowIso() }).execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }
  async deleteTrait(name: string): Promise<void> {
    if (STD_TRAITS.has(name)) throw bad(`Cannot delete standard trait ${name}.`);
    await this.db.transaction().execute(async (trx) => {
      if (!(await this.traitExists(name, trx))) throw missing(`No such trait(s): ${name}.`);
      if (await trx.selectFrom('provider_trait').select('trait').where('trait', '=', name).executeTakeFirst()) {
        throw conflict(`The trait ${name} is in use by a resource provider.`);
      }
      await trx.deleteFrom('custom_trait').where('name', '=', name).execute();
    });
  }

  // ---- providers

  async provider(uuid: string, db: Db = this.db): Promise<ProviderRow> {
    const p = await db.selectFrom('resource_provider').selectAll().where('uuid', '=', uuid).executeTakeFirst();
    if (!p) throw missing(`No resource provider with uuid ${uuid} found`);
    return p;
  }

  async createProvider(input: { name: string; uuid?: string; parent_provider_uuid?: string | null }): Promise<ProviderRow> {
    const uuid = input.uuid ?? randomUUID();
    return this.db.transaction().execute(async (trx) => {
      if (await trx.selectFrom('resource_provider').select('uuid').where('uuid', '=', uuid).executeTakeFirst()) {
        throw conflict(`Conflicting resource provider uuid: ${uuid} already exists.`, 'placement.duplicate_uuid');
      }
      if (await trx.selectFrom('resource_provider').select('uuid').where('name', '=', input.name).executeTakeFirst()) {
        throw conflict(`Conflicting resource provider name: ${input.name} already exists.`, 'placement.duplicate_name');
      }
      let root = uuid;
      if (input.parent_provider_uuid) {
        const parent = await trx.selectFrom('resource_provider').selectAll().where('uuid', '=', input.parent_provider_uuid).executeTakeFirst();
        if (!parent) throw bad(`parent provider UUID ${input.parent_provider_uuid} does not exist.`);
        root = parent.root_uuid;
      }
      const now = nowIso();
      const row: ProviderRow = { uuid, name: input.name, generation: 0, parent_uuid: input.parent_provider_uuid ?? null, root_uuid: root, created_at: now, updated_at: now };
      try {
        await trx.insertInto('resource_provider').values(row).execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict(`Conflicting resource provider name: ${input.name} already exists.`, 'placement.duplicate_name');
        throw e;
      }
      return row;
    });
  }

  /** Renames and (1.37) re-parents a provider. `parent` undefined leaves the parent alone. */
  async updateProvider(uuid: string, name: string, parent: string | null | undefined, allowReparent: boolean): Promise<ProviderRow> {
    return this.db.transaction().execute(async (trx) => {
      const p = await this.provider(uuid, trx);
      const other = await trx.selectFrom('resource_provider').select('uuid').where('name', '=', name).where('uuid', '!=', uuid).executeTakeFirst();
      if (other) throw conflict(`Conflicting resource provider name: ${name} already exists.`, 'placement.duplicate_name');
      let parentUuid = p.parent_uuid;
      let root = p.root_uuid;
      if (parent !== undefined && parent !== p.parent_uuid) {
        if (!allowReparent && p.parent_uuid !== null) throw bad('Unable to save resource provider ' + uuid + ': Object action update failed because: re-parenting a provider is not currently allowed.');
        if (!allowReparent && parent === null) throw bad('Unable to save resource provider ' + uuid + ': Object action update failed because: un-parenting a provider is not currently allowed.');
        if (parent !== null) {
          const np = await trx.selectFrom('resource_provider').selectAll().where('uuid', '=', parent).executeTakeFirst();
          if (!np) throw bad(`parent provider UUID ${parent} does not exist.`);
          // No loops: the new parent must not be this provider or one of its descendants.
          let cur: string | null = np.uuid;
          while (cur) {
            if (cur === uuid) throw bad('creating loop in the provider tree is not allowed.');
            cur = (await trx.selectFrom('resource_provider').select('parent_uuid').where('uuid', '=', cur).executeTakeFirst())?.parent_uuid ?? null;
          }
          root = np.root_uuid;
        } else root = uuid;
        parentUuid = parent;
      }
      const now = nowIso();
      await trx.updateTable('resource_provider').set({ name, parent_uuid: parentUuid, updated_at: now, generation: p.generation + 1 }).where('uuid', '=', uuid).execute();
      if (root !== p.root_uuid) {
        // Move the whole subtree to the new root.
        const sub = await this.subtree(uuid, trx);
        await trx.updateTable('resource_provider').set({ root_uuid: root }).where('uuid', 'in', sub).execute();
      }
      return { ...p, name, parent_uuid: parentUuid, root_uuid: root, updated_at: now, generation: p.generation + 1 };
    });
  }

  private async subtree(uuid: string, db: Db): Promise<string[]> {
    const out = [uuid];
    for (let i = 0; i < out.length; i++) {
      const kids = await db.selectFrom('resource_provider').select('uuid').where('parent_uuid', '=', out[i]).execute();
      out.push(...kids.map((k) => k.uuid));
    }
    return out;
  }

  async deleteProvider(uuid: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.lock(trx, [uuid]);
      await this.provider(uuid, trx);
      if (await trx.selectFrom('allocation').select('consumer_uuid').where('provider_uuid', '=', uuid).executeTakeFirst()) {
        throw conflict(`Unable to delete resource provider ${uuid}: Resource provider has allocations.`, 'placement.resource_provider.inuse');
      }
      if (await trx.selectFrom('resource_provider').select('uuid').where('parent_uuid', '=', uuid).executeTakeFirst()) {
        throw conflict(`Unable to delete parent resource provider ${uuid}: It has child resource providers.`, 'placement.resource_provider.cannot_delete_parent');
      }
      await trx.deleteFrom('resource_provider').where('uuid', '=', uuid).execute();
    });
  }

  /** Providers matching the list filters, in name order. */
  async listProviders(f: ProviderFilters): Promise<ProviderRow[]> {
    const snap = await this.cache.get();
    const out: ProviderRow[] = [];
    const inTreeRoot = f.inTree ? snap.providers.get(f.inTree)?.root_uuid ?? '-none-' : undefined;
    for (const p of snap.providers.values()) {
      if (f.name !== undefined && p.name !== f.name) continue;
      if (f.uuid !== undefined && p.uuid !== f.uuid) continue;
      if (inTreeRoot !== undefined && p.root_uuid !== inTreeRoot) continue;
      if (f.memberOf && !f.memberOf.every((any) => any.some((a) => p.aggregates.has(a)))) continue;
      if (f.forbiddenAggregates?.some((a) => p.aggregates.has(a))) continue;
      if (f.required && !f.required.every((any) => any.some((t) => p.traits.has(t)))) continue;
      if (f.forbidden?.some((t) => p.traits.has(t))) continue;
      if (f.resources) {
        let ok = true;
        for (const [rc, n] of f.resources) {
          const inv = p.inventories.get(rc);
          if (!inv || n > inv.max_unit || (p.usages.get(rc) ?? 0) + n > capacityOf(inv)) ok = false;
        }
        if (!ok) continue;
      }
      out.push(toRow(p));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Everything the candidate search and list filters need, read in one go. */
  async snapshot(db: Db = this.db): Promise<Snapshot> {
    const [providers, inventories, usages, traits, aggs] = await Promise.all([
      db.selectFrom('resource_provider').selectAll().execute(),
      db.selectFrom('inventory').selectAll().execute(),
      db.selectFrom('allocation').select(['provider_uuid', 'resource_class']).select((eb) => eb.fn.sum<number>('used').as('used')).groupBy(['provider_uuid', 'resource_class']).execute(),
      db.selectFrom('provider_trait').selectAll().execute(),
      db.selectFrom('provider_aggregate').selectAll().execute(),
    ]);
    const map = new Map<string, SnapProvider>();
    for (const p of providers) map.set(p.uuid, { ...p, inventories: new Map(), usages: new Map(), traits: new Set(), aggregates: new Set() });
    for (const i of inventories) map.get(i.provider_uuid)?.inventories.set(i.resource_class, { total: Number(i.total), reserved: Number(i.reserved), min_unit: Number(i.min_unit), max_unit: Number(i.max_unit), step_size: Number(i.step_size), allocation_ratio: Number(i.allocation_ratio) });
    for (const u of usages) map.get(u.provider_uuid)?.usages.set(u.resource_class, Number(u.used));
    for (const t of traits) map.get(t.provider_uuid)?.traits.add(t.trait);
    for (const a of aggs) map.get(a.provider_uuid)?.aggregates.add(a.aggregate_uuid);
    return { providers: map };
  }

  // ---- generations and locks

  /** PostgreSQL: row locks on the providers (in uuid order, so no deadlock). SQLite writes are serial. */
  private async lock(trx: Db, uuids: string[]): Promise<void> {
    if (this.kind !== 'postgres' || uuids.length === 0) return;
    await trx.selectFrom('resource_provider').select('uuid').where('uuid', 'in', [...new Set(uuids)].sort()).orderBy('uuid').forUpdate().execute();
  }

  /** Bumps a provider's generation, checking the caller's view of it first. */
  private async bump(trx: Db, uuid: string, expected?: number): Promise<number> {
    const p = await this.provider(uuid, trx);
    if (expected !== undefined && p.generation !== expected) {
      throw generationConflict(`resource provider generation conflict: ${uuid} is at generation ${p.generation}, not ${expected}. Please update the generation and try again.`);
    }
    const r = await trx.updateTable('resource_provider').set({ generation: p.generation + 1, updated_at: nowIso() }).where('uuid', '=', uuid).where('generation', '=', p.generation).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw generationConflict(`resource provider generation conflict: ${uuid} was updated concurrently. Please update the generation and try again.`);
    return p.generation + 1;
  }

  // ---- inventories

  async inventories(uuid: string, db: Db = this.db): Promise<{ generation: number; inventories: Record<string, Inventory> }> {
    const p = await this.provider(uuid, db);
    const rows = await db.selectFrom('inventory').selectAll().where('provider_uuid', '=', uuid).orderBy('resource_class').execute();
    return { generation: p.generation, inventories: Object.fromEntries(rows.map((r) => [r.resource_class, invOf(r)])) };
  }

  private async usageOf(db: Db, uuid: string): Promise<Map<string, number>> {
    return (await this.usagesOf(db, [uuid])).get(uuid)?.usages ?? new Map();
  }

  /**
   * Replaces some (`only` set: those classes) or all inventories of a provider, refusing
   * to drop a class in use.
   */
  async setInventories(uuid: string, generation: number, input: Record<string, InventoryInput>, opts: { replaceAll: boolean; reservedCanBeTotal: boolean }): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx, [uuid]);
      await this.provider(uuid, trx);
      const next = new Map<string, Inventory>();
      for (const [rc, i] of Object.entries(input)) {
        if (!(await this.resourceClassExists(rc, trx))) throw bad(`Unknown resource class in inventory for resource provider ${uuid}: ${rc}`);
        next.set(rc, normalizeInventory(rc, i, uuid, opts.reservedCanBeTotal));
      }
      const usage = await this.usageOf(trx, uuid);
      const current = await trx.selectFrom('inventory').selectAll().where('provider_uuid', '=', uuid).execute();
      const newGen = await this.bump(trx, uuid, generation);
      if (opts.replaceAll) {
        const gone = current.filter((c) => !next.has(c.resource_class)).map((c) => c.resource_class);
        const inUse = gone.filter((rc) => (usage.get(rc) ?? 0) > 0);
        if (inUse.length) throw conflict(`update conflict: Inventory for '${inUse.join(', ')}' on resource provider '${uuid}' in use.`, 'placement.inventory.inuse');
        if (gone.length) await trx.deleteFrom('inventory').where('provider_uuid', '=', uuid).where('resource_class', 'in', gone).execute();
      }
      for (const [rc, inv] of next) {
        // As upstream: capacity may drop below what is allocated (an operator draining a
        // host); existing allocations stay and new claims fail until usage falls.
        await trx.deleteFrom('inventory').where('provider_uuid', '=', uuid).where('resource_class', '=', rc).execute();
        await trx.insertInto('inventory').values({ provider_uuid: uuid, resource_class: rc, ...inv }).execute();
      }
      return newGen;
    });
  }

  /** Deletes one class's inventory (or all, when rc is undefined); 409 when in use. */
  async deleteInventory(uuid: string, rc: string | undefined, generation?: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.lock(trx, [uuid]);
      await this.provider(uuid, trx);
      const usage = await this.usageOf(trx, uuid);
      let q = trx.selectFrom('inventory').select('resource_class').where('provider_uuid', '=', uuid);
      if (rc !== undefined) q = q.where('resource_class', '=', rc);
      const rows = await q.execute();
      if (rc !== undefined && rows.length === 0) throw missing(`No inventory of class ${rc} found for delete`);
      const inUse = rows.map((r) => r.resource_class).filter((c) => (usage.get(c) ?? 0) > 0);
      if (inUse.length) throw conflict(`Unable to delete inventory for resource provider ${uuid} because the inventory is in use.`, 'placement.inventory.inuse');
      await this.bump(trx, uuid, generation);
      let d = trx.deleteFrom('inventory').where('provider_uuid', '=', uuid);
      if (rc !== undefined) d = d.where('resource_class', '=', rc);
      await d.execute();
    });
  }

  // ---- traits and aggregates of a provider

  async providerTraits(uuid: string): Promise<{ generation: number; traits: string[] }> {
    const p = await this.provider(uuid);
    const rows = await this.db.selectFrom('provider_trait').select('trait').where('provider_uuid', '=', uuid).orderBy('trait').execute();
    return { generation: p.generation, traits: rows.map((r) => r.trait) };
  }
  async setProviderTraits(uuid: string, generation: number, traits: string[]): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx, [uuid]);
      const unknown: string[] = [];
      for (const t of new Set(traits)) if (!(await this.traitExists(t, trx))) unknown.push(t);
      const gen = await this.bump(trx, uuid, generation);
      if (unknown.length) throw bad(`No such trait(s): ${unknown.join(', ')}`);
      await trx.deleteFrom('provider_trait').where('provider_uuid', '=', uuid).execute();
      if (traits.length) await trx.insertInto('provider_trait').values([...new Set(traits)].map((t) => ({ provider_uuid: uuid, trait: t }))).execute();
      return gen;
    });
  }
  async providerAggregates(uuid: string): Promise<{ generation: number; aggregates: string[] }> {
    const p = await this.provider(uuid);
    const rows = await this.db.selectFrom('provider_aggregate').select('aggregate_uuid').where('provider_uuid', '=', uuid).orderBy('aggregate_uuid').execute();
    return { generation: p.generation, aggregates: rows.map((r) => r.aggregate_uuid) };
  }
  async setProviderAggregates(uuid: string, generation: number | undefined, aggregates: string[]): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx, [uuid]);
      const gen = await this.bump(trx, uuid, generation);
      await trx.deleteFrom('provider_aggregate').where('provider_uuid', '=', uuid).execute();
      const set = [...new Set(aggregates)];
      if (set.length) await trx.insertInto('provider_aggregate').values(set.map((a) => ({ provider_uuid: uuid, aggregate_uuid: a }))).execute();
      return gen;
    });
  }

  // ---- allocations

  async consumerAllocations(consumer: string) {
    const rows = await this.db.selectFrom('allocation').selectAll().where('consumer_uuid', '=', consumer).execute();
    const c = await this.db.selectFrom('consumer').selectAll().where('uuid', '=', consumer).executeTakeFirst();
    const gens = new Map<string, number>();
    for (const r of rows) if (!gens.has(r.provider_uuid)) gens.set(r.provider_uuid, (await this.provider(r.provider_uuid)).generation);
    const allocations: Record<string, { generation: number; resources: Record<string, number> }> = {};
    for (const r of rows) {
      allocations[r.provider_uuid] ??= { generation: gens.get(r.provider_uuid)!, resources: {} };
      allocations[r.provider_uuid].resources[r.resource_class] = Number(r.used);
    }
    return { allocations, consumer: rows.length ? c : undefined };
  }

  async providerAllocations(uuid: string) {
    const p = await this.provider(uuid);
    const rows = await this.db.selectFrom('allocation').selectAll().where('provider_uuid', '=', uuid).execute();
    const allocations: Record<string, { resources: Record<string, number> }> = {};
    for (const r of rows) {
      allocations[r.consumer_uuid] ??= { resources: {} };
      allocations[r.consumer_uuid].resources[r.resource_class] = Number(r.used);
    }
    return { generation: p.generation, allocations };
  }

  /**
   * Replaces the allocations of one or more consumers in one transaction: every provider
   * touched is locked and its generation bumped, capacity and units are checked against
   * the usage others hold, consumer generations are compared (1.28). Set-based (a few
   * statements whatever the number of classes and providers): the scheduler's claims are
   * serial on SQLite's one writer, so each statement saved is throughput.
   */
  async writeAllocations(items: ConsumerAllocations[]): Promise<void> {
    const fresh = await this.db.transaction().execute(async (trx) => {
      const consumers = items.map((i) => i.consumer);
      const existing = await trx.selectFrom('allocation').select('provider_uuid').where('consumer_uuid', 'in', consumers).execute();
      const wanted = new Set(items.flatMap((i) => Object.keys(i.allocations)));
      const touched = [...new Set([...existing.map((e) => e.provider_uuid), ...wanted])];
      await this.lock(trx, touched);
      const current = new Map((await trx.selectFrom('consumer').selectAll().where('uuid', 'in', consumers).execute()).map((c) => [c.uuid, c]));
      const now = nowIso();
      const rows: { provider_uuid: string; consumer_uuid: string; resource_class: string; used: number; created_at: string }[] = [];
      const emptied: string[] = [];
      for (const item of items) {
        const c = current.get(item.consumer);
        if (item.consumer_generation !== undefined) {
          if (c && item.consumer_generation === null) {
            throw generationConflict(`consumer generation conflict - expected null but got ${c.generation}`);
          }
          if (!c && item.consumer_generation !== null) {
            throw generationConflict(`consumer generation conflict - expected ${item.consumer_generation} but got null`);
          }
          if (c && c.generation !== item.consumer_generation) {
            throw generationConflict(`consumer generation conflict - expected ${item.consumer_generation} but got ${c.generation}`);
          }
        }
        const hasAllocations = Object.values(item.allocations).some((r) => Object.keys(r).length > 0);
        if (c && !hasAllocations) {
          emptied.push(c.uuid);
        } else if (c) {
          await trx.updateTable('consumer').set({
            generation: c.generation + 1,
            updated_at: now,
            project_id: item.project_id ?? c.project_id,
            user_id: item.user_id ?? c.user_id,
            consumer_type: item.consumer_type ?? c.consumer_type,
          }).where('uuid', '=', c.uuid).where('generation', '=', c.generation).execute();
        } else if (hasAllocations) {
          try {
            await trx.insertInto('consumer').values({
              uuid: item.consumer, project_id: item.project_id ?? this.defaultProject, user_id: item.user_id ?? this.defaultUser,
              consumer_type: item.consumer_type ?? null, generation: 1, created_at: now, updated_at: now,
            }).execute();
          } catch (e) {
            if (isUniqueViolation(e)) throw generationConflict('consumer generation conflict - the consumer was created concurrently');
            throw e;
          }
        }
        for (const [rp, resources] of Object.entries(item.allocations)) {
          for (const [rc, used] of Object.entries(resources)) if (used !== 0) rows.push({ provider_uuid: rp, consumer_uuid: item.consumer, resource_class: rc, used, created_at: now });
        }
      }
      if (existing.length > 0) await trx.deleteFrom('allocation').where('consumer_uuid', 'in', consumers).execute();
      if (rows.length > 0) {
        try {
          await trx.insertInto('allocation').values(rows).execute();
        } catch (e) {
          throw isForeignKeyViolation(e) ? new UnknownProvider([...wanted]) : e;
        }
      }
      if (emptied.length > 0) await trx.deleteFrom('consumer').where('uuid', 'in', emptied).execute();

      // Check every new allocation against the providers' inventories and total usage.
      // usage has an entry for every touched provider that exists
      const usage = await this.usagesOf(trx, touched);
      const invs = new Map<string, Map<string, Inventory>>();
      if (wanted.size > 0) {
        for (const r of await trx.selectFrom('inventory').selectAll().where('provider_uuid', 'in', [...wanted]).execute()) {
          (invs.get(r.provider_uuid) ?? invs.set(r.provider_uuid, new Map()).get(r.provider_uuid)!).set(r.resource_class, invOf(r));
        }
      }
      for (const item of items) {
        for (const [rp, resources] of Object.entries(item.allocations)) {
          if (!usage.has(rp)) throw bad(`Unable to allocate inventory: Resource provider '${rp}' not found.`);
          for (const [rc, used] of Object.entries(resources)) {
            const inv = invs.get(rp)?.get(rc);
            if (!inv) {
              if (!(await this.resourceClassExists(rc, trx))) throw bad(`Unable to allocate inventory: Unknown resource class in allocation: ${rc}`);
              throw conflict(`Unable to allocate inventory: Inventory for '${rc}' on resource provider '${rp}' invalid.`, 'placement.undefined_code');
            }
            const problem = unitProblem(inv, used);
            if (problem) {
              throw conflict(`Unable to allocate inventory: Unable to create allocation for '${rc}' on resource provider '${rp}'. The requested amount would violate inventory constraints.`);
            }
            if ((usage.get(rp)?.usages.get(rc) ?? 0) > capacityOf(inv)) {
              throw conflict(`Unable to allocate inventory: Unable to create allocation for '${rc}' on resource provider '${rp}'. The requested amount would exceed the capacity.`);
            }
          }
        }
      }
      return this.bumpAll(trx, usage);
    }).catch(async (e: unknown) => {
      if (!(e instanceof UnknownProvider)) throw e;
      // Named only once the insert failed (and its transaction is over), so a claim pays no lookup for it.
      const known = new Set((await this.db.selectFrom('resource_provider').select('uuid').where('uuid', 'in', e.uuids).execute()).map((p) => p.uuid));
      throw bad(`Unable to allocate inventory: Resource provider '${e.uuids.find((u) => !known.has(u)) ?? ''}' not found.`);
    });
    this.cache.usagesChanged(fresh);
  }

  async deleteAllocations(consumer: string): Promise<void> {
    const fresh = await this.db.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('allocation').select('provider_uuid').where('consumer_uuid', '=', consumer).execute();
      if (rows.length === 0) throw missing(`No allocations for consumer '${consumer}'`);
      const touched = [...new Set(rows.map((r) => r.provider_uuid))];
      await this.lock(trx, touched);
      await trx.deleteFrom('allocation').where('consumer_uuid', '=', consumer).execute();
      await trx.deleteFrom('consumer').where('uuid', '=', consumer).execute();
      return this.bumpAll(trx, await this.usagesOf(trx, touched));
    });
    this.cache.usagesChanged(fresh);
  }

  /**
   * Bumps the generations of the providers whose allocations changed, those `usage` holds
   * (locked by the caller, or serial on SQLite, so an increment is safe), and returns their
   * new generation and usage for the snapshot cache.
   */
  private async bumpAll(trx: Db, usage: Map<string, ProviderUsage>): Promise<Map<string, ProviderUsage>> {
    if (usage.size === 0) return usage;
    await trx.updateTable('resource_provider').set((eb) => ({ generation: eb('generation', '+', 1), updated_at: nowIso() })).where('uuid', 'in', [...usage.keys()]).execute();
    for (const u of usage.values()) u.generation += 1;
    return usage;
  }

  // ---- usages

  async providerUsages(uuid: string): Promise<{ generation: number; usages: Record<string, number> }> {
    const p = await this.provider(uuid);
    const invs = await this.db.selectFrom('inventory').select('resource_class').where('provider_uuid', '=', uuid).execute();
    const usage = await this.usageOf(this.db, uuid);
    const usages: Record<string, number> = {};
    for (const i of invs) usages[i.resource_class] = usage.get(i.resource_class) ?? 0;
    for (const [rc, n] of usage) usages[rc] = n;
    return { generation: p.generation, usages };
  }

  /** Usages of a project (and user), optionally per consumer type (1.38). */
  async projectUsages(project: string, user?: string, consumerType?: string) {
    let q = this.db.selectFrom('allocation').innerJoin('consumer', 'consumer.uuid', 'allocation.consumer_uuid')
      .select(['allocation.consumer_uuid', 'allocation.resource_class', 'allocation.used', 'consumer.consumer_type'])
      .where('consumer.project_id', '=', project);
    if (user !== undefined) q = q.where('consumer.user_id', '=', user);
    const rows = await q.execute();
    return rows
      .map((r) => ({ consumer: r.consumer_uuid, rc: r.resource_class, used: Number(r.used), type: r.consumer_type ?? 'unknown' }))
      .filter((r) => consumerType === undefined || consumerType === 'all' || r.type === consumerType);
  }
}

const toRow = (p: SnapProvider): ProviderRow => ({
  uuid: p.uuid, name: p.name, generation: p.generation, parent_uuid: p.parent_uuid, root_uuid: p.root_uuid, created_at: '', updated_at: '',
});

/** An allocation named a provider that does not exist (its insert broke a foreign key). */
class UnknownProvider extends Error {
  constructor(readonly uuids: string[]) {
    super('unknown resource provider');
  }
}
