import { badRequest, conflict, notFound } from '../../core/errors.js';
import { isUniqueViolation } from '../../core/db/database.js';
import { nowIso } from '../../core/ids.js';
import type { FlavorRow } from '../db/schema.js';
import type { Caller, ComputeContext } from './context.js';

/** Nova's classic flavors, plus one the tiny guest fits in (m1.nano). */
export const DEFAULT_FLAVORS: Array<Pick<FlavorRow, 'flavorid' | 'name' | 'vcpus' | 'memory_mb' | 'root_gb'>> = [
  { flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1 },
  { flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20 },
  { flavorid: '3', name: 'm1.medium', vcpus: 2, memory_mb: 4096, root_gb: 40 },
  { flavorid: '4', name: 'm1.large', vcpus: 4, memory_mb: 8192, root_gb: 80 },
  { flavorid: '5', name: 'm1.xlarge', vcpus: 8, memory_mb: 16384, root_gb: 160 },
  { flavorid: '42', name: 'm1.nano', vcpus: 1, memory_mb: 192, root_gb: 1 },
];

/** Creates the default flavors on first start (never again: an admin may delete them). */
export async function seedDefaultFlavors(c: ComputeContext): Promise<void> {
  const any = await c.db.selectFrom('flavor').select('flavorid').limit(1).executeTakeFirst();
  if (any) return;
  const now = nowIso();
  await c.db.insertInto('flavor').values(DEFAULT_FLAVORS.map((f) => ({
    ...f, ephemeral_gb: 0, swap: 0, rxtx_factor: 1, is_public: 1, disabled: 0, description: null, created_at: now, updated_at: null,
  }))).execute();
}

/** The sizes of a flavor: what a server books and what a create gives. */
type FlavorSizes = Pick<FlavorRow, 'flavorid' | 'name' | 'vcpus' | 'memory_mb' | 'root_gb' | 'ephemeral_gb' | 'swap'>;

/** A flavor as a server books it (Nova embeds a copy in the instance). */
export interface BookedFlavor extends FlavorSizes {
  extra_specs: Record<string, string>;
}

/** A flavor the caller may use (public, or private with access, or admin); 404 otherwise. */
export async function findFlavor(c: ComputeContext, caller: Caller, id: string): Promise<FlavorRow> {
  const f = await c.db.selectFrom('flavor').selectAll().where('flavorid', '=', id).executeTakeFirst();
  if (!f) throw notFound(`Flavor ${id} could not be found.`);
  if (!f.is_public && !caller.isAdmin) {
    const ok = await c.db.selectFrom('flavor_project').select('flavorid').where('flavorid', '=', id).where('project_id', '=', caller.projectId).executeTakeFirst();
    if (!ok) throw notFound(`Flavor ${id} could not be found.`);
  }
  return f;
}

export async function bookFlavor(c: ComputeContext, f: FlavorRow): Promise<BookedFlavor> {
  const specs = await c.db.selectFrom('flavor_extra_spec').select(['key', 'value']).where('flavorid', '=', f.flavorid).execute();
  return {
    flavorid: f.flavorid, name: f.name, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: f.root_gb,
    ephemeral_gb: f.ephemeral_gb, swap: f.swap, extra_specs: Object.fromEntries(specs.map((s) => [s.key, s.value])),
  };
}

// ------------------------------------------------------------------ flavor management (os-flavor-manage, extra specs, access)

/** Sort keys Nova accepts for flavor lists (its DB columns), mapped to ours. */
const SORT_KEYS: Record<string, keyof FlavorRow> = {
  created_at: 'created_at', description: 'description', disabled: 'disabled', ephemeral_gb: 'ephemeral_gb', flavorid: 'flavorid',
  id: 'created_at', is_public: 'is_public', memory_mb: 'memory_mb', name: 'name', root_gb: 'root_gb', rxtx_factor: 'rxtx_factor',
  swap: 'swap', updated_at: 'updated_at', vcpu_weight: 'flavorid', vcpus: 'vcpus',
};

export interface FlavorListQuery {
  /** true: public (+ shared with the caller's project); false: private only; null: all (admin). */
  isPublic: boolean | null;
  /** Non-admins never see disabled flavors. */
  includeDisabled: boolean;
  minRam?: number;
  minDisk?: number;
  sortKey?: string;
  sortDir?: string;
  limit?: number;
  marker?: string;
}

