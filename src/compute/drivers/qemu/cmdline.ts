import type { InstanceSpec } from '../driver.js';
import type { GuestPaths } from './guest-dir.js';
import { SLIRP_NET, guestfwdOption } from './metadata-forward.js';

/** The qemu-system-x86_64 command line for one guest. */

export interface LaunchOptions {
  accel: 'kvm' | 'tcg';
  /** host port forwarded to the first user-mode NIC's port 22 */
  sshPort?: number;
  /** the metadata forwarder script (user-mode NICs) */
  forwarder?: string;
  /** restore from this file (resume after suspend) */
  incoming?: string;
  /** wait for a live migration (`-incoming defer`; the caller sends QMP migrate-incoming) */
  incomingDefer?: boolean;
  /** the root disk when it is not <dir>/disk (an incoming migration uses the source's file) */
  diskPath?: string;
}

/** QEMU's option parser splits on commas; a literal comma is written twice. */
const q = (s: string) => s.replace(/,/g, ',,');

export function qemuArgs(spec: InstanceSpec, p: GuestPaths, o: LaunchOptions): string[] {
  const a = [
    // the directory in the command line lets pidAlive tell our qemu from a recycled pid
    '-name', `${q(spec.name || spec.uuid)},process=nubo-${spec.uuid.slice(0, 8)}`,
    '-uuid', spec.uuid,
    // tb-size=32: the TCG code buffer costs ~40 MB less RSS at the same speed
    ...(o.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,tb-size=32']),
    '-M', 'pc', '-m', String(spec.memoryMb), '-smp', String(Math.max(1, spec.vcpus)),
    '-nodefaults', '-no-user-config', '-display', 'none',
    // a VGA screen served over VNC on a unix socket (remote consoles); the serial console stays the log
    '-vga', 'std', '-vnc', `unix:${p.vnc}`,
    '-daemonize', '-pidfile', p.pid,
    '-qmp', `unix:${p.qmp},server=on,wait=off`,
    // the serial console: an interactive socket whose output is also appended to a log
    '-chardev', `socket,id=con0,path=${p.serial},server=on,wait=off,logfile=${p.console},logappend=on`,
    '-serial', 'chardev:con0',
    // guests block ~1 s on getrandom() without an entropy source
    '-device', 'virtio-rng-pci',
  ];
  const uec = Boolean(spec.kernel);
  if (uec) {
    a.push('-kernel', spec.kernel!);
    if (spec.ramdisk) a.push('-initrd', spec.ramdisk);
    const cmd = (spec.cmdline ?? '').trim().split(/\s+/).filter(Boolean);
    if (!cmd.some((w) => w.startsWith('console='))) cmd.unshift('console=ttyS0');
    if (spec.root && !cmd.some((w) => w.startsWith('root='))) cmd.push('root=/dev/vda');
    a.push('-append', cmd.join(' '));
  }
  // root disk first, so it is /dev/vda; the config drive after it
  if (spec.root) a.push('-drive', `file=${q(o.diskPath ?? p.disk)},format=qcow2,if=none,id=root,cache=writeback`, '-device', 'virtio-blk-pci,drive=root');
  (spec.extraDisks ?? []).forEach((d, i) => a.push('-drive', `file=${q(d)},format=qcow2,if=none,id=extra${i},cache=writeback`, '-device', `virtio-blk-pci,drive=extra${i}`));
  if (spec.configDrive) a.push('-drive', `file=${q(spec.configDrive)},format=raw,if=none,id=cd0,readonly=on`, '-device', 'virtio-blk-pci,drive=cd0');
  // volumes with the ids a hot-plug gives them, so a detach finds a volume the guest booted with
  for (const v of spec.volumes ?? []) {
    const ids = volumeIds(v.volumeId);
    a.push('-blockdev', `driver=${v.format},node-name=${ids.node},read-only=${v.readonly ? 'on' : 'off'},file.driver=file,file.filename=${q(v.path)}`,
      '-device', `virtio-blk-pci,id=${ids.device},drive=${ids.node},serial=${v.volumeId.slice(0, 20)}`);
  }
  let sshForwarded = false;
  spec.vifs.forEach((v, i) => {
    const id = `n${i}`;
    if (v.kind === 'user') {
      const opts = [`user,id=${id}`, `net=${SLIRP_NET.net}`, `host=${SLIRP_NET.host}`, `dns=${SLIRP_NET.dns}`, `dhcpstart=${SLIRP_NET.dhcpstart}`];
      if (!sshForwarded && o.sshPort) { opts.push(`hostfwd=tcp:127.0.0.1:${o.sshPort}-:22`); sshForwarded = true; }
      if (o.forwarder) opts.push(guestfwdOption(o.forwarder, spec.uuid, spec.metadataUrl));
      a.push('-netdev', opts.join(','), '-device', `virtio-net-pci,netdev=${id},mac=${v.mac}`);
    } else {
      if (!v.tapName) throw new Error(`vif ${v.portId}: a tap vif needs tapName`);
      // ids named after the port, so an interface detach finds the device and netdev of any port
      const ids = nicIds(v.portId);
      a.push('-netdev', `tap,id=${ids.netdev},ifname=${v.tapName},script=no,downscript=no`,
        '-device', `virtio-net-pci,id=${ids.device},netdev=${ids.netdev},mac=${v.mac}${v.mtu ? `,host_mtu=${v.mtu}` : ''}`);
    }
  });
  if (o.incoming) a.push('-incoming', `exec:cat ${shellQuote(o.incoming)}`);
  else if (o.incomingDefer) a.push('-incoming', 'defer');
  return a;
}

/** QEMU ids of a volume's block node and disk (node names are at most 31 characters). */
export const volumeIds = (volumeId: string) => {
  const short = volumeId.replaceAll('-', '').slice(0, 24);
  return { node: `vol-${short}`, device: `disk-${short}` };
};

/** QEMU ids of a port's tap interface (the same at boot and at hot-plug). */
export const nicIds = (portId: string) => ({ netdev: `net-${portId}`, device: `nic-${portId}` });

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
