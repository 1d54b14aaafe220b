import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfigDrive } from '../../src/compute/agent/config-drive.js';
import { GuestNotFound, type ComputeDriver, type InstanceSpec } from '../../src/compute/drivers/driver.js';
import { createQemuDriver } from '../../src/compute/drivers/qemu/qemu-driver.js';
import { buildTinyGuest, type TinyGuestBuild } from '../../src/image/tiny-guest/builder.js';
import { dataplaneProblems, dataplaneSkip, exec, procAlive, sshRun as sshRunAs } from '../helpers/dataplane.js';

/**
 * Dataplane tier: the qemu compute driver runs the tiny guest for real. A UEC guest with a
 * user-mode NIC and a config drive boots to READY, answers SSH on its forwarded port, powers
 * off and on, reboots, pauses, suspends and resumes; a snapshot of its disk boots a second
 * guest; destroy leaves no process and no directory. Guest directories live under
 * $TMPDIR/nubo-qemu-test-*, so `pkill -f nubo-qemu-test` finds any qemu left behind.
 * Skips when not root or when tools are missing, unless CI is set: then it fails.
 */

const CACHE = process.env.NUBO_CACHE_DIR || '/var/tmp/nubo-cache';
const BOOT_TIMEOUT_MS = Number(process.env.NUBO_BOOT_TIMEOUT_MS) || 120_000;

const found = dataplaneProblems();
const skip = dataplaneSkip(found);

const pidOf = (stateDir: string, uuid: string) => {
  try {
    return Number(readFileSync(join(stateDir, uuid, 'qemu.pid'), 'utf8').trim());
  } catch {
    return 0;
  }
};

