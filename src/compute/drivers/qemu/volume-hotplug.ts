/**
 * Volume hot-plug over QMP, as interfaces (hotplug.ts): blockdev-add the volume's file +
 * device_add virtio-blk-pci; to unplug, device_del, wait for the guest to release it
 * (DEVICE_DELETED), then blockdev-del. The guest's spec on disk keeps its volumes, so a
 * stop/start or a restarted agent boots with them (cmdline.ts uses the same ids).
 */
import { existsSync } from 'node:fs';
import type { AttachedVolume, ComputeDriver } from '../driver.js';
import { volumeIds } from './cmdline.js';
import { guestPaths, loadSpec, saveSpec, type GuestPaths } from './guest-dir.js';
import { pidAlive, readPid } from './proc.js';
import { addDevice, removeDevice } from './hotplug.js';

interface Log { info(obj: object, msg?: string): void }

export async function attachDisk(p: GuestPaths, v: AttachedVolume, log: Log): Promise<void> {
  const spec = loadSpec(p);
  if (spec) saveSpec(p, { ...spec, volumes: [...(spec.volumes ?? []).filter((x) => x.volumeId !== v.volumeId), v] });
  if (!pidAlive(readPid(p.pid), p.dir)) return;
  const ids = volumeIds(v.volumeId);
  await addDevice(p.qmp, ['blockdev-add', { driver: v.format, 'node-name': ids.node, 'read-only': !!v.readonly, file: { driver: 'file', filename: v.path } }],
    ['blockdev-del', { 'node-name': ids.node }], { driver: 'virtio-blk-pci', id: ids.device, drive: ids.node, serial: v.volumeId.slice(0, 20) });
  log.info({ guest: p.dir, volume: v.volumeId }, 'volume hot-plugged');
}

export async function detachDisk(p: GuestPaths, volumeId: string, log: Log, timeoutMs = 20_000): Promise<void> {
  if (!existsSync(p.dir)) return;
  const spec = loadSpec(p);
  if (spec) saveSpec(p, { ...spec, volumes: (spec.volumes ?? []).filter((x) => x.volumeId !== volumeId) });
  if (!pidAlive(readPid(p.pid), p.dir)) return;
  const ids = volumeIds(volumeId);
  await removeDevice(p.qmp, ids.device, ['blockdev-del', { 'node-name': ids.node }], /not found|cannot find/i, timeoutMs);
  log.info({ guest: p.dir, volume: volumeId }, 'volume unplugged');
}

/** Gives a qemu driver its volume hot-plug (kept out of qemu-driver.ts, which is large enough). */
export function withVolumeHotplug<D extends ComputeDriver>(d: D, stateDir: string, log: Log): D {
  return Object.assign(d, {
    attachVolume: (uuid: string, v: AttachedVolume) => attachDisk(guestPaths(stateDir, uuid), v, log),
    detachVolume: (uuid: string, volumeId: string) => detachDisk(guestPaths(stateDir, uuid), volumeId, log),
  });
}
