import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { WebSocket } from 'ws';
import { join } from 'node:path';
import { buildTinyGuest } from '../../src/image/tiny-guest/builder.js';
import { registerTinyGuest } from '../../src/image/tiny-guest/register.js';
import type { ComputeServiceModule } from '../../src/compute/compute-service.js';
import { startTestCloud, type TestCloud } from '../helpers/cloud.js';
import { dataplaneProblems, dataplaneSkip, exec, procAlive, sshRun } from '../helpers/dataplane.js';

/**
 * Dataplane tier, through the Compute API with the qemu driver: the tiny guest (UEC image from
 * the image service) boots to ACTIVE, its console log (os-getConsoleOutput) shows READY, it
 * got its metadata from the metadata service and ran its user data, SSH with the keypair
 * works, stop/start and reboot work, a snapshot boots a second server, and deleting both
 * leaves no qemu process, guest directory or config drive behind.
 */
const CACHE = process.env.NUBO_CACHE_DIR || '/var/tmp/nubo-cache';
const BOOT_MS = Number(process.env.NUBO_BOOT_TIMEOUT_MS) || 180_000;
const found = dataplaneProblems();
const skip = dataplaneSkip(found);

describe('compute API with the qemu driver boots the tiny guest (dataplane)', { skip }, () => {
  let tc: TestCloud;
  let token: string;
  let dir: string;
  let key: string;
  let machineId: string;
  const nova = (method: string, path: string, body?: unknown) => tc.request(method, path, { token, body, service: 'compute' });
  const compute = () => tc.cloud.modules.find((m) => m.name === 'compute') as ComputeServiceModule;
  const guestsDir = (host = 'dp1') => join(tc.dataDir, 'compute', host, 'guests');
  const hostOf = async (id: string) => (await nova('GET', `/v2.1/servers/${id}`)).body.server['OS-EXT-SRV-ATTR:host'] as string;

  async function waitStatus(id: string, status: string, timeoutMs = BOOT_MS): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await nova('GET', `/v2.1/servers/${id}`);
      if (status === 'DELETED' && r.status === 404) return undefined;
      const s = r.body?.server;
      if (s?.status === status && s['OS-EXT-STS:task_state'] === null) return s;
      if (s?.status === 'ERROR' && status !== 'ERROR') throw new Error(`server ${id} went to ERROR: ${JSON.stringify(s.fault)}`);
      if (Date.now() > deadline) throw new Error(`server ${id} not ${status} after ${timeoutMs} ms: ${JSON.stringify(s ?? r.body).slice(0, 400)}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  async function consoleUntil(id: string, pattern: RegExp, count = 1, timeoutMs = BOOT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await nova('POST', `/v2.1/servers/${id}/action`, { 'os-getConsoleOutput': {} });
      const out: string = r.body?.output ?? '';
      if ((out.match(new RegExp(pattern.source, 'g')) ?? []).length >= count) return out;
      if (Date.now() > deadline) throw new Error(`console of ${id} lacks ${pattern} x${count}:\n${out.slice(-2000)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }
  const sshPort = async (id: string) => {
    const row = await compute().context.db.selectFrom('instance').select('driver_info').where('uuid', '=', id).executeTakeFirstOrThrow();
    return Number(JSON.parse(row.driver_info).ssh_port);
  };
  const qemuPid = (id: string, host = 'dp1') => {
    try { return Number(readFileSync(join(guestsDir(host), id, 'qemu.pid'), 'utf8').trim()); } catch { return 0; }
  };

  before(async () => {
    if (found.length) throw new Error(`CI is set, so the dataplane tier must run: ${found.join('; ')}`);
    dir = mkdtempSync(join(tmpdir(), 'nubo-compute-dp-'));
    key = join(dir, 'id_ed25519');
    const kg = await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nubo-compute-test', '-f', key]);
    assert.equal(kg.code, 0, kg.stderr);
    const build = await buildTinyGuest({ cacheDir: join(CACHE, 'tiny-guest') });
    // a short data dir: QEMU's unix sockets live under it (108-byte limit)
    tc = await startTestCloud({ services: ['identity', 'placement', 'image', 'compute'], compute: { driver: 'qemu', host: 'dp1', localHosts: 2 }, dataDir: mkdtempSync('/tmp/nubo-dp-') });
    token = await tc.adminToken();
    const reg = await registerTinyGuest(build, { cloudsYaml: tc.cloud.cloudsYamlPath, cloud: 'nubo' }, { out: { write: () => true } as never });
    machineId = reg.images.machine.id;
    const kp = await nova('POST', '/v2.1/os-keypairs', { keypair: { name: 'dp-key', public_key: readFileSync(`${key}.pub`, 'utf8').trim() } });
    assert.equal(kp.status, 200, JSON.stringify(kp.body));
  });
  after(async () => {
    await tc?.stop();
    if (tc) rmSync(tc.dataDir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let first = '';
  it('boots to ACTIVE, logs READY, took its metadata from the metadata service, ran user data, and answers SSH', async (t) => {
    const t0 = performance.now();
    const userData = Buffer.from('#!/bin/sh\necho "user-data-ran-$(hostname)"\n').toString('base64');
    const r = await nova('POST', '/v2.1/servers', { server: { name: 'dp-vm1', imageRef: machineId, flavorRef: '42', key_name: 'dp-key', user_data: userData } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    first = r.body.server.id;
    await waitStatus(first, 'ACTIVE');
    const active = performance.now() - t0;
    const out = await consoleUntil(first, /tinyos: READY/);
    const ready = performance.now() - t0;
    assert.match(out, /metadata source=metadata-service/);
    assert.match(out, /user-data-ran-dp-vm1/);
    const uptime = await sshRun(key, await sshPort(first), 'cat /proc/uptime; hostname');
    const ssh = performance.now() - t0;
    assert.match(uptime, /dp-vm1/);
    t.diagnostic(`create→ACTIVE ${(active / 1000).toFixed(1)}s, →READY ${(ready / 1000).toFixed(1)}s, →SSH ${(ssh / 1000).toFixed(1)}s`);
  });

  it('serves a VNC console through the websocket proxy (the RFB greeting of QEMU arrives)', async () => {
    const r = await tc.request('POST', `/v2.1/servers/${first}/remote-consoles`, { token, service: 'compute', headers: { 'openstack-api-version': 'compute 2.6' }, body: { remote_console: { protocol: 'vnc', type: 'novnc' } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const url = new URL(r.body.remote_console.url);
    const path = decodeURIComponent(url.searchParams.get('path')!);
    const ws = new WebSocket(`ws://${url.host}/${path}`, ['binary']);
    const greeting = await new Promise<string>((resolve, reject) => {
      ws.on('message', (d: Buffer) => resolve(d.toString('latin1')));
      ws.on('error', reject);
      setTimeout(() => reject(new Error('no RFB greeting in 10 s')), 10_000);
    });
    ws.close();
    assert.match(greeting, /^RFB 003\.00\d\n/);
    const bad = new WebSocket(`ws://${url.host}/vnc-proxy?token=nope`, ['binary']);
    const refused = await new Promise<boolean>((resolve) => { bad.on('error', () => resolve(true)); bad.on('open', () => resolve(false)); });
    assert.ok(refused, 'a wrong token is refused');
  });

  it('live-migrates the running guest to the other host: it keeps running (uptime grows) and answers SSH there', async (t) => {
    const from = await hostOf(first);
    const to = from === 'dp1' ? 'dp1-2' : 'dp1';
    const before = Number((await sshRun(key, await sshPort(first), 'cat /proc/uptime')).split(' ')[0]);
    const t0 = performance.now();
    const r = await nova('POST', `/v2.1/servers/${first}/action`, { 'os-migrateLive': { host: to, block_migration: false } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const deadline = Date.now() + 120_000;
    while ((await hostOf(first)) !== to) {
      assert.ok(Date.now() < deadline, 'migrated within 120 s');
      await new Promise((res) => setTimeout(res, 250));
    }
    const s = await waitStatus(first, 'ACTIVE', 30_000);
    const ms = performance.now() - t0;
    assert.equal(s['OS-EXT-STS:power_state'], 1);
    assert.ok(procAlive(qemuPid(first, to)), 'qemu runs on the new host');
    assert.ok(!existsSync(join(guestsDir(from), first)), 'nothing left on the old host');
    const after = Number((await sshRun(key, await sshPort(first), 'cat /proc/uptime')).split(' ')[0]);
    assert.ok(after > before, `uptime ${before} -> ${after}: the guest did not reboot`);
    const out = await consoleUntil(first, /tinyos: READY/);
    assert.equal((out.match(/tinyos: READY/g) ?? []).length, 1, 'no second boot in the console log');
    const mig = await tc.request('GET', `/v2.1/os-migrations?instance_uuid=${first}`, { token, service: 'compute' });
    assert.equal(mig.body.migrations[0].status, 'completed');
    t.diagnostic(`live migration ${from} -> ${to} through the API: ${(ms / 1000).toFixed(1)} s; guest uptime ${before} -> ${after}`);
  });

  it('stops (qemu exits) and starts again; reboots', async () => {
    const pid = qemuPid(first, await hostOf(first));
    assert.ok(procAlive(pid));
    assert.equal((await nova('POST', `/v2.1/servers/${first}/action`, { 'os-stop': null })).status, 202);
    const stopped = await waitStatus(first, 'SHUTOFF', 120_000);
    assert.equal(stopped['OS-EXT-STS:power_state'], 4);
    assert.ok(!procAlive(pid), 'qemu is gone after stop');
    assert.equal((await nova('POST', `/v2.1/servers/${first}/action`, { 'os-start': null })).status, 202);
    await waitStatus(first, 'ACTIVE');
    await consoleUntil(first, /tinyos: READY/, 2);
    assert.equal((await nova('POST', `/v2.1/servers/${first}/action`, { reboot: { type: 'SOFT' } })).status, 202);
    await waitStatus(first, 'ACTIVE');
    await consoleUntil(first, /tinyos: READY/, 3);
    await sshRun(key, await sshPort(first), 'true');
  });

  it('rescues: the rescue image boots with the server\'s disk as the second disk; unrescue boots the server\'s own disk', async () => {
    assert.equal((await nova('POST', `/v2.1/servers/${first}/action`, { rescue: null })).status, 200);
    await waitStatus(first, 'RESCUE');
    await consoleUntil(first, /tinyos: READY/, 4);
    assert.match(await sshRun(key, await sshPort(first), 'ls /sys/block'), /vdb/);
    assert.equal((await nova('POST', `/v2.1/servers/${first}/action`, { unrescue: null })).status, 202);
    await waitStatus(first, 'ACTIVE');
    await consoleUntil(first, /tinyos: READY/, 5);
  });

  let second = '';
  it('snapshots to an image that boots a second server', async () => {
    const r = await tc.request('POST', `/v2.1/servers/${first}/action`, { token, service: 'compute', body: { createImage: { name: 'dp-snap' } }, headers: { 'openstack-api-version': 'compute 2.45' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const imageId = r.body.image_id;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const img = await tc.request('GET', `/v2/images/${imageId}`, { token, service: 'image' });
      if (img.body.status === 'active') break;
      assert.ok(Date.now() < deadline && img.body.status !== 'killed', `snapshot image: ${JSON.stringify(img.body)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    await waitStatus(first, 'ACTIVE');
    const s2 = await nova('POST', '/v2.1/servers', { server: { name: 'dp-vm2', imageRef: imageId, flavorRef: '42', key_name: 'dp-key' } });
    assert.equal(s2.status, 202, JSON.stringify(s2.body));
    second = s2.body.server.id;
    await waitStatus(second, 'ACTIVE');
    await consoleUntil(second, /tinyos: READY/);
    assert.match(await sshRun(key, await sshPort(second), 'hostname'), /dp-vm2/);
  });

  it('a restart of the cloud keeps guests running and reconciles them (the server stays ACTIVE, SSH still works)', async () => {
    const host = await hostOf(first);
    const pid = qemuPid(first, host);
    const dataDir = tc.dataDir;
    await tc.stop();
    assert.ok(procAlive(pid), 'the guest outlives the cloud process');
    tc = await startTestCloud({ services: ['identity', 'placement', 'image', 'compute'], compute: { driver: 'qemu', host: 'dp1', localHosts: 2 }, dataDir });
    token = await tc.adminToken();
    const s = await waitStatus(first, 'ACTIVE', 30_000);
    assert.equal(s['OS-EXT-STS:power_state'], 1);
    assert.equal(qemuPid(first, host), pid, 'the same qemu process');
    assert.match(await sshRun(key, await sshPort(first), 'hostname'), /dp-vm1/);
  });

  it('deletes leave no qemu process, guest directory or config drive', async () => {
    const pids = [qemuPid(first, await hostOf(first)), qemuPid(second, await hostOf(second))];
    for (const id of [first, second]) assert.equal((await nova('DELETE', `/v2.1/servers/${id}`)).status, 204);
    for (const id of [first, second]) await waitStatus(id, 'DELETED', 60_000);
    for (const pid of pids) assert.ok(!procAlive(pid), `qemu ${pid} is gone`);
    for (const host of ['dp1', 'dp1-2']) {
      const left = existsSync(guestsDir(host)) ? readdirSync(guestsDir(host)).filter((f) => !f.startsWith('.')) : [];
      assert.deepEqual(left, [], host);
      const drives = join(tc.dataDir, 'compute', host, 'config-drives');
      assert.deepEqual(existsSync(drives) ? readdirSync(drives) : [], [], host);
    }
  });
});
