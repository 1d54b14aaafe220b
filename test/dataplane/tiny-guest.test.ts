import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTinyGuest, type TinyGuestBuild } from '../../src/image/tiny-guest/builder.js';
import { detectAccel, type AccelVerdict } from '../../src/core/host/accel.js';
import { run, which } from '../../src/core/host/tools.js';
import { dataplaneProblems, dataplaneSkip } from '../helpers/dataplane.js';

/**
 * Dataplane tier: the tiny guest really boots. Builds it (cached between runs in
 * $NUBO_CACHE_DIR, default /var/tmp/nubo-cache), boots the UEC form (kernel + initramfs +
 * ext4 root) and the whole-disk qcow2 under QEMU (TCG, or KVM when a probe shows it works),
 * without a NIC, with a config drive carrying meta_data.json and a `#!/bin/sh` user_data,
 * reads the serial console until the READY line, then powers the guest off over QMP.
 * Skips when not root or when QEMU/the build tools are missing, unless CI is set: then fails.
 */

const CACHE = process.env.NUBO_CACHE_DIR || '/var/tmp/nubo-cache';
const BOOT_TIMEOUT_MS = Number(process.env.NUBO_BOOT_TIMEOUT_MS) || 120_000;
const POWERDOWN_TIMEOUT_MS = 30_000;

const found = dataplaneProblems();
const skip = dataplaneSkip(found);

// every qemu this file starts, killed whatever happens
const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

interface Guest {
  child: ChildProcess;
  consoleFile: string;
  qmpSocket: string;
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startQemu(dir: string, name: string, accel: AccelVerdict, args: string[]): Guest {
  const consoleFile = join(dir, `${name}.console`);
  const qmpSocket = join(dir, `${name}.qmp`);
  rmSync(consoleFile, { force: true });
  const child = spawn('qemu-system-x86_64', [
    '-name', name, '-accel', accel.accel, ...(accel.accel === 'kvm' ? ['-cpu', 'host'] : []), '-M', 'pc', '-m', '256', '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', `file:${consoleFile}`,
    '-qmp', `unix:${qmpSocket},server=on,wait=off`, '-device', 'virtio-rng-pci', ...args,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); });
  });
  return { child, consoleFile, qmpSocket, startedAt: performance.now(), exited, stderr: () => err };
}

const consoleText = (g: Guest) => (existsSync(g.consoleFile) ? readFileSync(g.consoleFile, 'latin1').replace(/\r/g, '') : '');

/** Polls the console log until every pattern matched; throws with the log's tail on timeout or exit. */
async function waitForConsole(g: Guest, patterns: RegExp[], timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  void g.exited.then(() => { exited = true; });
  for (;;) {
    const text = consoleText(g);
    if (patterns.every((p) => p.test(text))) return text;
    if (exited || performance.now() > deadline) {
      const missing = patterns.filter((p) => !p.test(text)).map(String).join(', ');
      throw new Error(`${exited ? 'qemu exited' : `no ${missing} within ${timeoutMs / 1000}s`}; qemu stderr: ${g.stderr().slice(-500)}\n--- console tail ---\n${text.slice(-2500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One QMP command (after the capabilities handshake); resolves with its reply. */
function qmp(socket: string, command: string, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    let stage = 0;
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`QMP ${command}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        if (msg.event) continue;
        if (stage === 0 && msg.QMP) { stage = 1; s.write('{"execute":"qmp_capabilities"}\n'); continue; }
        if (stage === 1 && 'return' in msg) { stage = 2; s.write(JSON.stringify({ execute: command }) + '\n'); continue; }
        if (stage === 2) { clearTimeout(timer); s.end(); return 'error' in msg ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.return); }
      }
    });
  });
}

/** system_powerdown (ACPI) and wait for qemu to exit; then quit; then SIGKILL. Returns how it stopped. */
async function powerOff(g: Guest): Promise<{ how: 'powerdown' | 'quit' | 'kill'; ms: number; code: number | null }> {
  const t0 = performance.now();
  const within = async (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([g.exited, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), ms); })]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await qmp(g.qmpSocket, 'system_powerdown');
    const e = await within(POWERDOWN_TIMEOUT_MS);
    if (e) return { how: 'powerdown', ms: performance.now() - t0, code: e.code };
  } catch { /* fall through */ }
  try {
    await qmp(g.qmpSocket, 'quit');
    const e = await within(5000);
    if (e) return { how: 'quit', ms: performance.now() - t0, code: e.code };
  } catch { /* fall through */ }
  g.child.kill('SIGKILL');
  const e = await g.exited;
  return { how: 'kill', ms: performance.now() - t0, code: e.code };
}

