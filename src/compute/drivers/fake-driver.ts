import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GuestNotFound, type AttachedVolume, type ComputeDriver, type GuestInfo, type HostResources, type InstanceSpec, type PowerState, type Vif } from './driver.js';

export interface FakeDriverOptions {
  /** How long a snapshot takes (ms): the server stays in task_state image_pending_upload meanwhile. Default 300. */
  snapshotMs?: number;
}

/** The console of a simulated boot: one line per step, as a Linux guest logs it (with seconds since boot). */
function bootLog(spec: InstanceSpec): string[] {
  const steps = [
    'Linux version 6.1.0-fake (nubo@fake) #1 SMP PREEMPT_DYNAMIC',
    `Command line: console=ttyS0 root=LABEL=cloudimg-rootfs`,
    'BIOS-provided physical RAM map:',
    `Memory: ${spec.memoryMb * 1024}K available`,
    `smpboot: Allowing ${spec.vcpus} CPUs, 0 hotplug CPUs`,
    'Calibrating delay loop (skipped), value calculated using timer frequency',
    'pid_max: default: 32768 minimum: 301',
    'Mount-cache hash table entries: 8192',
    'PCI: Using configuration type 1 for base access',
    'ACPI: Interpreter enabled',
    'clocksource: Switched to clocksource kvm-clock',
    'NET: Registered PF_INET protocol family',
    'Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled',
    'serial8250: ttyS0 at I/O 0x3f8 (irq = 4) is a 16550A',
    'virtio_blk virtio1: [vda] disk',
    ' vda: vda1 vda15',
    'virtio_net virtio0 eth0: renamed from eth0',
    'EXT4-fs (vda1): mounted filesystem with ordered data mode',
    'Run /sbin/init as init process',
    'systemd[1]: Detected virtualization kvm.',
    `systemd[1]: Set hostname to <${spec.name}>.`,
    'systemd[1]: Started Journal Service.',
    'systemd[1]: Starting Network Configuration...',
    'systemd[1]: Started Network Configuration.',
    'cloud-init[301]: Cloud-init v. 23.1 running \'init-local\'',
    'cloud-init[412]: Cloud-init v. 23.1 running \'init\'',
    ...spec.vifs.map((v) => `cloud-init[412]: ci-info: | eth0 | True | ${v.ips[0]?.address ?? '.'} | ${v.mac} |`),
    'systemd[1]: Starting OpenBSD Secure Shell server...',
    'systemd[1]: Started OpenBSD Secure Shell server.',
    'cloud-init[530]: Cloud-init v. 23.1 running \'modules:final\'',
    `cloud-init[530]: Cloud-init v. 23.1 finished. Datasource DataSourceOpenStack. Up 4.20 seconds`,
    `fake: ${spec.name} booted (${spec.vcpus} vCPU, ${spec.memoryMb} MB)`,
    `${spec.name} login: `,
    `fake: READY hostname=${spec.name}`,
  ];
  return steps.map((line, i) => `[${(i * 0.137).toFixed(6).padStart(12)}] ${line}`);
}

/**
 * FAKE hypervisor: simulates guests in memory, for scale tests and API conformance runs.
 * Reported as hypervisor_type 'fake'; nothing runs. Capacity is configurable, so one process
 * can hold many simulated hosts.
 */
