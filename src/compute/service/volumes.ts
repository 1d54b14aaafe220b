import { randomUUID } from 'node:crypto';
import { badRequest, HttpError, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { AttachedVolume } from '../drivers/driver.js';
import type { BlockDeviceMappingRow, InstanceRow } from '../db/schema.js';
import { callAgent } from '../rpc/topics.js';
import type { Caller, ComputeContext } from './context.js';
import { recordAction } from './instance-actions.js';
import { VM } from './states.js';

/** Server states a volume may be attached or detached in (Nova's). */
export const VOLUME_STATES = [VM.ACTIVE, VM.PAUSED, VM.STOPPED, VM.SUSPENDED, VM.RESIZED, VM.SHELVED, VM.SHELVED_OFFLOADED];

const volumesOf = (c: ComputeContext) => {
  if (!c.volume) throw new HttpError(503, 'Block Storage API service is not available in this cloud.');
  return c.volume;
};

export const attachmentsOf = (c: ComputeContext, uuid: string) =>
  c.db.selectFrom('block_device_mapping').selectAll().where('instance_uuid', '=', uuid).orderBy('created_at').orderBy('device_name').execute();

/** Volumes of many servers (the servers' os-extended-volumes:volumes_attached). */
export async function volumesByServer(c: ComputeContext, uuids: string[]): Promise<Map<string, BlockDeviceMappingRow[]>> {
  const out = new Map<string, BlockDeviceMappingRow[]>();
  for (let i = 0; i < uuids.length; i += 500) {
    const chunk = uuids.slice(i, i + 500);
    if (chunk.length === 0) break;
    for (const b of await c.db.selectFrom('block_device_mapping').selectAll().where('instance_uuid', 'in', chunk).orderBy('created_at').execute()) {
      (out.get(b.instance_uuid) ?? out.set(b.instance_uuid, []).get(b.instance_uuid)!).push(b);
    }
  }
  return out;
}

/** The next free virtio disk name: vda is the root, then the config drive's slot is not named. */
function nextDevice(used: string[]): string {
  for (let i = 1; i < 26; i++) {
    const d = `/dev/vd${String.fromCharCode(97 + i)}`;
    if (!used.includes(d)) return d;
  }
  throw badRequest('The supplied device path is invalid: no free device name left.');
}

/** What the host opens for one attachment. */
export function attachedVolume(c: ComputeContext, b: BlockDeviceMappingRow): AttachedVolume {
  const conn = volumesOf(c).connection(b.volume_id);
  return { volumeId: b.volume_id, path: conn.path, format: conn.format, device: b.device_name };
}

/**
 * Attaches a volume: reserve it in the volume service, plug it in on the server's host (a
 * server without a running guest gets it at its next start), then mark the attachment complete.
 */
export async function attachVolume(c: ComputeContext, caller: Caller, row: InstanceRow, r: { volumeId: string; tag?: string; deleteOnTermination?: boolean }): Promise<BlockDeviceMappingRow> {
  const api = volumesOf(c);
  const viewer = { projectId: caller.projectId, userId: caller.userId, isAdmin: caller.isAdmin };
  try {
    await api.get(r.volumeId, viewer);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) throw notFound(`Volume ${r.volumeId} could not be found.`);
    throw e;
  }
  const existing = await attachmentsOf(c, row.uuid);
  if (existing.some((b) => b.volume_id === r.volumeId)) throw badRequest(`Invalid volume: volume ${r.volumeId} is already attached to the instance ${row.uuid}.`);
  const attachmentId = await api.reserve(r.volumeId, row.uuid, viewer);
  const bdm: BlockDeviceMappingRow = {
    uuid: randomUUID(), instance_uuid: row.uuid, volume_id: r.volumeId, attachment_id: attachmentId, device_name: nextDevice(existing.map((b) => b.device_name)),
    tag: r.tag ?? null, delete_on_termination: r.deleteOnTermination ? 1 : 0, created_at: nowIso(),
  };
  try {
    await recordAction(c, { instanceUuid: row.uuid, action: 'attach_volume', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
    await c.db.insertInto('block_device_mapping').values(bdm).execute();
    if (row.host && row.vm_state !== VM.SHELVED_OFFLOADED) {
      await callAgent(c.bus, row.host, 'attach_volume', { uuid: row.uuid, volume: attachedVolume(c, bdm) as never }, caller.requestId, 60_000);
    }
    await api.complete(attachmentId, { device: bdm.device_name, host: row.host ?? '', serverId: row.uuid });
  } catch (e) {
    await c.db.deleteFrom('block_device_mapping').where('uuid', '=', bdm.uuid).execute().catch(() => undefined);
    await api.release(r.volumeId, attachmentId).catch(() => undefined);
    if (e instanceof HttpError) throw e;
    throw new HttpError(500, `Failed to attach volume ${r.volumeId} to ${row.uuid}: ${(e as Error).message}`);
  }
  return bdm;
}

/** Detaches a volume: detaching in the volume service, unplugged on the host, the attachment given back. */
export async function detachVolume(c: ComputeContext, caller: Caller, row: InstanceRow, volumeId: string): Promise<void> {
  const api = volumesOf(c);
  const bdm = (await attachmentsOf(c, row.uuid)).find((b) => b.volume_id === volumeId);
  if (!bdm) throw notFound(`volume_id not found: ${volumeId}`);
  if (isRootVolume(bdm)) throw badRequest(`Cannot detach a root device volume`);
  await recordAction(c, { instanceUuid: row.uuid, action: 'detach_volume', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
  await api.beginDetaching(volumeId);
  try {
    if (row.host && row.vm_state !== VM.SHELVED_OFFLOADED) await callAgent(c.bus, row.host, 'detach_volume', { uuid: row.uuid, volumeId }, caller.requestId, 60_000);
  } catch (e) {
    await api.rollDetaching(volumeId).catch(() => undefined);
    throw new HttpError(500, `Failed to detach volume ${volumeId} from ${row.uuid}: ${(e as Error).message}`);
  }
  await c.db.deleteFrom('block_device_mapping').where('uuid', '=', bdm.uuid).execute();
  await api.release(volumeId, bdm.attachment_id);
}

/** A deleted server's volumes: detached (the guest is gone), and deleted when delete_on_termination. */
export async function releaseVolumes(c: ComputeContext, row: InstanceRow): Promise<void> {
  if (!c.volume) return;
  for (const b of await attachmentsOf(c, row.uuid)) {
    try {
      await c.volume.release(b.volume_id, b.attachment_id);
      if (b.delete_on_termination) await c.volume.delete(b.volume_id, { projectId: row.project_id, userId: row.user_id, isAdmin: true });
    } catch (e) {
      c.logger.warn({ err: e, volume: b.volume_id, server: row.uuid }, 'could not release a deleted server\'s volume');
    }
    await c.db.deleteFrom('block_device_mapping').where('uuid', '=', b.uuid).execute();
  }
}

/** A volume a new server gets at build (block_device_mapping_v2 with source and destination 'volume'). */
export interface VolumeMapping { volumeId: string; boot: boolean; deleteOnTermination: boolean; tag?: string }

export function volumeMappings(bdms: Record<string, unknown>[]): VolumeMapping[] {
  const out: VolumeMapping[] = [];
  for (const b of bdms) {
    const src = String(b.source_type ?? '');
    const dest = String(b.destination_type ?? 'local');
    if (dest !== 'volume' && src !== 'volume' && src !== 'snapshot') continue;
    if (src !== 'volume' || dest !== 'volume') throw badRequest(`Block Device Mapping is Invalid: source_type '${src}' to destination_type '${dest}' is not supported by this cloud yet (only existing volumes).`);
    if (typeof b.uuid !== 'string' || !b.uuid) throw badRequest('Block Device Mapping is Invalid: a volume mapping needs the volume\'s uuid.');
    const dot = b.delete_on_termination;
    out.push({ volumeId: b.uuid, boot: b.boot_index === 0 || b.boot_index === '0', deleteOnTermination: dot === true || dot === 'true' || dot === 'True', tag: typeof b.tag === 'string' ? b.tag : undefined });
  }
  if (out.filter((m) => m.boot).length > 1) throw badRequest('Block Device Mapping is Invalid: more than one boot volume.');
  return out;
}

/** The volumes exist and are available (400 in Nova's words otherwise); one server per create. */
export async function checkVolumeMappings(c: ComputeContext, caller: Caller, maps: VolumeMapping[], maxCount: number): Promise<void> {
  if (maps.length === 0) return;
  if (maxCount > 1) throw badRequest('Block Device Mapping is Invalid: volumes cannot be attached to more than one server.');
  for (const m of maps) {
    const v = await volumesOf(c).get(m.volumeId, { ...caller }).catch((e: unknown) => {
      if (e instanceof HttpError && e.status === 404) throw badRequest(`Block Device Mapping is Invalid: failed to get volume ${m.volumeId}.`);
      throw e;
    });
    if (v.status !== 'available') throw badRequest(`Invalid volume: volume ${m.volumeId} status must be 'available', but it is '${v.status}'.`);
    if (m.boot && !v.bootable) throw badRequest(`Block Device Mapping is Invalid: Volume ${m.volumeId} is not bootable.`);
  }
}

/** Reserves a new server's volumes and records them (the boot volume is /dev/vda); the agent completes them at spawn. */
export async function reserveVolumeMappings(c: ComputeContext, caller: Caller, rows: InstanceRow[], maps: VolumeMapping[]): Promise<void> {
  const api = volumesOf(c);
  for (const row of rows) {
    const made: BlockDeviceMappingRow[] = [];
    try {
      for (const m of [...maps].sort((a, b) => Number(b.boot) - Number(a.boot))) {
        const attachmentId = await api.reserve(m.volumeId, row.uuid, { ...caller });
        const used = made.map((b) => b.device_name);
        const bdm: BlockDeviceMappingRow = {
          uuid: randomUUID(), instance_uuid: row.uuid, volume_id: m.volumeId, attachment_id: attachmentId, device_name: m.boot ? '/dev/vda' : nextDevice(used),
          tag: m.tag ?? null, delete_on_termination: m.deleteOnTermination ? 1 : 0, created_at: nowIso(),
        };
        made.push(bdm);
        await c.db.insertInto('block_device_mapping').values(bdm).execute();
      }
    } catch (e) {
      for (const b of made) await api.release(b.volume_id, b.attachment_id).catch(() => undefined);
      await c.db.deleteFrom('block_device_mapping').where('instance_uuid', '=', row.uuid).execute();
      const now = nowIso();
      await c.db.updateTable('instance').set({ vm_state: VM.DELETED, task_state: null, deleted: 1, deleted_at: now, terminated_at: now, updated_at: now }).where('uuid', '=', row.uuid).execute();
      if (e instanceof HttpError && e.status >= 500) throw e;
      throw badRequest(`Block Device Mapping is Invalid: ${(e as Error).message}`);
    }
  }
}

/** After a spawn: the server's volumes are attached (in-use, on this host). */
export async function completeVolumeMappings(c: ComputeContext, row: InstanceRow, host: string): Promise<void> {
  if (!c.volume) return;
  for (const b of await attachmentsOf(c, row.uuid)) await c.volume.complete(b.attachment_id, { device: b.device_name, host, serverId: row.uuid });
}

/** Nova refuses to detach the root volume of a volume-backed server. */
export const isRootVolume = (b: BlockDeviceMappingRow) => b.device_name === '/dev/vda';