describe('qemu compute driver runs the tiny guest (dataplane)', { skip }, () => {
  let build: TinyGuestBuild;
  let driver: ComputeDriver;
  let dir: string;
  let stateDir: string;
  let key: string;
  let pubKey: string;
  let md: Server;
  let mdUrl: string;
  const mdHits: Array<{ url: string; instance: string }> = [];
  const uuids: string[] = [];
  let spec1: InstanceSpec;

  const count = (text: string, re: RegExp) => (text.replace(/\r/g, '').match(re) ?? []).length;

  /** Polls the console until `re` has matched `n` times; returns ms waited. */
  async function waitConsole(uuid: string, re: RegExp, n: number, t0 = performance.now()): Promise<number> {
    const deadline = t0 + BOOT_TIMEOUT_MS;
    for (;;) {
      const text = await driver.consoleOutput(uuid);
      if (count(text, re) >= n) return performance.now() - t0;
      if (performance.now() > deadline) {
        throw new Error(`${re} x${n} not on the console within ${BOOT_TIMEOUT_MS / 1000}s; info ${JSON.stringify(await driver.info(uuid))}\n--- console tail ---\n${text.slice(-2500)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** ssh root@127.0.0.1 -p sshPort, retried until it answers. */
  const sshRun = (port: number, command: string, timeoutMs = 60_000) => sshRunAs(key, port, command, timeoutMs);

  const metaData = (uuid: string, name: string) => ({
    uuid, name, hostname: `${name}.novalocal`, public_keys: { nubo: pubKey }, launch_index: 0, availability_zone: 'nova', meta: {},
  });

  function spec(uuid: string, name: string, root: InstanceSpec['root'], configDrive: string, metadataUrl?: string): InstanceSpec {
    return {
      uuid, name, vcpus: 1, memoryMb: 256, rootGb: 1, root, kernel: build.bootKernel.path, ramdisk: build.ramdisk.path, cmdline: 'quiet',
      configDrive, vifs: [{ portId: `port-${name}`, mac: `fa:16:3e:00:00:${uuids.length.toString(16).padStart(2, '0')}`, ips: [], kind: 'user' }],
      ...(metadataUrl ? { metadataUrl } : {}),
    };
  }

  before(async () => {
    if (found.length) throw new Error(`CI is set, so the dataplane tier must run: ${found.join('; ')}`);
    dir = mkdtempSync(join(tmpdir(), 'nubo-qemu-test-'));
    stateDir = join(dir, 'guests');
    build = await buildTinyGuest({ cacheDir: join(CACHE, 'tiny-guest') });
    key = join(dir, 'id_ed25519');
    const kg = await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nubo-qemu-test', '-f', key]);
    assert.equal(kg.code, 0, kg.stderr);
    pubKey = readFileSync(`${key}.pub`, 'utf8').trim();
    // a stand-in metadata service: what the guest fetches through the slirp guestfwd
    md = createServer((req, res) => {
      const instance = String(req.headers['x-instance-id'] ?? '');
      mdHits.push({ url: req.url ?? '', instance });
      if (req.url === '/md/openstack/latest/meta_data.json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(metaData(instance, 'nubo-qemu-test-1')));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => md.listen(0, '127.0.0.1', r));
    const addr = md.address();
    mdUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/md`;
    driver = createQemuDriver({ stateDir, cacheDir: CACHE });
  });

  after(async () => {
    // whatever failed: no guest left running
    if (driver) {
      for (const u of await driver.listGuests().catch(() => [] as string[])) await driver.destroy(u).catch(() => undefined);
      await driver.close();
    }
    for (const u of uuids) {
      const pid = pidOf(stateDir, u);
      if (procAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    md?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports the host', async (t) => {
    const h = await driver.hostResources();
    assert.equal(h.hypervisorType, 'QEMU');
    assert.ok(h.vcpus >= 1 && h.memoryMb > 256 && h.diskGb >= 1, JSON.stringify(h));
    assert.match(String(h.hypervisorVersion), /^\d{7,}$/);
    t.diagnostic(`host: ${h.vcpus} vcpus, ${h.memoryMb} MB, ${h.diskGb} GB free, QEMU ${h.hypervisorVersion}, ip ${h.hostIp}`);
  });

  it('spawns a UEC guest that reaches READY and answers SSH on the forwarded port', async (t) => {
    const uuid = randomUUID();
    uuids.push(uuid);
    const cd = join(dir, 'cd1.iso');
    await buildConfigDrive(cd, { metaData: metaData(uuid, 'nubo-qemu-test-1'), userData: '#!/bin/sh\necho hello-from-user-data\n' });
    spec1 = spec(uuid, 'nubo-qemu-test-1', { path: build.rootfs.path, format: 'raw' }, cd, mdUrl);
    const t0 = performance.now();
    const g = await driver.spawn(spec1);
    assert.equal(g.powerState, 'running');
    assert.ok(g.sshPort, 'a forwarded SSH port');
    assert.deepEqual(await driver.listGuests(), [uuid]);
    const readyMs = await waitConsole(uuid, /tinyos: READY hostname=nubo-qemu-test-1 /g, 1, t0);
    const up = await sshRun(g.sshPort!, 'cat /proc/uptime');
    const sshMs = performance.now() - t0;
    assert.match(up, /^\d+\.\d+ \d+\.\d+/);
    const text = await driver.consoleOutput(uuid);
    assert.match(text, /tinyos: switch_root to \/dev\/vda/, 'booted from the overlay on the ami');
    // the metadata service through slirp's guestfwd, with the instance named in a header
    assert.match(text, /tinyos: metadata source=metadata-service/);
    assert.ok(mdHits.some((h) => h.url === '/md/openstack/latest/meta_data.json' && h.instance === uuid), JSON.stringify(mdHits));
    assert.equal((await driver.consoleOutput(uuid, 3)).split('\n').length, 3);
    // an agent restart: a new driver finds the guest, its state and its port from the directory
    const again = createQemuDriver({ stateDir, cacheDir: CACHE });
    assert.deepEqual(await again.listGuests(), [uuid]);
    const seen = await again.info(uuid);
    assert.deepEqual([seen.powerState, seen.sshPort], ['running', g.sshPort]);
    assert.ok(seen.vncSocket && existsSync(seen.vncSocket), 'the VNC socket is there');
    await again.close();
    t.diagnostic(`boot-to-READY ${(readyMs / 1000).toFixed(1)}s, boot-to-SSH ${(sshMs / 1000).toFixed(1)}s (uptime in guest: ${up.trim()})`);
  });

  it('powers off (ACPI) and on again, keeping the SSH port', async (t) => {
    const uuid = spec1.uuid;
    const port = (await driver.info(uuid)).sshPort;
    const t0 = performance.now();
    await driver.powerOff(uuid, 30);
    const offMs = performance.now() - t0;
    assert.equal((await driver.info(uuid)).powerState, 'shutdown');
    assert.match(await driver.consoleOutput(uuid), /ACPI power button -> poweroff/);
    const t1 = performance.now();
    const g = await driver.powerOn(spec1);
    assert.equal(g.powerState, 'running');
    assert.equal(g.sshPort, port);
    const readyMs = await waitConsole(uuid, /tinyos: READY /g, 2, t1);
    t.diagnostic(`powerOff ${(offMs / 1000).toFixed(1)}s; powerOn-to-READY ${(readyMs / 1000).toFixed(1)}s`);
  });

  it('reboots (soft): a second boot in the same console log', async (t) => {
    const uuid = spec1.uuid;
    const t0 = performance.now();
    const g = await driver.reboot(spec1, false);
    assert.equal(g.powerState, 'running');
    const ms = await waitConsole(uuid, /tinyos: READY /g, 3, t0);
    assert.ok(count(await driver.consoleOutput(uuid), /tinyos: init started/g) >= 3);
    const t1 = performance.now();
    assert.equal((await driver.reboot(spec1, true)).powerState, 'running');
    const hardMs = await waitConsole(uuid, /tinyos: READY /g, 4, t1);
    t.diagnostic(`soft reboot to READY ${(ms / 1000).toFixed(1)}s; hard reboot to READY ${(hardMs / 1000).toFixed(1)}s`);
  });

  it('pauses, unpauses, suspends to a file and resumes', async (t) => {
    const uuid = spec1.uuid;
    await driver.pause(uuid);
    assert.equal((await driver.info(uuid)).powerState, 'paused');
    await driver.unpause(uuid);
    assert.equal((await driver.info(uuid)).powerState, 'running');
    const t0 = performance.now();
    await driver.suspend(uuid);
    const suspendMs = performance.now() - t0;
    assert.equal((await driver.info(uuid)).powerState, 'suspended');
    const t1 = performance.now();
    const g = await driver.resume(spec1);
    assert.equal(g.powerState, 'running');
    const up = await sshRun(g.sshPort!, 'cat /proc/uptime', 30_000);
    t.diagnostic(`suspend ${(suspendMs / 1000).toFixed(1)}s; resume-to-SSH ${((performance.now() - t1) / 1000).toFixed(1)}s (guest uptime ${up.split(' ')[0]}s: not rebooted)`);
  });

  it('snapshots the root disk; a second guest boots from the snapshot with a config drive', async (t) => {
    const t0 = performance.now();
    const snap = await driver.snapshot(spec1.uuid, join(dir, 'snapshots'));
    const snapMs = performance.now() - t0;
    assert.equal(snap.format, 'qcow2');
    const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', snap.path])).stdout) as Record<string, unknown>;
    assert.equal(info.format, 'qcow2');
    assert.equal(info['backing-filename'], undefined, 'standalone');
    assert.equal((await driver.info(spec1.uuid)).powerState, 'running', 'running again after the copy');
    const uuid = randomUUID();
    uuids.push(uuid);
    const cd = join(dir, 'cd2.iso');
    await buildConfigDrive(cd, { metaData: metaData(uuid, 'nubo-qemu-test-2') });
    const t1 = performance.now();
    const g = await driver.spawn(spec(uuid, 'nubo-qemu-test-2', snap, cd));
    assert.notEqual(g.sshPort, (await driver.info(spec1.uuid)).sshPort);
    const readyMs = await waitConsole(uuid, /tinyos: READY hostname=nubo-qemu-test-2 /g, 1, t1);
    const text = await driver.consoleOutput(uuid);
    assert.match(text, /tinyos: switch_root to \/dev\/vda/);
    // no metadata URL: the forwarder answers 404 and the guest reads its config drive
    assert.match(text, /tinyos: metadata source=config-drive:\/dev\/vdb/);
    await sshRun(g.sshPort!, 'true', 30_000);
    assert.deepEqual((await driver.listGuests()).sort(), [...uuids].sort());
    t.diagnostic(`snapshot ${(snapMs / 1000).toFixed(1)}s; guest from snapshot boot-to-READY ${(readyMs / 1000).toFixed(1)}s`);
  });

  it('boots the whole-disk qcow2 (no kernel given) on an overlay', async (t) => {
    const uuid = randomUUID();
    uuids.push(uuid);
    const cd = join(dir, 'cd3.iso');
    await buildConfigDrive(cd, { metaData: metaData(uuid, 'nubo-qemu-test-3') });
    const s: InstanceSpec = { ...spec(uuid, 'nubo-qemu-test-3', { path: build.disk.path, format: 'qcow2' }, cd) };
    delete s.kernel;
    delete s.ramdisk;
    delete s.cmdline;
    const t0 = performance.now();
    await driver.spawn(s);
    const readyMs = await waitConsole(uuid, /tinyos: READY hostname=nubo-qemu-test-3 /g, 1, t0);
    assert.match(await driver.consoleOutput(uuid), /tinyos: switch_root to \/dev\/vda2/);
    t.diagnostic(`whole-disk boot-to-READY ${(readyMs / 1000).toFixed(1)}s`);
  });

  it('destroys every guest: no qemu process, no directory; a second destroy is a no-op', async () => {
    for (const uuid of uuids) {
      const pid = pidOf(stateDir, uuid);
      assert.ok(procAlive(pid), `qemu ${pid} runs before destroy`);
      await driver.destroy(uuid);
      assert.ok(!procAlive(pid), `qemu ${pid} is gone`);
      assert.ok(!existsSync(join(stateDir, uuid)), 'guest directory removed');
      await driver.destroy(uuid);
      await assert.rejects(driver.info(uuid), GuestNotFound);
    }
    assert.deepEqual(await driver.listGuests(), []);
  });
});
