import type { ComputeDriver, InstanceSpec, LocalImage } from '../drivers/driver.js';
import type { InstanceRow } from '../db/schema.js';
import type { NetworkInfoItem } from '../network/network-api.js';
import { fromJson, type ComputeContext } from '../service/context.js';
import { flavorOf } from '../service/servers.js';
import { injectedFiles } from '../service/personality.js';
import { attachedVolume, attachmentsOf } from '../service/volumes.js';
import { join } from 'node:path';
import { buildConfigDrive } from './config-drive.js';
import type { ImageCache } from './image-cache.js';
import { metadataDocuments } from './metadata.js';

const localFormat = (diskFormat: unknown): LocalImage['format'] => (diskFormat === 'qcow2' ? 'qcow2' : 'raw');

/**
 * What the driver needs to run a server: its flavor, its boot files fetched from the image
 * service into the host's cache (a UEC image brings its kernel and ramdisk), and its interfaces.
 * The fake driver needs no files, so nothing is fetched for it.
 */
export async function instanceSpec(c: ComputeContext, row: InstanceRow, o: { driver: ComputeDriver; images?: ImageCache; stateDir: string; metadataUrl?: (uuid: string) => string }): Promise<InstanceSpec> {
  const f = flavorOf(row);
  const info = fromJson<NetworkInfoItem[]>(row.network_info, []);
  const spec: InstanceSpec = {
    uuid: row.uuid, name: row.hostname, vcpus: f.vcpus, memoryMb: f.memory_mb, rootGb: f.root_gb,
    vifs: info.map((n) => ({
      portId: n.port_id, mac: n.mac, ...(n.vif ?? { kind: 'user' as const }),
      ips: n.ips.filter((ip) => ip.type === 'fixed').map((ip) => ({ address: ip.address, version: ip.version, cidr: ip.cidr, gateway: ip.gateway })),
    })),
  };
  if (c.volume) {
    const bdms = await attachmentsOf(c, row.uuid);
    if (bdms.length) spec.volumes = bdms.map((b) => attachedVolume(c, b));
  }
  if (o.driver.type === 'fake' || !o.images || !row.image_ref) return spec;
  spec.metadataUrl = o.metadataUrl?.(row.uuid);
  if (row.config_drive) {
    const meta = Object.fromEntries((await c.db.selectFrom('instance_metadata').selectAll().where('instance_uuid', '=', row.uuid).execute()).map((m) => [m.key, m.value]));
    const docs = metadataDocuments(row, meta, await injectedFiles(c.db, row.uuid));
    spec.configDrive = join(o.stateDir, 'config-drives', `${row.uuid}.iso`);
    await buildConfigDrive(spec.configDrive, { metaData: docs.metaData, userData: docs.userData, networkData: docs.networkData, vendorData: docs.vendorData, content: docs.content });
  }
  const viewer = { projectId: row.project_id, isAdmin: true };
  const image = await c.image.getImage(row.image_ref, viewer);
  if (!image) throw new Error(`image ${row.image_ref} is gone`);
  const kernelId = typeof image.kernel_id === 'string' ? image.kernel_id : undefined;
  const ramdiskId = typeof image.ramdisk_id === 'string' ? image.ramdisk_id : undefined;
  if (image.disk_format === 'aki' || image.disk_format === 'ari') throw new Error(`image ${row.image_ref} is a ${image.disk_format} (kernel or ramdisk), not bootable on its own`);
  spec.root = { path: await o.images.fetch(row.image_ref, viewer), format: localFormat(image.disk_format) };
  if (kernelId) {
    spec.kernel = await o.images.kernel(kernelId, viewer);
    if (ramdiskId) spec.ramdisk = await o.images.fetch(ramdiskId, viewer);
    spec.cmdline = typeof image.os_command_line === 'string' ? image.os_command_line : 'ro';
  }
  return spec;
}
