import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { pgDatabase } from '../../helpers/cloud.js';
import { freeBasePort, NuboProcess } from '../../helpers/process.js';

describe('image: a kill -9 during an upload', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nubo-crash-'));
  const dbName = `nubo_crash_${randomBytes(4).toString('hex')}`;
  let nubo: NuboProcess;
  after(async () => {
    await nubo?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await pgDatabase('drop', dbName);
  });

  it('leaves no active image and no partial or orphan file after a restart, and the upload works again', async () => {
    nubo = new NuboProcess(dataDir, await freeBasePort([0, 3]), await pgDatabase('create', dbName), 'identity,image');
    await nubo.start();
    const cloud = parseYaml(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8')).clouds.nubo;
    const identity = `http://127.0.0.1:${nubo.basePort}/v3`;
    const image = `http://127.0.0.1:${nubo.basePort + 3}`;
    const tokenOf = async () => {
      const r = await fetch(`${identity}/auth/tokens`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: cloud.auth.password } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } }),
      });
      assert.equal(r.status, 201);
      return r.headers.get('x-subject-token')!;
    };
    let token = await tokenOf();
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${image}${path}`, {
        method, headers: { 'x-auth-token': token, 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    const created = await api('POST', '/v2/images', { name: 'big', disk_format: 'raw', container_format: 'bare' });
    assert.equal(created.status, 201);
    const id: string = created.body.id;

    // A 4 GiB upload, streamed as fast as the server takes it; SIGKILL once 32 MiB are on disk.
    const total = 4 * 1024 ** 3;
    const chunk = randomBytes(1024 * 1024);
    const req = httpRequest(`${image}/v2/images/${id}/file`, {
      method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(total) },
    });
    req.on('error', () => undefined);
    let sent = 0;
    let stop = false;
    const pump = async () => {
      while (!stop && sent < total) {
        if (!req.write(chunk)) await new Promise((r) => { req.once('drain', r); setTimeout(r, 200); });
        sent += chunk.length;
      }
    };
    void pump();
    const tmpDir = join(dataDir, 'images', '.tmp');
    const partialBytes = () => readdirSync(tmpDir).reduce((n, f) => n + statSync(join(tmpDir, f)).size, 0);
    const end = Date.now() + 30000;
    while (partialBytes() < 32 * 1024 * 1024) {
      if (Date.now() > end) assert.fail(`upload did not progress (${partialBytes()} bytes on disk)\n${nubo.log}`);
      await sleep(20);
    }
    assert.equal((await api('GET', `/v2/images/${id}`)).body.status, 'saving');
    await nubo.kill('SIGKILL');
    stop = true;
    req.destroy();
    assert.ok(readdirSync(tmpDir).length > 0, 'the killed upload left its temporary file');
    assert.ok(!existsSync(join(dataDir, 'images', id)));
    // a whole file without a live image (as a crash between rename and commit would leave it)
    const orphan = '11111111-2222-3333-4444-555555555555';
    writeFileSync(join(dataDir, 'images', orphan), 'orphan');

    await nubo.start();
    token = await tokenOf();
    const after = await api('GET', `/v2/images/${id}`);
    assert.equal(after.status, 200);
    assert.equal(after.body.status, 'queued', 'the image is not active after the crash');
    assert.equal(after.body.size, null);
    assert.equal(after.body.checksum, null);
    assert.deepEqual(readdirSync(tmpDir), [], 'no partial file remains');
    assert.ok(!existsSync(join(dataDir, 'images', orphan)), 'the orphan file was removed');
    assert.deepEqual(readdirSync(join(dataDir, 'images')).filter((n) => n !== '.tmp' && n !== 'staging'), []);

    const data = randomBytes(3 * 1024 * 1024 + 7);
    const up = await fetch(`${image}/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: data });
    assert.equal(up.status, 204);
    const active = await api('GET', `/v2/images/${id}`);
    assert.equal(active.body.status, 'active');
    assert.equal(active.body.size, data.length);
    assert.equal(active.body.checksum, createHash('md5').update(data).digest('hex'));
    const down = await fetch(`${image}/v2/images/${id}/file`, { headers: { 'x-auth-token': token } });
    assert.deepEqual(Buffer.from(await down.arrayBuffer()), data);
    await nubo.kill('SIGTERM');
  });
});