export function createFakeDriver(resources: { vcpus: number; memoryMb: number; diskGb: number }, opts: FakeDriverOptions = {}): ComputeDriver {
  const snapshotMs = opts.snapshotMs ?? 300;
  const guests = new Map<string, { state: PowerState; console: string[]; nics?: Vif[]; volumes?: AttachedVolume[] }>();
  const get = (uuid: string) => {
    const g = guests.get(uuid);
    if (!g) throw new GuestNotFound(uuid);
    return g;
  };
  const boot = (spec: InstanceSpec): GuestInfo => {
    const g = guests.get(spec.uuid) ?? { state: 'running' as PowerState, console: [] };
    g.state = 'running';
    g.console.push(...bootLog(spec));
    guests.set(spec.uuid, g);
    return { powerState: 'running' };
  };
  return {
    type: 'fake',
    async hostResources(): Promise<HostResources> {
      return { ...resources, hypervisorType: 'fake', hypervisorVersion: 1000, cpuInfo: { arch: 'x86_64', model: 'fake', vendor: 'fake' }, hostIp: '127.0.0.1' };
    },
    async spawn(spec) { return boot(spec); },
    async destroy(uuid) { guests.delete(uuid); },
    async powerOff(uuid) { get(uuid).state = 'shutdown'; },
    async powerOn(spec) { return boot(spec); },
    async reboot(spec) { return boot(spec); },
    async pause(uuid) { get(uuid).state = 'paused'; },
    async unpause(uuid) { get(uuid).state = 'running'; },
    async suspend(uuid) { get(uuid).state = 'suspended'; },
    async resume(spec) { get(spec.uuid).state = 'running'; return { powerState: 'running' }; },
    async info(uuid) { return { powerState: get(uuid).state }; },
    async listGuests() { return [...guests.keys()]; },
    async consoleOutput(uuid, lines) {
      // the log as a file holds it (each line ends with a newline), tailed as Nova's _tail_log does
      const log = get(uuid).console.map((l) => `${l}\n`).join('');
      if (lines === undefined) return log;
      if (lines <= 0) return '';
      return log.split('\n').slice(-lines).join('\n');
    },
    async snapshot(uuid, destDir) {
      get(uuid);
      // a disk copy takes a while: long enough for a client to see the server busy
      if (snapshotMs > 0) await new Promise((r) => setTimeout(r, snapshotMs));
      get(uuid);
      // A tiny stand-in disk: the fake has no real one.
      const path = join(destDir, `${uuid}.snapshot.qcow2`);
      writeFileSync(path, Buffer.from('fake snapshot of ' + uuid));
      return { path, format: 'qcow2' };
    },
    async injectNmi(uuid) { get(uuid).console.push('fake: NMI received'); },
    async rescue(spec) { get(spec.uuid).console.push(`fake: ${spec.name} rescue boot`); get(spec.uuid).state = 'running'; return { powerState: 'running' }; },
    async unrescue(spec) { return boot(spec); },
    async prepareIncoming(spec) {
      guests.set(spec.uuid, { state: 'paused', console: [`fake: ${spec.name} waiting for incoming migration`] });
      return { uri: `fake:${spec.uuid}` };
    },
    async migrateOut(uuid) { get(uuid); guests.delete(uuid); },
    async finishIncoming(uuid) { get(uuid).state = 'running'; return { powerState: 'running' }; },
    async abortIncoming(uuid) { guests.delete(uuid); },
    async migrationSource(uuid) { get(uuid); return { diskPath: `fake:${uuid}` }; },
    async moveIn(spec) {
      if (!guests.has(spec.uuid)) guests.set(spec.uuid, { state: 'shutdown', console: [`fake: ${spec.name} moved in (cold migration)`] });
    },
    async attachInterface(uuid, vif) {
      const g = get(uuid);
      g.nics = [...(g.nics ?? []).filter((n) => n.portId !== vif.portId), vif];
      g.console.push(`fake: virtio_net: interface ${vif.mac} plugged`);
    },
    async detachInterface(uuid, portId) {
      const g = guests.get(uuid);
      if (!g) return;
      g.nics = (g.nics ?? []).filter((n) => n.portId !== portId);
      g.console.push(`fake: virtio_net: interface of port ${portId} unplugged`);
    },
    async attachVolume(uuid, volume) {
      const g = get(uuid);
      g.volumes = [...(g.volumes ?? []).filter((v) => v.volumeId !== volume.volumeId), volume];
      g.console.push(`fake: virtio_blk: volume ${volume.volumeId} plugged`);
    },
    async detachVolume(uuid, volumeId) {
      const g = guests.get(uuid);
      if (!g) return;
      g.volumes = (g.volumes ?? []).filter((v) => v.volumeId !== volumeId);
      g.console.push(`fake: virtio_blk: volume ${volumeId} unplugged`);
    },
    async close() { guests.clear(); },
  };
}
