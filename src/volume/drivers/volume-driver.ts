/**
 * The storage boundary: what the volume service asks of the back end that holds volume data.
 * `file` keeps one raw file per volume under the data directory; `fake` records sizes only
 * (API runs; it says it is a fake). Every call is idempotent on the id.
 */
import type { Readable } from 'node:stream';

/** How a host reaches a volume's data (Cinder's connection_info, driver_volume_type 'file'). */
export interface VolumeConnection {
  driverVolumeType: 'file' | 'fake';
  /** the file a hypervisor opens (fake: a name that opens nothing) */
  path: string;
  format: 'raw';
}

export interface VolumeDriver {
  /** 'file' or 'fake'. */
  readonly name: string;
  /** Creates an empty volume of `sizeGb` (sparse: allocates nothing until written). */
  create(id: string, sizeGb: number): Promise<void>;
  /** Creates a volume from image data (any format qemu-img reads), grown to `sizeGb`. */
  createFromImage(id: string, sizeGb: number, data: Readable, diskFormat: string): Promise<void>;
  /** A copy of another volume (clone) or of a snapshot, grown to `sizeGb`. */
  clone(source: { volumeId?: string; snapshotId?: string }, id: string, sizeGb: number): Promise<void>;
  /** Grows a volume (never shrinks). */
  extend(id: string, sizeGb: number): Promise<void>;
  /** Removes a volume's data; no error when it is gone. */
  delete(id: string): Promise<void>;
  /** A point-in-time copy of a volume, kept until deleteSnapshot. */
  snapshot(volumeId: string, snapshotId: string): Promise<void>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  connection(id: string): VolumeConnection;
  /** The volume's data as a raw image (upload to the image service); the fake has none (empty). */
  read(id: string): Promise<Readable>;
  /** Total and free capacity in GiB (scheduler stats, pools). */
  capacity(): Promise<{ totalGb: number; freeGb: number }>;
}
