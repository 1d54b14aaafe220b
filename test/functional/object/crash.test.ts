import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { pgDatabase } from '../../helpers/cloud.js';
import { storedBlobs } from './helpers.js';
import { freeBasePort, NuboProcess } from '../../helpers/process.js';

const OBJECT_OFFSET = 6;

describe('object: a kill -9 during an upload', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nubo-objcrash-'));
  const dbName = `nubo_objcrash_${randomBytes(4).toString('hex')}`;
  let nubo: NuboProcess;
  after(async () => {
    await nubo?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await pgDatabase('drop', dbName);
  });

  it('leaves no visible object and no partial or orphan file after a restart, and the upload works again', async () => {
    nubo = new NuboProcess(dataDir, await freeBasePort([0, OBJECT_OFFSET]), await pgDatabase('create', dbName));
    await nubo.start();
    let account = '';
    const tokenOf = async () => {
      const a = await nubo.adminSwift(OBJECT_OFFSET);
      account = a.account;
      return a.token;
    };
    let token = await tokenOf();
    assert.equal((await fetch(`${account}/crash`, { method: 'PUT', headers: { 'x-auth-token': token } })).status, 201);
    assert.equal((await fetch(`${account}/crash/keep`, { method: 'PUT', headers: { 'x-auth-token': token }, body: 'kept' })).status, 201);

    // A 4 GiB upload, streamed as fast as the server takes it; SIGKILL once 32 MiB are on disk.
    const total = 4 * 1024 ** 3;
    const chunk = randomBytes(1024 * 1024);
    const req = httpRequest(`${account}/crash/big`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-length': String(total) } });
    req.on('error', () => undefined);
    let stop = false;
    const pump = async () => {
      let sent = 0;
      while (!stop && sent < total) {
        if (!req.write(chunk)) await new Promise((r) => { req.once('drain', r); setTimeout(r, 200); });
        sent += chunk.length;
      }
    };
    void pump();
    const objects = join(dataDir, 'objects');
    const tmpDir = join(objects, '.tmp');
    const partialBytes = () => readdirSync(tmpDir).reduce((n, f) => n + statSync(join(tmpDir, f)).size, 0);
    const end = Date.now() + 30000;
    while (partialBytes() < 32 * 1024 * 1024) {
      if (Date.now() > end) assert.fail(`upload did not progress (${partialBytes()} bytes on disk)\n${nubo.log}`);
      await sleep(20);
    }
    await nubo.kill('SIGKILL');
    stop = true;
    req.destroy();
    assert.ok(readdirSync(tmpDir).length > 0, 'the killed upload left its temporary file');
    const before = storedBlobs(objects);
    assert.equal(before.length, 1, 'only the kept object is whole on disk');
    // whole blobs no row references (as a crash between the blob's write and the row's commit
    // would leave them): a large one as a file, a small one as a row
    mkdirSync(join(objects, 'ff'), { recursive: true });
    writeFileSync(join(objects, 'ff', 'ff00112233445566778899aabbccddee'), 'orphan');
    const small = new Database(join(objects, 'small.sqlite'));
    small.prepare('INSERT INTO blob (key, data) VALUES (?, ?)').run('ee00112233445566778899aabbccddee', Buffer.from('orphan'));
    small.close();
    assert.equal(storedBlobs(objects).length, 3);

    await nubo.start();
    token = await tokenOf();
    assert.equal((await fetch(`${account}/crash/big`, { method: 'HEAD', headers: { 'x-auth-token': token } })).status, 404);
    const listing = await (await fetch(`${account}/crash`, { headers: { 'x-auth-token': token } })).text();
    assert.equal(listing, 'keep\n');
    assert.deepEqual(readdirSync(tmpDir), [], 'no partial file remains');
    assert.deepEqual(storedBlobs(objects), before, 'the orphan blobs were removed, the kept one stays');
    assert.equal(await (await fetch(`${account}/crash/keep`, { headers: { 'x-auth-token': token } })).text(), 'kept');

    const data = randomBytes(3 * 1024 * 1024 + 7);
    const up = await fetch(`${account}/crash/big`, { method: 'PUT', headers: { 'x-auth-token': token }, body: data });
    assert.equal(up.status, 201);
    assert.equal(up.headers.get('etag'), createHash('md5').update(data).digest('hex'));
    const down = await fetch(`${account}/crash/big`, { headers: { 'x-auth-token': token } });
    assert.deepEqual(Buffer.from(await down.arrayBuffer()), data);
    await nubo.kill('SIGTERM');
  });
});
