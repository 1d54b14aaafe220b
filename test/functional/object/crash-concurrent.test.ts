import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pgDatabase } from '../../helpers/cloud.js';
import { storedBlobs } from './helpers.js';
import { freeBasePort, NuboProcess } from '../../helpers/process.js';

const OBJECT_OFFSET = 6;
const COUNT = 200;
/** Names that already hold an object before the storm; the storm overwrites them. */
const REPLACED = 20;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Small (1 B–64 KiB) and medium (256 KiB–3 MiB) bodies, alternating, each with its md5. */
function bodies(): { name: string; data: Buffer; etag: string }[] {
  return Array.from({ length: COUNT }, (_, i) => {
    const size = i % 2 ? 256 * 1024 + Math.floor(Math.random() * 11 * 256 * 1024) : 1 + Math.floor(Math.random() * 64 * 1024);
    const data = randomBytes(size);
    return { name: `obj-${String(i).padStart(3, '0')}${i % 7 === 0 ? '/ünï' : ''}`, data, etag: md5(data) };
  });
}

/** A PUT that resolves with the status, or 0 when the connection died. */
function put(agent: Agent, url: string, token: string, data: Buffer): Promise<number> {
  return new Promise((res) => {
    const req = httpRequest(url, { method: 'PUT', agent, headers: { 'x-auth-token': token, 'content-length': String(data.length) } }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode ?? 0));
      r.on('error', () => res(0));
    });
    req.on('error', () => res(0));
    // in 64 KiB pieces, so the medium bodies are still arriving when the kill comes
    void (async () => {
      for (let off = 0; off < data.length; off += 64 * 1024) {
        if (req.destroyed) return;
        if (!req.write(data.subarray(off, off + 64 * 1024))) {
          await new Promise<void>((r) => {
            const go = () => { req.off('drain', go); req.off('close', go); r(); };
            req.on('drain', go).on('close', go);
          });
        }
      }
      req.end();
    })();
  });
}

