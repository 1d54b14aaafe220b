import type { ImageDeps } from './context.js';

export interface ReconcileReport {
  /** Images put back to queued (their transfer died with the previous process). */
  requeued: string[];
  /** Staged images whose staged data is whole and stay 'uploading'. */
  keptStaged: string[];
  /** Store objects no live image owns, removed. */
  orphans: string[];
  /** Temporary files of interrupted writes, removed. */
  leftovers: number;
}

/**
 * Start-up reconciliation of the database with the stores, for what a previous process of
 * this host (same host and data directory, another boot) left half done:
 * - images in 'saving' or 'importing' go back to 'queued' with no data (Glance v2 restores
 *   queued after a failed upload), their tasks fail;
 * - images in 'uploading' stay staged when their staged object exists, else go to 'queued';
 * - temporary files are removed, and so is every object no live image references.
 * Runs before the API listens, so no transfer of this process is in flight.
 */
export async function reconcile(deps: ImageDeps): Promise<ReconcileReport> {
  const { images, tasks, stores, logger } = deps;
  const report: ReconcileReport = { requeued: [], keptStaged: [], orphans: [], leftovers: 0 };
  report.leftovers = (await stores.data.cleanup()) + (await stores.staging.cleanup());
  const stale = await images.interrupted(deps.hostPrefix, deps.worker);
  const dead = new Set<string>();
  for (const img of stale) {
    if (img.status === 'uploading') {
      const staged = await stores.staging.stat(img.id);
      if (staged && (await images.transition(img.id, ['uploading'], 'uploading', { size: staged.size, worker: null }))) {
        report.keptStaged.push(img.id);
        continue;
      }
    }
    const ok = await images.transition(img.id, [img.status], 'queued',
      { size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null, store_id: null, store_key: null, worker: null },
      img.status === 'importing' ? { os_glance_failed_import: stores.data.id } : undefined,
      ['os_glance_importing_to_stores', 'os_glance_import_task']);
    if (ok) {
      report.requeued.push(img.id);
      dead.add(img.id);
    }
  }
  for (const t of await tasks.unfinished()) {
    if (dead.has(t.image_id)) await tasks.update(t.id, { status: 'failure', message: 'The image service restarted during the import' });
  }
  const live = await images.referencedKeys(stores.data.id);
  for (const key of await stores.data.list()) {
    if (!live.has(key)) {
      await stores.data.delete(key);
      report.orphans.push(key);
    }
  }
  const staged = await images.stagedIds();
  for (const key of await stores.staging.list()) {
    if (!staged.has(key)) {
      await stores.staging.delete(key);
      report.orphans.push(`staging/${key}`);
    }
  }
  if (report.requeued.length || report.orphans.length || report.leftovers) logger.warn({ ...report }, 'image store reconciled after an unclean stop');
  return report;
}
