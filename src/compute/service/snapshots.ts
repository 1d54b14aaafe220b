import type { InstanceRow } from '../db/schema.js';
import type { ComputeContext } from './context.js';
import { flavorOf } from './servers.js';

/** Image properties a snapshot inherits from the image the server booted from (how to boot it again). */
const INHERITED = ['kernel_id', 'ramdisk_id', 'os_distro', 'os_type', 'architecture', 'os_command_line'];

/**
 * Creates the (queued) image record of a server snapshot, owned by the server's project, as
 * Nova does for createImage, createBackup and shelve: bootable like the original (kernel/ramdisk,
 * hw_* properties), marked image_type=snapshot (or backup) with the server's uuid; the caller's
 * metadata wins.
 */
export async function createSnapshotImage(c: ComputeContext, row: InstanceRow, name: string, userId: string, metadata: Record<string, string> = {}, imageType: 'snapshot' | 'backup' = 'snapshot'): Promise<Record<string, unknown>> {
  const base = await c.image.getImage(row.image_ref, { projectId: row.project_id, isAdmin: true });
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(base ?? {})) if (INHERITED.includes(k) || k.startsWith('hw_')) props[k] = v;
  return c.image.createImage({
    name, container_format: 'bare', disk_format: 'qcow2', visibility: 'private', ...props,
    image_type: imageType, instance_uuid: row.uuid, base_image_ref: row.image_ref, owner_user_name: userId,
    min_disk: flavorOf(row).root_gb, min_ram: Number(base?.min_ram ?? 0),
    ...metadata,
  }, { projectId: row.project_id, isAdmin: false, userId });
}

/**
 * Nova's _rotate_backups: of the server's backups of this type (image_type=backup, newest
 * first), keeps the `rotation` newest and deletes the rest (rotation 0: all of them). Images
 * that are already gone or cannot be deleted are skipped, as Nova does.
 */
export async function rotateBackups(c: ComputeContext, row: InstanceRow, backupType: string, rotation: number, userId: string): Promise<string[]> {
  const viewer = { projectId: row.project_id, isAdmin: false, userId };
  const images = await c.image.listImages(viewer, { properties: { image_type: 'backup', backup_type: backupType, instance_uuid: row.uuid } });
  const excess = images.slice(Math.max(0, rotation));
  const deleted: string[] = [];
  for (const img of excess) {
    try {
      await c.image.deleteImage(String(img.id), viewer);
      deleted.push(String(img.id));
    } catch (e) {
      c.logger.info({ err: e, image: img.id, instance: row.uuid }, 'backup rotation: could not delete an excess backup');
    }
  }
  return deleted;
}