describe('object: a kill -9 during 200 concurrent PUTs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nubo-objcrash2-'));
  const dbName = `nubo_objcrash2_${randomBytes(4).toString('hex')}`;
  let nubo: NuboProcess | undefined;
  after(async () => {
    await nubo?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await pgDatabase('drop', dbName);
  });

  it('leaves every object absent or whole, listings that agree with the objects, and no orphan file', { timeout: 110_000 }, async () => {
    nubo = new NuboProcess(dataDir, await freeBasePort([0, OBJECT_OFFSET]), await pgDatabase('create', dbName));
    await nubo.start();
    let { token, account } = await nubo.adminSwift(OBJECT_OFFSET);
    const url = (name: string) => `${account}/storm/${encodeURIComponent(name).replaceAll('%2F', '/')}`;
    assert.equal((await fetch(`${account}/storm`, { method: 'PUT', headers: { 'x-auth-token': token } })).status, 201);

    const objects = bodies();
    const previous = new Map<string, string>();
    for (const o of objects.slice(0, REPLACED)) {
      const old = randomBytes(1000 + Math.floor(Math.random() * 5000));
      assert.equal((await fetch(url(o.name), { method: 'PUT', headers: { 'x-auth-token': token }, body: old })).status, 201);
      previous.set(o.name, md5(old));
    }

    // The storm: all 200 at once; SIGKILL once a quarter of them are acknowledged.
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const acked = new Set<string>();
    const done = objects.map((o) => put(agent, url(o.name), token, o.data).then((s) => { if (s === 201) acked.add(o.name); return s; }));
    const end = Date.now() + 60_000;
    while (acked.size < COUNT / 4) {
      if (Date.now() > end) assert.fail(`only ${acked.size} PUTs were acknowledged in 60 s\n${nubo.log}`);
      await sleep(2);
    }
    await nubo.kill('SIGKILL');
    const statuses = await Promise.all(done);
    agent.destroy();
    const ackedAtKill = new Set(acked);
    const lost = statuses.filter((s) => s === 0).length;
    assert.ok(lost > 0, `the kill came after every PUT had finished (${ackedAtKill.size} acknowledged)`);
    const tmpLeft = readdirSync(join(dataDir, 'objects', '.tmp')).length;

    await nubo.start();
    ({ token, account } = await nubo.adminSwift(OBJECT_OFFSET));
    const auth = { 'x-auth-token': token };

    // Each object: absent, or whole (the old body for the replaced names is whole too).
    const present = new Map<string, { bytes: number; hash: string }>();
    for (const o of objects) {
      const head = await fetch(url(o.name), { method: 'HEAD', headers: auth });
      const get = await fetch(url(o.name), { headers: auth });
      const body = Buffer.from(await get.arrayBuffer());
      assert.equal(get.status, head.status, `${o.name}: HEAD and GET agree`);
      if (head.status === 404) {
        assert.ok(!ackedAtKill.has(o.name), `${o.name}: acknowledged with 201 before the kill, gone after it`);
        assert.ok(!previous.has(o.name), `${o.name}: the object it replaced vanished`);
        continue;
      }
      assert.equal(head.status, 200, `${o.name}: HEAD ${head.status}`);
      const etag = head.headers.get('etag');
      assert.equal(get.headers.get('etag'), etag);
      assert.equal(Number(head.headers.get('content-length')), body.length, `${o.name}: HEAD Content-Length`);
      assert.equal(md5(body), etag, `${o.name}: the body is the one its ETag names`);
      if (etag === o.etag) assert.ok(body.equals(o.data));
      else {
        assert.equal(etag, previous.get(o.name), `${o.name}: neither the new body nor the one it replaced`);
        assert.ok(!ackedAtKill.has(o.name), `${o.name}: acknowledged, but the old body is back`);
      }
      present.set(o.name, { bytes: body.length, hash: etag! });
    }

    // The listing is exactly what GET/HEAD show.
    const listing = await fetch(`${account}/storm?format=json&limit=10000`, { headers: auth });
    assert.equal(listing.status, 200);
    const rows = (await listing.json()) as { name: string; bytes: number; hash: string }[];
    assert.deepEqual(new Map(rows.map((r) => [r.name, { bytes: r.bytes, hash: r.hash }])), present);
    assert.equal(rows.length, present.size, 'no name listed twice');
    const ch = await fetch(`${account}/storm`, { method: 'HEAD', headers: auth });
    assert.equal(Number(ch.headers.get('x-container-object-count')), present.size);
    assert.equal(Number(ch.headers.get('x-container-bytes-used')), [...present.values()].reduce((n, p) => n + p.bytes, 0));

    // On disk: no temporary file, and one blob per present object, holding its bytes.
    assert.deepEqual(readdirSync(join(dataDir, 'objects', '.tmp')), [], 'no partial file remains');
    const blobs = storedBlobs(join(dataDir, 'objects')).map((b) => b.split(' ')[1]).sort();
    assert.deepEqual(blobs, [...present.values()].map((p) => p.hash).sort(), 'blobs on disk = objects the rows point to');

    // And the cloud works on: overwrite one that is there, put one that is not.
    const again = randomBytes(300 * 1024);
    for (const name of [objects[0].name, objects.find((o) => !present.has(o.name))?.name ?? 'fresh']) {
      const r = await fetch(url(name), { method: 'PUT', headers: auth, body: again });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('etag'), md5(again));
    }
    console.log(`# ${COUNT} concurrent PUTs, kill -9 after ${ackedAtKill.size} acknowledged (${lost} cut off, ${tmpLeft} temp files left): ` +
      `${present.size} whole after restart (${[...present].filter(([n, p]) => previous.get(n) === p.hash).length} of them the replaced body), ${COUNT - present.size} absent`);
    await nubo.stop();
  });
});
