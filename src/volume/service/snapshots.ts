import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { SnapshotRow } from '../db/schema.js';
import { background, lockKey, toJson, type Caller, type VolumeContext } from './context.js';
import { checkQuota } from './quotas.js';
import { getVolume } from './volumes.js';

export async function getSnapshot(c: VolumeContext, caller: Caller, id: string): Promise<SnapshotRow> {
  const row = await c.db.selectFrom('snapshot').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw notFound(`Snapshot ${id} could not be found.`);
  return row;
}

export async function listSnapshots(c: VolumeContext, caller: Caller, f: { allTenants?: boolean; name?: string; status?: string; volumeId?: string }): Promise<SnapshotRow[]> {
  let q = c.db.selectFrom('snapshot').selectAll();
  if (!(caller.isAdmin && f.allTenants)) q = q.where('project_id', '=', caller.projectId);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.volumeId !== undefined) q = q.where('volume_id', '=', f.volumeId);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}

/** A snapshot of an available volume (an in-use one only with force), within quota. */
export async function createSnapshot(c: VolumeContext, caller: Caller, r: { volumeId: string; name?: string | null; description?: string | null; metadata?: Record<string, string>; force?: boolean }): Promise<SnapshotRow> {
  const vol = await getVolume(c, caller, r.volumeId);
  const ok = r.force ? ['available', 'in-use'] : ['available'];
  if (!ok.includes(vol.status)) throw badRequest(`Invalid volume: Volume ${vol.id} status must be ${ok.join(' or ')}, but current status is: ${vol.status}.`);
  const now = nowIso();
  const row: SnapshotRow = {
    id: randomUUID(), project_id: vol.project_id, user_id: caller.userId, volume_id: vol.id, name: r.name ?? null, description: r.description ?? null,
    size: vol.size, status: 'creating', metadata: toJson(r.metadata ?? {}), progress: null, created_at: now, updated_at: now,
  };
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `volume-quota:${vol.project_id}`);
    await checkQuota(trx, vol.project_id, { snapshots: 1, gigabytes: vol.size });
    await trx.insertInto('snapshot').values(row).execute();
  });
  const setS = (status: string) => c.db.updateTable('snapshot').set({ status, updated_at: nowIso() }).where('id', '=', row.id).execute().then(() => undefined);
  background(c, async () => {
    await c.driver.snapshot(vol.id, row.id);
    await setS('available');
  }, () => setS('error'));
  return row;
}

export async function updateSnapshot(c: VolumeContext, caller: Caller, id: string, set: Partial<Pick<SnapshotRow, 'name' | 'description' | 'metadata'>>): Promise<SnapshotRow> {
  const row = await getSnapshot(c, caller, id);
  const values = { ...set, updated_at: nowIso() };
  await c.db.updateTable('snapshot').set(values).where('id', '=', id).execute();
  return { ...row, ...values };
}

const SNAPSHOT_STATES = ['creating', 'available', 'deleting', 'error', 'error_deleting', 'backing-up', 'restoring', 'unmanaging'];

/** os-reset_status (admin) and os-update_snapshot_status (a back end's report: status and progress). */
export async function setSnapshotStatus(c: VolumeContext, caller: Caller, id: string, status: unknown, progress?: unknown): Promise<void> {
  await getSnapshot(c, caller, id);
  if (typeof status !== 'string' || !SNAPSHOT_STATES.includes(status)) throw badRequest(`Invalid input received: Invalid snapshot status ${String(status)}`);
  if (progress !== undefined && (typeof progress !== 'string' || !/^\d{1,3}%$/.test(progress))) throw badRequest(`Invalid input received: progress ${String(progress)}`);
  await c.db.updateTable('snapshot').set({ status, ...(progress !== undefined ? { progress: progress as string } : {}), updated_at: nowIso() }).where('id', '=', id).execute();
}

export async function deleteSnapshot(c: VolumeContext, caller: Caller, id: string, force = false): Promise<void> {
  const row = await getSnapshot(c, caller, id);
  if (!force && !['available', 'error'].includes(row.status)) throw badRequest(`Invalid snapshot: Snapshot status must be available or error, but current status is: ${row.status}.`);
  await c.db.updateTable('snapshot').set({ status: 'deleting', updated_at: nowIso() }).where('id', '=', id).execute();
  background(c, async () => {
    await c.driver.deleteSnapshot(id);
    await c.db.deleteFrom('snapshot').where('id', '=', id).execute();
  }, () => c.db.updateTable('snapshot').set({ status: 'error_deleting' }).where('id', '=', id).execute().then(() => undefined));
}