/** Flavors as Nova lists them: filtered, sorted (flavorid asc by default), paged by flavorid marker. */
export async function listFlavors(c: ComputeContext, caller: Caller, q: FlavorListQuery): Promise<FlavorRow[]> {
  const key = SORT_KEYS[q.sortKey ?? 'flavorid'];
  if (!key) throw badRequest(`Invalid input received: Invalid sort_key ${q.sortKey}`);
  const dir = q.sortDir ?? 'asc';
  if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid input received: Unknown sort direction, must be 'desc' or 'asc'`);
  let sel = c.db.selectFrom('flavor').selectAll();
  if (!q.includeDisabled) sel = sel.where('disabled', '=', 0);
  if (q.minRam !== undefined) sel = sel.where('memory_mb', '>=', q.minRam);
  if (q.minDisk !== undefined) sel = sel.where('root_gb', '>=', q.minDisk);
  if (q.isPublic === false) sel = sel.where('is_public', '=', 0);
  else if (q.isPublic === true) {
    const shared = c.db.selectFrom('flavor_project').select('flavorid').where('project_id', '=', caller.projectId);
    sel = sel.where((eb) => eb.or([eb('is_public', '=', 1), eb('flavorid', 'in', shared)]));
  }
  sel = sel.orderBy(key, dir);
  if (key !== 'flavorid') sel = sel.orderBy('flavorid', 'asc');
  let rows = await sel.execute();
  if (q.marker !== undefined) {
    const i = rows.findIndex((r) => r.flavorid === q.marker);
    if (i < 0) throw badRequest(`Marker ${q.marker} could not be found.`);
    rows = rows.slice(i + 1);
  }
  return q.limit !== undefined ? rows.slice(0, q.limit) : rows;
}

export async function getFlavorRow(c: ComputeContext, id: string): Promise<FlavorRow> {
  const f = await c.db.selectFrom('flavor').selectAll().where('flavorid', '=', id).executeTakeFirst();
  if (!f) throw notFound(`Flavor ${id} could not be found.`);
  return f;
}

export interface NewFlavor extends FlavorSizes, Pick<FlavorRow, 'rxtx_factor' | 'description'> {
  is_public: boolean;
}

export async function createFlavor(c: ComputeContext, f: NewFlavor): Promise<FlavorRow> {
  const row: FlavorRow = { ...f, is_public: f.is_public ? 1 : 0, disabled: 0, created_at: nowIso(), updated_at: null };
  const clash = async () => {
    if (await c.db.selectFrom('flavor').select('flavorid').where('flavorid', '=', f.flavorid).executeTakeFirst()) return conflict(`Flavor with ID ${f.flavorid} already exists.`);
    if (await c.db.selectFrom('flavor').select('flavorid').where('name', '=', f.name).executeTakeFirst()) return conflict(`Flavor with name ${f.name} already exists.`);
    return undefined;
  };
  const before = await clash();
  if (before) throw before;
  try {
    await c.db.insertInto('flavor').values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw (await clash()) ?? conflict(`Flavor with name ${f.name} already exists.`);
    throw e;
  }
  return row;
}

export async function updateFlavorDescription(c: ComputeContext, id: string, description: string | null): Promise<FlavorRow> {
  const r = await c.db.updateTable('flavor').set({ description, updated_at: nowIso() }).where('flavorid', '=', id).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw notFound(`Flavor ${id} could not be found.`);
  return getFlavorRow(c, id);
}

export async function deleteFlavor(c: ComputeContext, id: string): Promise<void> {
  await c.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('flavor_extra_spec').where('flavorid', '=', id).execute();
    await trx.deleteFrom('flavor_project').where('flavorid', '=', id).execute();
    const r = await trx.deleteFrom('flavor').where('flavorid', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Flavor ${id} could not be found.`);
  });
}

export async function extraSpecs(c: ComputeContext, id: string): Promise<Record<string, string>> {
  const rows = await c.db.selectFrom('flavor_extra_spec').select(['key', 'value']).where('flavorid', '=', id).orderBy('key').execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Extra specs of many flavors at once (for lists at 2.61+). */
export async function extraSpecsOf(c: ComputeContext, ids: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>(ids.map((i) => [i, {}]));
  if (ids.length === 0) return out;
  const rows = await c.db.selectFrom('flavor_extra_spec').selectAll().where('flavorid', 'in', ids).orderBy('key').execute();
  for (const r of rows) out.get(r.flavorid)![r.key] = r.value;
  return out;
}

/** Sets (creates or replaces) extra specs of a flavor. */
export async function setExtraSpecs(c: ComputeContext, id: string, specs: Record<string, string>): Promise<void> {
  await getFlavorRow(c, id);
  await c.db.transaction().execute(async (trx) => {
    for (const [key, value] of Object.entries(specs)) {
      await trx.deleteFrom('flavor_extra_spec').where('flavorid', '=', id).where('key', '=', key).execute();
      await trx.insertInto('flavor_extra_spec').values({ flavorid: id, key, value }).execute();
    }
  });
}

export async function deleteExtraSpec(c: ComputeContext, id: string, key: string): Promise<void> {
  await getFlavorRow(c, id);
  const r = await c.db.deleteFrom('flavor_extra_spec').where('flavorid', '=', id).where('key', '=', key).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw notFound(`Flavor ${id} has no extra specs with key ${key}.`);
}

export async function flavorAccess(c: ComputeContext, id: string): Promise<Array<{ flavor_id: string; tenant_id: string }>> {
  const rows = await c.db.selectFrom('flavor_project').select(['flavorid', 'project_id']).where('flavorid', '=', id).orderBy('project_id').execute();
  return rows.map((r) => ({ flavor_id: r.flavorid, tenant_id: r.project_id }));
}

export async function addFlavorAccess(c: ComputeContext, f: FlavorRow, projectId: string): Promise<void> {
  if (f.is_public) throw conflict('Can not add access to a public flavor.');
  const exists = () => conflict(`Flavor access already exists for flavor ${f.flavorid} and project ${projectId} combination.`);
  if (await c.db.selectFrom('flavor_project').select('flavorid').where('flavorid', '=', f.flavorid).where('project_id', '=', projectId).executeTakeFirst()) throw exists();
  try {
    await c.db.insertInto('flavor_project').values({ flavorid: f.flavorid, project_id: projectId }).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw exists();
    throw e;
  }
}

export async function removeFlavorAccess(c: ComputeContext, f: FlavorRow, projectId: string): Promise<void> {
  const r = await c.db.deleteFrom('flavor_project').where('flavorid', '=', f.flavorid).where('project_id', '=', projectId).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw notFound(`Flavor access not found for ${f.flavorid} / ${projectId} combination.`);
}
