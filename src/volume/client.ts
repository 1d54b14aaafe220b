import type { SnapshotRow, VolumeRow } from './db/schema.js';
import { fromJson, type VolumeContext } from './service/context.js';
import { createSnapshot, deleteSnapshot, getSnapshot, listSnapshots } from './service/snapshots.js';
import { attachmentsOf, completeAttach, createVolume, getVolume, listVolumes, removeAttachment, reserve, beginDetaching, rollDetaching, deleteVolume } from './service/volumes.js';

/** Who a call is made for (Nova passes its caller's project through). */
export interface VolumeViewer { projectId: string; userId: string; isAdmin: boolean }

/** A volume as compute needs it. */
export interface VolumeInfo {
  id: string;
  projectId: string;
  size: number;
  status: string;
  multiattach: boolean;
  bootable: boolean;
}

/** A volume as Nova's os-volumes proxy shows it. */
export interface VolumeRecord {
  id: string;
  status: string;
  size: number;
  availabilityZone: string;
  createdAt: string;
  name: string | null;
  description: string | null;
  volumeType: string;
  snapshotId: string | null;
  metadata: Record<string, string>;
  attachments: { serverId: string | null; device: string | null }[];
}

/** A snapshot as Nova's os-snapshots proxy shows it. */
export interface SnapshotRecord { id: string; volumeId: string; status: string; size: number; createdAt: string; name: string | null; description: string | null }

/** How the host opens a volume (Cinder's connection_info). */
export interface VolumeConnectionInfo { driverVolumeType: 'file' | 'fake'; path: string; format: 'raw' }

/**
 * What compute asks the volume service (Nova's cinder API: the 3.27 attachment flow). In one
 * process a direct call; errors are HttpErrors with Cinder's status (404 unseen, 400 wrong state).
 */
export interface VolumeClient {
  get(id: string, viewer: VolumeViewer): Promise<VolumeInfo>;
  /** Reserves an available volume for a server: returns the attachment id (volume 'reserved'). */
  reserve(id: string, serverId: string, viewer: VolumeViewer): Promise<string>;
  /** Where the host finds the volume's data. */
  connection(id: string): VolumeConnectionInfo;
  /** The host attached it: volume in-use, the attachment names the device and host. */
  complete(attachmentId: string, o: { device: string; host: string; serverId: string }): Promise<void>;
  /** Gives back an attachment (a failed attach, or a finished detach): the volume is available when none is left. */
  release(volumeId: string, attachmentId: string): Promise<void>;
  /** in-use → detaching, and back when the host could not detach. */
  beginDetaching(id: string): Promise<void>;
  rollDetaching(id: string): Promise<void>;
  /** Deletes a detached volume (delete_on_termination: as an admin would). */
  delete(id: string, viewer: VolumeViewer): Promise<void>;
  // Nova's proxies (os-volumes, os-snapshots, 2.1–2.35): the caller's own rights, Cinder's errors.
  createVolume(viewer: VolumeViewer, r: { size?: number; name?: string | null; description?: string | null; metadata?: Record<string, string>; volumeType?: string; availabilityZone?: string; snapshotId?: string; imageRef?: string }): Promise<VolumeRecord>;
  listVolumes(viewer: VolumeViewer): Promise<VolumeRecord[]>;
  showVolume(id: string, viewer: VolumeViewer): Promise<VolumeRecord>;
  deleteVolume(id: string, viewer: VolumeViewer): Promise<void>;
  createSnapshot(viewer: VolumeViewer, r: { volumeId: string; name?: string | null; description?: string | null; force?: boolean }): Promise<SnapshotRecord>;
  listSnapshots(viewer: VolumeViewer): Promise<SnapshotRecord[]>;
  showSnapshot(id: string, viewer: VolumeViewer): Promise<SnapshotRecord>;
  deleteSnapshot(id: string, viewer: VolumeViewer): Promise<void>;
}

export function inProcessVolumeClient(c: VolumeContext): VolumeClient {
  const records = async (rows: VolumeRow[]): Promise<VolumeRecord[]> => {
    const att = await attachmentsOf(c, rows.map((r) => r.id));
    const types = new Map((await c.db.selectFrom('volume_type').select(['id', 'name']).execute()).map((t) => [t.id, t.name]));
    return rows.map((r) => ({
      id: r.id, status: r.status, size: r.size, availabilityZone: r.availability_zone, createdAt: r.created_at, name: r.name, description: r.description,
      volumeType: types.get(r.volume_type_id) ?? '__DEFAULT__', snapshotId: r.snapshot_id, metadata: fromJson<Record<string, string>>(r.metadata, {}),
      attachments: (att.get(r.id) ?? []).filter((a) => a.attach_status === 'attached').map((a) => ({ serverId: a.instance_uuid, device: a.mountpoint })),
    }));
  };
  const snap = (s: SnapshotRow): SnapshotRecord => ({ id: s.id, volumeId: s.volume_id, status: s.status, size: s.size, createdAt: s.created_at, name: s.name, description: s.description });
  return {
    async createVolume(viewer, r) { return (await records([await createVolume(c, viewer, r)]))[0]; },
    async listVolumes(viewer) { return records(await listVolumes(c, viewer, {})); },
    async showVolume(id, viewer) { return (await records([await getVolume(c, viewer, id)]))[0]; },
    deleteVolume: (id, viewer) => deleteVolume(c, viewer, id),
    async createSnapshot(viewer, r) { return snap(await createSnapshot(c, viewer, r)); },
    async listSnapshots(viewer) { return (await listSnapshots(c, viewer, {})).map(snap); },
    async showSnapshot(id, viewer) { return snap(await getSnapshot(c, viewer, id)); },
    deleteSnapshot: (id, viewer) => deleteSnapshot(c, viewer, id),
    async get(id, viewer) {
      const r = await getVolume(c, viewer, id);
      return { id: r.id, projectId: r.project_id, size: r.size, status: r.status, multiattach: !!r.multiattach, bootable: !!r.bootable };
    },
    async reserve(id, serverId, viewer) {
      return (await reserve(c, viewer, id, serverId, 'reserved')).id;
    },
    connection: (id) => c.driver.connection(id),
    complete: (attachmentId, o) => completeAttach(c, attachmentId, { mountpoint: o.device, host: o.host, instanceUuid: o.serverId }),
    release: (volumeId, attachmentId) => removeAttachment(c, volumeId, attachmentId),
    beginDetaching: (id) => beginDetaching(c, null, id),
    rollDetaching: (id) => rollDetaching(c, null, id),
    delete: (id, viewer) => deleteVolume(c, { ...viewer, isAdmin: true }, id),
  };
}