/** A config drive (label config-2) with meta_data.json and user_data, as iso9660 or vfat. */
async function configDrive(dir: string, kind: 'iso' | 'vfat', md: Record<string, unknown>, userData: string): Promise<string> {
  const tree = join(dir, `cd-${kind}`);
  mkdirSync(join(tree, 'openstack/latest'), { recursive: true });
  writeFileSync(join(tree, 'openstack/latest/meta_data.json'), JSON.stringify(md));
  writeFileSync(join(tree, 'openstack/latest/user_data'), userData);
  const out = join(dir, `config-drive.${kind}`);
  if (kind === 'iso' && which('genisoimage')) {
    await run('genisoimage', ['-quiet', '-o', out, '-V', 'config-2', '-r', '-J', tree]);
  } else {
    rmSync(out, { force: true });
    await run('mkfs.vfat', ['-n', 'config-2', '-C', out, '1024']);
    await run('mcopy', ['-s', '-i', out, join(tree, 'openstack'), '::/'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  }
  return out;
}

const metadata = (hostname: string) => ({
  uuid: '6f1c3d1e-5b7a-4c2e-9d3f-0a1b2c3d4e5f', name: hostname, hostname: `${hostname}.novalocal`,
  public_keys: { nubo: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHR5bnlvcy10ZXN0LWtleS1ub3QtcmVhbC0wMDAwMDAwMDA test@nubo\n' },
  launch_index: 0, availability_zone: 'nova', meta: {},
});

describe('tiny guest image boots under QEMU (dataplane)', { skip }, () => {
  let build: TinyGuestBuild;
  let accel: AccelVerdict;
  let dir: string;

  before(() => {
    if (found.length) throw new Error(`CI is set, so the dataplane tier must run: ${found.join('; ')}`);
    dir = mkdtempSync(join(tmpdir(), 'nubo-dataplane-'));
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds from Debian packages, and a second build with the same inputs comes from the cache', async (t) => {
    const cacheDir = join(CACHE, 'tiny-guest');
    const t0 = performance.now();
    build = await buildTinyGuest({ cacheDir });
    const firstMs = performance.now() - t0;
    const t1 = performance.now();
    const again = await buildTinyGuest({ cacheDir });
    const secondMs = performance.now() - t1;
    assert.equal(again.key, build.key);
    assert.equal(again.cached, true);
    assert.ok(secondMs < 10_000, `cached build took ${secondMs} ms`);
    for (const f of [build.kernel, build.ramdisk, build.rootfs, build.disk]) assert.ok(f.bytes > 100_000 && existsSync(f.path), f.path);
    assert.ok(build.modules.includes('virtio_blk') && build.modules.indexOf('virtio_ring') < build.modules.indexOf('virtio_blk'), 'modules in load order');
    const { stdout } = await run('sh', ['-c', `gzip -dc '${build.ramdisk.path}' | cpio -t --quiet`]);
    for (const f of ['init', 'bin/busybox', 'sbin/init', 'usr/sbin/dropbear', 'usr/bin/dropbearkey', 'lib64/ld-linux-x86-64.so.2',
      'lib/modules/load-order', 'lib/modules/ext4.ko', 'etc/init.d/rcS', 'usr/share/udhcpc/default.script', 'etc/acpi/PWRF/00000080']) {
      assert.ok(stdout.split('\n').includes(f), `initramfs has ${f}`);
    }
    t.diagnostic(`build ${build.key}: ${build.cached ? 'from the cache' : `cold ${(firstMs / 1000).toFixed(1)}s`}, cached ${(secondMs / 1000).toFixed(2)}s; ` +
      `aki ${build.kernel.bytes} B, ari ${build.ramdisk.bytes} B, ami ${build.rootfs.bytes} B, qcow2 ${build.disk.bytes} B (${build.disk.virtualBytes} B virtual); boot kernel ${build.bootKernel.pvh ? 'PVH vmlinux' : 'bzImage'}`);
  });

  it('knows which accelerator works here (KVM only when a guest really runs under it)', async (t) => {
    assert.ok(build, 'built');
    accel = await detectAccel({ kernel: build.bootKernel.path, initrd: build.ramdisk.path, cacheFile: join(CACHE, 'accel.json') });
    assert.ok(accel.accel === 'tcg' || accel.accel === 'kvm');
    t.diagnostic(`accelerator: ${accel.accel} (${accel.reason})`);
  });

  it('UEC form (kernel + ramdisk + ext4 root) with a config drive reaches READY, runs user-data, powers off over QMP', async (t) => {
    assert.ok(build && accel, 'built and probed');
    const marker = `uec-marker-${process.pid}`;
    const cd = await configDrive(dir, 'iso', metadata('uec-guest'), `#!/bin/sh\necho "${marker} from $(hostname)"\n`);
    const g = startQemu(dir, 'uec', accel, [
      '-kernel', build.bootKernel.path, '-initrd', build.ramdisk.path, '-append', build.cmdline.uec,
      // root disk first (vda), config drive second (vdb); snapshot=on leaves the cached image untouched
      '-drive', `file=${build.rootfs.path},format=raw,if=none,id=root,snapshot=on`, '-device', 'virtio-blk-pci,drive=root',
      '-drive', `file=${cd},format=raw,if=none,id=cd0,readonly=on`, '-device', 'virtio-blk-pci,drive=cd0',
    ]);
    try {
      const text = await waitForConsole(g, [/tinyos: READY hostname=\S+/, new RegExp(`user_data: ${marker} from`)], BOOT_TIMEOUT_MS);
      const readyMs = performance.now() - g.startedAt;
      assert.match(text, /tinyos: switch_root to \/dev\/vda/, 'booted from the ami root filesystem');
      assert.match(text, /tinyos: metadata source=config-drive:\/dev\/vdb/);
      assert.match(text, /tinyos: READY hostname=uec-guest ip= /);
      assert.match(text, new RegExp(`user_data: ${marker} from uec-guest`));
      assert.match(text, /instance uuid=6f1c3d1e-5b7a-4c2e-9d3f-0a1b2c3d4e5f hostname=uec-guest ssh_keys=1/);
      assert.match(text, /-----BEGIN SSH HOST KEY KEYS-----\nssh-ed25519 \S+/);
      const off = await powerOff(g);
      assert.equal(off.how, 'powerdown', 'the guest powers off on the ACPI power button');
      assert.equal(off.code, 0);
      assert.match(consoleText(g), /tinyos: ACPI power button -> poweroff/);
      t.diagnostic(`UEC boot to READY: ${(readyMs / 1000).toFixed(1)}s under ${accel.accel}; system_powerdown to exit ${(off.ms / 1000).toFixed(1)}s`);
    } finally {
      g.child.kill('SIGKILL');
      await g.exited;
    }
  });

  it('whole-disk qcow2 (SeaBIOS → syslinux → kernel → ext4 root) reaches READY with a vfat config drive', async (t) => {
    assert.ok(build && accel, 'built and probed');
    const cd = await configDrive(dir, 'vfat', metadata('disk-guest'), '#!/bin/sh\necho disk-marker\n');
    const g = startQemu(dir, 'disk', accel, [
      '-drive', `file=${build.disk.path},format=qcow2,if=none,id=disk,snapshot=on`, '-device', 'virtio-blk-pci,drive=disk',
      '-drive', `file=${cd},format=raw,if=none,id=cd0,readonly=on`, '-device', 'virtio-blk-pci,drive=cd0',
    ]);
    try {
      const text = await waitForConsole(g, [/tinyos: READY hostname=\S+/], BOOT_TIMEOUT_MS);
      const readyMs = performance.now() - g.startedAt;
      assert.match(text, /tinyos: switch_root to \/dev\/vda2/, 'booted from the disk\'s ext4 partition');
      assert.match(text, /tinyos: metadata source=config-drive:\/dev\/vdb/);
      assert.match(text, /tinyos: READY hostname=disk-guest /);
      assert.match(text, /user_data: disk-marker/);
      const off = await powerOff(g);
      assert.ok(off.code === 0 || off.how !== 'kill', `qemu exited (${off.how})`);
      t.diagnostic(`whole-disk boot to READY: ${(readyMs / 1000).toFixed(1)}s under ${accel.accel}; stopped by ${off.how} in ${(off.ms / 1000).toFixed(1)}s`);
    } finally {
      g.child.kill('SIGKILL');
      await g.exited;
    }
  });
});
