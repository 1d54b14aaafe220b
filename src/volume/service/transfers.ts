import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { badRequest, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { TransferRow } from '../db/schema.js';
import { lockKey, type Caller, type VolumeContext } from './context.js';
import { checkQuota } from './quotas.js';
import { getVolume, invalidVolume, setStatus } from './volumes.js';

const hash = (salt: string, key: string) => createHash('sha256').update(`${salt}${key}`).digest('hex');

/** Offers an available volume to another project: awaiting-transfer until accepted or deleted. Returns the one-time key. */
export async function createTransfer(c: VolumeContext, caller: Caller, volumeId: string, name: string | null): Promise<{ row: TransferRow; authKey: string }> {
  const vol = await getVolume(c, caller, volumeId);
  if (vol.status !== 'available') throw invalidVolume(`status must be available, but current status is: ${vol.status}.`);
  const authKey = randomBytes(8).toString('hex');
  const salt = randomBytes(8).toString('hex');
  const row: TransferRow = { id: randomUUID(), volume_id: vol.id, project_id: vol.project_id, name, salt, crypt_hash: hash(salt, authKey), created_at: nowIso() };
  await setStatus(c, vol.id, ['available'], 'awaiting-transfer');
  await c.db.insertInto('transfer').values(row).execute();
  return { row, authKey };
}

export async function getTransfer(c: VolumeContext, caller: Caller, id: string, anyProject = false): Promise<TransferRow> {
  const row = await c.db.selectFrom('transfer').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!anyProject && !caller.isAdmin && row.project_id !== caller.projectId)) throw notFound(`Transfer ${id} could not be found.`);
  return row;
}

export async function listTransfers(c: VolumeContext, caller: Caller, allTenants: boolean): Promise<TransferRow[]> {
  let q = c.db.selectFrom('transfer').selectAll().orderBy('created_at');
  if (!(caller.isAdmin && allTenants)) q = q.where('project_id', '=', caller.projectId);
  return q.execute();
}

export async function deleteTransfer(c: VolumeContext, caller: Caller, id: string): Promise<void> {
  const row = await getTransfer(c, caller, id);
  await c.db.deleteFrom('transfer').where('id', '=', id).execute();
  await setStatus(c, row.volume_id, ['awaiting-transfer'], 'available').catch(() => undefined);
}

/** Another project takes the volume with the key (within its quota): the volume is its own, available. */
export async function acceptTransfer(c: VolumeContext, caller: Caller, id: string, authKey: unknown): Promise<TransferRow> {
  const row = await getTransfer(c, caller, id, true);
  if (typeof authKey !== 'string') throw badRequest('Invalid input received: auth_key is required.');
  const a = Buffer.from(hash(row.salt, authKey));
  const b = Buffer.from(row.crypt_hash);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw badRequest(`Invalid auth key: Attempt to transfer ${row.id} with invalid auth key.`);
  const vol = await getVolume(c, null, row.volume_id);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `volume-quota:${caller.projectId}`);
    await checkQuota(trx, caller.projectId, { volumes: 1, gigabytes: vol.size });
    await trx.updateTable('volume').set({ project_id: caller.projectId, user_id: caller.userId, status: 'available', updated_at: nowIso() }).where('id', '=', vol.id).execute();
    await trx.deleteFrom('transfer').where('id', '=', row.id).execute();
  });
  return row;
}
