import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComputeDriver, InstanceSpec } from '../../src/compute/drivers/driver.js';
import { createQemuDriver } from '../../src/compute/drivers/qemu/qemu-driver.js';
import { buildTinyGuest, type TinyGuestBuild } from '../../src/image/tiny-guest/builder.js';
import { dataplaneProblems, dataplaneSkip, exec, procAlive, sshRun } from '../helpers/dataplane.js';

/**
 * Dataplane tier: cold migration in the qemu driver between two local hosts (two driver
 * instances with their own stateDirs on one filesystem), as the compute agents run it: the
 * source stops the guest, the destination moves its disk and console log in (moveIn) and boots
 * it, the source removes what is left. A file written before the move is read after it over SSH
 * on the destination, and the way back (revert) works the same. State under $TMPDIR/nubo-cmig-*.
 * Skips when not root or when tools are missing, unless CI is set: then it fails.
 */

const CACHE = process.env.NUBO_CACHE_DIR || '/var/tmp/nubo-cache';
const BOOT_TIMEOUT_MS = Number(process.env.NUBO_BOOT_TIMEOUT_MS) || 120_000;
const found = dataplaneProblems();
const skip = dataplaneSkip(found);

describe('qemu driver cold migration between local hosts (dataplane)', { skip }, () => {
  let build: TinyGuestBuild;
  let dir: string;
  let stateA: string;
  let stateB: string;
  let a: ComputeDriver;
  let b: ComputeDriver;
  let key: string;
  let uuid = '';
  const pidOf = (stateDir: string) => {
    try { return Number(readFileSync(join(stateDir, uuid, 'qemu.pid'), 'utf8').trim()); } catch { return 0; }
  };
  async function waitReady(d: ComputeDriver, n: number): Promise<void> {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    for (;;) {
      const text = await d.consoleOutput(uuid);
      if ((text.match(/tinyos: READY hostname=/g) ?? []).length >= n) return;
      if (Date.now() > deadline) throw new Error(`READY x${n} not on the console in ${BOOT_TIMEOUT_MS / 1000}s\n${text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  before(async () => {
    if (found.length) throw new Error(`CI is set, so the dataplane tier must run: ${found.join('; ')}`);
    dir = mkdtempSync(join(tmpdir(), 'nubo-cmig-'));
    stateA = join(dir, 'a');
    stateB = join(dir, 'b');
    build = await buildTinyGuest({ cacheDir: join(CACHE, 'tiny-guest') });
    key = join(dir, 'id_ed25519');
    const kg = await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nubo-cmig-test', '-f', key]);
    assert.equal(kg.code, 0, kg.stderr);
    a = createQemuDriver({ stateDir: stateA, cacheDir: CACHE });
    b = createQemuDriver({ stateDir: stateB, cacheDir: CACHE });
  });

  after(async () => {
    for (const [d, sd] of [[a, stateA], [b, stateB]] as const) {
      if (!d) continue;
      for (const u of await d.listGuests().catch(() => [] as string[])) await d.destroy(u).catch(() => undefined);
      await d.close();
      const pid = uuid ? pidOf(sd) : 0;
      if (procAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('moves a stopped guest\'s disk from A to B and boots it there, then back (revert)', async () => {
    uuid = randomUUID();
    const { buildConfigDrive } = await import('../../src/compute/agent/config-drive.js');
    const cd = join(dir, 'cd.iso');
    const pub = readFileSync(`${key}.pub`, 'utf8').trim();
    await buildConfigDrive(cd, { metaData: { uuid, name: 'nubo-cmig', hostname: 'nubo-cmig', public_keys: { nubo: pub }, launch_index: 0, availability_zone: 'nova', meta: {} } });
    const spec: InstanceSpec = {
      uuid, name: 'nubo-cmig', vcpus: 1, memoryMb: 256, rootGb: 1, root: { path: build.rootfs.path, format: 'raw' },
      kernel: build.bootKernel.path, ramdisk: build.ramdisk.path, cmdline: 'quiet', configDrive: cd,
      vifs: [{ portId: 'port-cmig', mac: 'fa:16:3e:00:0c:01', ips: [], kind: 'user' }],
    };
    const ga = await a.spawn(spec);
    await waitReady(a, 1);
    await sshRun(key, ga.sshPort!, 'echo before-cold-migration > /root/mark && sync');

    // source: stop, tell where the disk is; destination: take it over and boot; source: clean up
    await a.powerOff(uuid, 0);
    const src = await a.migrationSource(uuid);
    assert.equal(src.diskPath, join(stateA, uuid, 'disk'));
    await b.moveIn({ ...spec, memoryMb: 384 }, src);
    await b.moveIn({ ...spec, memoryMb: 384 }, src); // idempotent
    assert.ok(existsSync(join(stateB, uuid, 'disk')), "the disk is in B's directory");
    assert.ok(!existsSync(src.diskPath), 'moved, not copied');
    await a.destroy(uuid);
    assert.ok(!existsSync(join(stateA, uuid)), 'A keeps nothing');
    const gb = await b.powerOn({ ...spec, memoryMb: 384 });
    assert.equal(gb.powerState, 'running');
    await waitReady(b, 2); // the console log moved along: the first boot's lines, then this one's
    assert.equal((await sshRun(key, gb.sshPort!, 'cat /root/mark', 30_000)).trim(), 'before-cold-migration');
    const memKb = Number((await sshRun(key, gb.sshPort!, "awk '/MemTotal/ {print $2}' /proc/meminfo", 30_000)).trim());
    assert.ok(memKb > 256 * 1024, `the new flavor's memory (${memKb} kB)`);
    await sshRun(key, gb.sshPort!, 'echo on-b > /root/mark2 && sync', 30_000);

    // revert: B stops it and hands the disk back to A
    await b.powerOff(uuid, 0);
    await a.moveIn(spec, await b.migrationSource(uuid));
    await b.destroy(uuid);
    assert.deepEqual(await b.listGuests(), []);
    const back = await a.powerOn(spec);
    await waitReady(a, 3);
    assert.equal((await sshRun(key, back.sshPort!, 'cat /root/mark2', 30_000)).trim(), 'on-b');
    await a.destroy(uuid);
  });
});
