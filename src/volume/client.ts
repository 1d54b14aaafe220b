import type { VolumeContext } from './service/context.js';
import { completeAttach, getVolume, removeAttachment, reserve, beginDetaching, rollDetaching, deleteVolume } from './service/volumes.js';

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
  /** Deletes a detached volume (delete_on_termination). */
  delete(id: string, viewer: VolumeViewer): Promise<void>;
}

export function inProcessVolumeClient(c: VolumeContext): VolumeClient {
  return {
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
