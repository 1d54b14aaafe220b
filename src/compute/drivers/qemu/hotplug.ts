/**
 * Interface hot-plug over QMP (measured recipe, notes/guest-and-dataplane.md §2): netdev_add a
 * tap + device_add virtio-net-pci (pc's ACPI hotplug needs nothing more); to unplug, device_del,
 * wait for the guest to release it (DEVICE_DELETED), then netdev_del closes the tap.
 */
import { existsSync } from 'node:fs';
import type { Vif } from '../driver.js';
import { nicIds } from './cmdline.js';
import { loadSpec, saveSpec, type GuestPaths } from './guest-dir.js';
import { pidAlive, readPid } from './proc.js';
import { QmpClient } from './qmp.js';

interface Log { info(obj: object, msg?: string): void }

/** Plugs a tap into a running guest; the spec on disk gets the vif too, so a restart keeps it. */
export async function attachNic(p: GuestPaths, vif: Vif, log: Log): Promise<void> {
  const spec = loadSpec(p);
  if (spec) saveSpec(p, { ...spec, vifs: [...spec.vifs.filter((v) => v.portId !== vif.portId), vif] });
  if (!pidAlive(readPid(p.pid), p.dir)) return;
  // a tap is opened by name from QEMU's own namespace: a qemu started outside it would make a new, unwired tap
  if (vif.netns && !spec?.vifs.some((v) => v.portId !== vif.portId && v.netns === vif.netns)) {
    throw new Error(`guest ${p.dir} runs outside the namespace of the taps; stop and start it to plug port ${vif.portId}`);
  }
  await plugNic(p.qmp, vif);
  log.info({ guest: p.dir, port: vif.portId }, 'interface hot-plugged');
}

/** Unplugs a port's interface from a running guest (and from its spec). */
export async function detachNic(p: GuestPaths, portId: string, log: Log): Promise<void> {
  if (!existsSync(p.dir)) return;
  const spec = loadSpec(p);
  if (spec) saveSpec(p, { ...spec, vifs: spec.vifs.filter((v) => v.portId !== portId) });
  if (!pidAlive(readPid(p.pid), p.dir)) return;
  await unplugNic(p.qmp, portId);
  log.info({ guest: p.dir, port: portId }, 'interface unplugged');
}

export async function plugNic(qmp: string, vif: Vif): Promise<void> {
  if (vif.kind !== 'tap' || !vif.tapName) throw new Error(`port ${vif.portId}: only tap interfaces can be hot-plugged`);
  const ids = nicIds(vif.portId);
  await addDevice(qmp, ['netdev_add', { type: 'tap', id: ids.netdev, ifname: vif.tapName, script: 'no', downscript: 'no' }], ['netdev_del', { id: ids.netdev }],
    { driver: 'virtio-net-pci', id: ids.device, netdev: ids.netdev, mac: vif.mac, ...(vif.mtu ? { host_mtu: vif.mtu } : {}) });
}

export async function unplugNic(qmp: string, portId: string, timeoutMs = 20_000): Promise<void> {
  const ids = nicIds(portId);
  await removeDevice(qmp, ids.device, ['netdev_del', { id: ids.netdev }], /not found/i, timeoutMs);
}

type QmpCommand = [command: string, args: Record<string, unknown>];

/** Adds a backend (netdev, block node) and the guest device on it; the backend goes again when the device cannot be added. */
export async function addDevice(qmp: string, addBackend: QmpCommand, delBackend: QmpCommand, device: Record<string, unknown>): Promise<void> {
  const c = await QmpClient.connect(qmp);
  try {
    await c.execute(...addBackend);
    try {
      await c.execute('device_add', device);
    } catch (e) {
      await c.execute(...delBackend).catch(() => undefined);
      throw e;
    }
  } finally {
    c.close();
  }
}

/**
 * device_del, waits for the guest to release the device (DEVICE_DELETED), then deletes its
 * backend; a device or backend already gone (`gone` matches the error) is no error.
 */
export async function removeDevice(qmp: string, deviceId: string, delBackend: QmpCommand, gone: RegExp, timeoutMs = 20_000): Promise<void> {
  const c = await QmpClient.connect(qmp);
  try {
    // listen before asking, so a fast guest's event is not missed
    const deleted = c.waitEvent('DEVICE_DELETED', timeoutMs, (e) => e.data?.device === deviceId);
    deleted.catch(() => undefined);
    let present = true;
    try {
      await c.execute('device_del', { id: deviceId });
    } catch (e) {
      if (!/not found/i.test(String(e))) throw e;
      present = false;
    }
    if (present) await deleted;
    await c.execute(...delBackend).catch((e: unknown) => { if (!gone.test(String(e))) throw e; });
  } finally {
    c.close();
  }
}
