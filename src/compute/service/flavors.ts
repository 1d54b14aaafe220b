import { notFound } from '../../core/errors.js';
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

/** A flavor as a server books it (Nova embeds a copy in the instance). */
export interface BookedFlavor {
  flavorid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
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
