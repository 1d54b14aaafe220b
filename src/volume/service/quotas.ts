import type { Kysely } from 'kysely';
import { HttpError } from '../../core/errors.js';
import type { VolumeDB } from '../db/schema.js';

/** Cinder's default quotas (-1 = unlimited). */
export const DEFAULT_QUOTAS: Record<string, number> = {
  volumes: 10, snapshots: 10, gigabytes: 1000, backups: 10, backup_gigabytes: 1000, groups: 10, per_volume_gigabytes: -1,
};

export async function quotaLimits(db: Kysely<VolumeDB>, projectId: string): Promise<Record<string, number>> {
  const out = { ...DEFAULT_QUOTAS };
  const rows = await db.selectFrom('quota').selectAll().where('project_id', 'in', ['__default__', projectId]).execute();
  // the default quota class first, then the project's own values
  for (const r of rows.filter((x) => x.project_id === '__default__')) out[r.resource] = r.hard_limit;
  for (const r of rows.filter((x) => x.project_id !== '__default__')) out[r.resource] = r.hard_limit;
  return out;
}

/** What a project holds: volumes, their gigabytes (snapshots count too, as Cinder), snapshots. */
export async function quotaUsage(db: Kysely<VolumeDB>, projectId: string): Promise<Record<string, number>> {
  const vols = await db.selectFrom('volume').select('size').where('project_id', '=', projectId).execute();
  const snaps = await db.selectFrom('snapshot').select('size').where('project_id', '=', projectId).execute();
  const gb = vols.reduce((a, v) => a + v.size, 0) + snaps.reduce((a, s) => a + s.size, 0);
  return { volumes: vols.length, snapshots: snaps.length, gigabytes: gb, backups: 0, backup_gigabytes: 0, groups: 0, per_volume_gigabytes: 0 };
}

/** Cinder's 413 when a request goes over quota (call under the project's lock, in the inserting transaction). */
export async function checkQuota(db: Kysely<VolumeDB>, projectId: string, want: { volumes?: number; snapshots?: number; gigabytes?: number }): Promise<void> {
  const limits = await quotaLimits(db, projectId);
  const per = limits.per_volume_gigabytes;
  if (want.volumes && want.gigabytes && per >= 0 && want.gigabytes > per) {
    throw new HttpError(413, `VolumeSizeExceedsLimit: Requested volume size ${want.gigabytes}G is larger than maximum allowed limit ${per}G.`);
  }
  const used = await quotaUsage(db, projectId);
  for (const [k, n] of Object.entries(want)) {
    if (!n) continue;
    const limit = limits[k];
    if (limit >= 0 && used[k] + n > limit) {
      const what = k === 'gigabytes' ? `VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${n}G, quota is ${limit}G and ${used[k]}G has been consumed.`
        : `${k === 'volumes' ? 'VolumeLimitExceeded' : 'SnapshotLimitExceeded'}: Maximum number of ${k} allowed (${limit}) exceeded for quota '${k}'.`;
      throw new HttpError(413, what);
    }
  }
}
