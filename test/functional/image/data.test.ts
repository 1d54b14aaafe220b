import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertGlanceError, startImageCloud, type ImageCloud } from '../../helpers/image.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha512 = (b: Uint8Array) => createHash('sha512').update(b).digest('hex');

/** A qcow2 header (version 3) declaring a virtual disk of `virtual` bytes. */
function qcow2Header(virtual: bigint): Buffer {
  const h = Buffer.alloc(4096);
  h.write('QFI\xfb', 0, 'latin1');
  h.writeUInt32BE(3, 4);
  h.writeUInt32BE(16, 20); // cluster bits
  h.writeBigUInt64BE(virtual, 24);
  return h;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('image: data (upload, download, ranges, import)', () => {
  let t: ImageCloud;
  let web: Server;
  let webUrl: string;
  const webBytes = randomBytes(300_000);

  before(async () => {
    web = createServer((req, res) => {
      if (req.url === '/ok/image.raw') res.end(webBytes);
      else if (req.url === '/ok/redirect-out') res.writeHead(302, { location: '/elsewhere/image.raw' }).end();
      else if (req.url === '/ok/redirect-in') res.writeHead(302, { location: '/ok/image.raw' }).end();
      else if (req.url === '/elsewhere/image.raw') res.end(webBytes);
      else res.writeHead(404).end('no');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    t = await startImageCloud({ webDownloadAllowedPrefixes: [`${webUrl}/ok/`] });
  });
  after(async () => {
    await t.stop();
    web.close();
  });

  const show = async (id: string, token = t.a.member) => (await t.img('GET', `/v2/images/${id}`, { token })).body;
  const imageFiles = () => readdirSync(join(t.c.dataDir, 'images')).filter((n) => n !== 'staging' && n !== '.tmp');
  const tmpFiles = () => [...readdirSync(join(t.c.dataDir, 'images', '.tmp')), ...readdirSync(join(t.c.dataDir, 'images', 'staging', '.tmp'))];

  it('uploads: queued -> active, with size, md5, sha512, virtual size (raw) and the store', async () => {
    const img = await t.create(t.a.member);
    const data = randomBytes(1_000_003);
    const empty = await t.img('GET', `/v2/images/${img.id}/file`, { token: t.a.member });
    assert.equal(empty.status, 204);
    const up = await t.upload(t.a.member, img.id, data);
    assert.equal(up.status, 204, JSON.stringify(up.body));
    const s = await show(img.id);
    assert.equal(s.status, 'active');
    assert.equal(s.size, data.length);
    assert.equal(s.virtual_size, data.length);
    assert.equal(s.checksum, md5(data));
    assert.equal(s.os_hash_algo, 'sha512');
    assert.equal(s.os_hash_value, sha512(data));
    assert.equal(s.stores, 'file');
    assert.ok(imageFiles().includes(img.id));
    // a second upload is refused: the image is no longer queued
    assertGlanceError(await t.upload(t.a.member, img.id, data), 409, 'Image status transition from active to saving is not allowed');
  });

  it('reads the virtual size of a qcow2 image from its header', async () => {
    const img = await t.create(t.a.member, { disk_format: 'qcow2' });
    const data = Buffer.concat([qcow2Header(10n * 1024n ** 3n), randomBytes(10_000)]);
    assert.equal((await t.upload(t.a.member, img.id, data)).status, 204);
    const s = await show(img.id);
    assert.equal(s.virtual_size, 10 * 1024 ** 3);
    assert.equal(s.size, data.length);
    const iso = await t.create(t.a.member, { disk_format: 'iso' });
    await t.upload(t.a.member, iso.id, Buffer.from('not a disk'));
    assert.equal((await show(iso.id)).virtual_size, null);
  });

  it('downloads whole (Content-MD5) and by range (206, 416)', async () => {
    const img = await t.create(t.a.member);
    const data = randomBytes(10_000);
    await t.upload(t.a.member, img.id, data);
    const url = `${t.c.url('image')}/v2/images/${img.id}/file`;
    const get = (headers: Record<string, string> = {}) => fetch(url, { headers: { 'x-auth-token': t.a.member, accept: 'application/json', ...headers } });
    const whole = await get();
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'application/octet-stream');
    assert.equal(whole.headers.get('content-md5'), md5(data));
    assert.equal(whole.headers.get('content-length'), '10000');
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), data);
    const part = await get({ range: 'bytes=100-199' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 100-199/10000');
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), data.subarray(100, 200));
    const tail = await get({ range: 'bytes=-10' });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), data.subarray(9990));
    const open = await get({ range: 'bytes=9995-' });
    assert.deepEqual(Buffer.from(await open.arrayBuffer()), data.subarray(9995));
    const beyond = await get({ range: 'bytes=20000-' });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), 'bytes */10000');
    assert.equal((await get({ range: 'pages=1-2' })).status, 416);
  });

  it('needs application/octet-stream and the formats before data; readers may not upload', async () => {
    const img = await t.create(t.a.member);
    const wrong = await t.img('PUT', `/v2/images/${img.id}/file`, { token: t.a.member, raw: 'x', headers: { 'content-type': 'text/plain' } });
    assertGlanceError(wrong, 415, 'Invalid content type text/plain');
    const json = await t.img('PUT', `/v2/images/${img.id}/file`, { token: t.a.member, body: { a: 1 } });
    assertGlanceError(json, 415);
    assertGlanceError(await t.upload(t.a.reader, img.id, Buffer.from('x')), 403);
    assertGlanceError(await t.upload(t.b.member, img.id, Buffer.from('x')), 404);
    const bare = (await t.img('POST', '/v2/images', { token: t.a.member, body: { name: 'no formats' } })).body;
    assertGlanceError(await t.upload(t.a.member, bare.id, Buffer.from('x')), 400, 'Properties disk_format, container_format must be set prior to saving data.');
    assert.equal((await show(bare.id)).status, 'queued');
    assert.equal((await show(img.id)).status, 'queued');
  });

  it('a broken upload leaves the image queued and nothing stored; the upload can be retried', async () => {
    const img = await t.create(t.a.member);
    const u = new URL(`${t.c.url('image')}/v2/images/${img.id}/file`);
    const req = httpRequest({
      host: u.hostname, port: u.port, path: u.pathname, method: 'PUT',
      headers: { 'x-auth-token': t.a.member, 'content-type': 'application/octet-stream', 'content-length': String(10_000_000) },
    });
    req.on('error', () => undefined);
    req.write(randomBytes(2_000_000));
    // the transfer is under way (saving) when the client goes away
    await waitFor('the upload to start', async () => ((await show(img.id)).status === 'saving' ? true : undefined));
    req.destroy();
    await waitFor('the image to go back to queued', async () => ((await show(img.id)).status === 'queued' ? true : undefined));
    assert.equal((await show(img.id)).size, null);
    assert.ok(!imageFiles().includes(img.id));
    assert.deepEqual(tmpFiles(), []);
    const data = randomBytes(5000);
    assert.equal((await t.upload(t.a.member, img.id, data)).status, 204);
    assert.equal((await show(img.id)).checksum, md5(data));
  });

  it('refuses images over the size cap with 413 and keeps nothing', async () => {
    const cfg = (t.c.cloud.modules.find((m) => m.name === 'image') as any).services.deps.config;
    cfg.maxImageSize = 1000;
    try {
      const img = await t.create(t.a.member);
      assertGlanceError(await t.upload(t.a.member, img.id, randomBytes(5000)), 413, 'too large');
      assert.equal((await show(img.id)).status, 'queued');
      assert.ok(!imageFiles().includes(img.id));
    } finally {
      cfg.maxImageSize = 1024 ** 4;
    }
  });

  it('imports with glance-direct: stage (uploading) then import (importing -> active), with a task', async () => {
    const img = await t.create(t.a.member);
    const data = randomBytes(200_000);
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/import`, { token: t.a.member, body: { method: { name: 'glance-direct' } } }), 409, 'staged');
    const st = await t.img('PUT', `/v2/images/${img.id}/stage`, { token: t.a.member, raw: data, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(st.status, 204);
    const staged = await show(img.id);
    assert.equal(staged.status, 'uploading');
    assert.equal(staged.size, data.length);
    assertGlanceError(await t.img('PUT', `/v2/images/${img.id}/stage`, { token: t.a.member, raw: data, headers: { 'content-type': 'application/octet-stream' } }), 409);
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/import`, { token: t.a.member, body: {} }), 400, "Import request requires a 'method' field.");
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/import`, { token: t.a.member, body: { method: { name: 'copy-image' } } }), 400, "Unknown import method name 'copy-image'.");
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/import`, { token: t.a.member, body: { method: { name: 'glance-direct' }, stores: ['nowhere'] } }), 409);
    const imp = await t.img('POST', `/v2/images/${img.id}/import`, { token: t.a.member, body: { method: { name: 'glance-direct' } } });
    assert.equal(imp.status, 202);
    const done = await waitFor('the import', async () => { const s = await show(img.id); return s.status === 'active' ? s : undefined; });
    assert.equal(done.checksum, md5(data));
    assert.equal(done.stores, 'file');
    assert.equal(done.os_glance_importing_to_stores, undefined);
    const tasks = (await t.img('GET', `/v2/images/${img.id}/tasks`, { token: t.a.member })).body.tasks;
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0].status, 'success');
    assert.equal(tasks[0].type, 'api_image_import');
    assert.equal(tasks[0].request_id, imp.headers.get('x-openstack-request-id'));
    assert.equal(tasks[0].input.import_req.method.name, 'glance-direct');
    assert.deepEqual(readdirSync(join(t.c.dataDir, 'images', 'staging')).filter((n) => n !== '.tmp'), []);
    const down = await t.img('GET', `/v2/images/${img.id}/file`, { token: t.a.member, headers: { accept: '*/*' } });
    assert.equal(down.status, 200);
  });

  it('imports with web-download only from allowed URL prefixes; failures go back to queued', async () => {
    const imp = (id: string, uri: string) => t.img('POST', `/v2/images/${id}/import`, { token: t.a.member, body: { method: { name: 'web-download', uri } } });
    assert.deepEqual((await t.img('GET', '/v2/info/import', { token: t.a.member })).body['import-methods'].value, ['glance-direct', 'web-download', 'glance-download']);
    const ok = await t.create(t.a.member);
    assertGlanceError(await imp(ok.id, `${webUrl}/elsewhere/image.raw`), 400, 'URI for web-download does not pass filtering');
    assertGlanceError(await imp(ok.id, 'file:///etc/passwd'), 400, 'does not pass filtering');
    assert.equal((await imp(ok.id, `${webUrl}/ok/image.raw`)).status, 202);
    const done = await waitFor('web-download', async () => { const s = await show(ok.id); return s.status === 'active' ? s : undefined; });
    assert.equal(done.checksum, md5(webBytes));
    const redirected = await t.create(t.a.member);
    assert.equal((await imp(redirected.id, `${webUrl}/ok/redirect-in`)).status, 202);
    await waitFor('redirected web-download', async () => ((await show(redirected.id)).status === 'active' ? true : undefined));
    for (const path of ['/ok/missing', '/ok/redirect-out']) {
      const bad = await t.create(t.a.member);
      assert.equal((await imp(bad.id, `${webUrl}${path}`)).status, 202);
      const failed = await waitFor(`failure of ${path}`, async () => { const s = await show(bad.id); return s.os_glance_failed_import ? s : undefined; });
      assert.equal(failed.status, 'queued');
      assert.equal(failed.os_glance_failed_import, 'file');
      assert.ok(!imageFiles().includes(bad.id));
      const tasks = (await t.img('GET', `/v2/images/${bad.id}/tasks`, { token: t.a.member })).body.tasks;
      assert.equal(tasks[0].status, 'failure');
      assert.ok(tasks[0].message.length > 0);
    }
  });

  it('imports with glance-download from an image of this region, copying formats and hw_* properties', async () => {
    const src = await t.create(t.a.member, { disk_format: 'qcow2', hw_cpu_cores: '4', os_distro: 'debian', speed: 'fast' });
    const data = Buffer.concat([qcow2Header(1024n ** 3n), randomBytes(1000)]);
    await t.upload(t.a.member, src.id, data);
    const dst = await t.create(t.a.member, { disk_format: 'iso', container_format: 'ovf' });
    const region = 'RegionOne';
    const imp = (method: Record<string, unknown>) => t.img('POST', `/v2/images/${dst.id}/import`, { token: t.a.member, body: { method: { name: 'glance-download', ...method } } });
    assertGlanceError(await imp({ glance_region: region, glance_image_id: 'foo' }), 400, 'image id does not look like a UUID');
    assertGlanceError(await imp({ glance_image_id: src.id }), 400, "'glance_region' needs to be set");
    assert.equal((await imp({ glance_region: region, glance_image_id: src.id })).status, 202);
    const done = await waitFor('glance-download', async () => { const s = await show(dst.id); return s.status === 'active' ? s : undefined; });
    assert.equal(done.disk_format, 'qcow2');
    assert.equal(done.container_format, 'bare');
    assert.equal(done.hw_cpu_cores, '4');
    assert.equal(done.os_distro, 'debian');
    assert.equal(done.speed, undefined);
    assert.equal(done.checksum, md5(data));
    assert.equal(done.virtual_size, 1024 ** 3);
    const other = await t.create(t.a.member);
    const bad = await t.img('POST', `/v2/images/${other.id}/import`, {
      token: t.a.member, body: { method: { name: 'glance-download', glance_region: 'Elsewhere', glance_image_id: src.id } },
    });
    assert.equal(bad.status, 202);
    await waitFor('a failed task', async () => {
      const tasks = (await t.img('GET', `/v2/images/${other.id}/tasks`, { token: t.a.member })).body.tasks;
      return tasks[0]?.status === 'failure' ? true : undefined;
    });
    assert.equal((await show(other.id)).status, 'queued');
    // another project cannot pull a private image it cannot see
    const mine = await t.create(t.b.member);
    await t.img('POST', `/v2/images/${mine.id}/import`, { token: t.b.member, body: { method: { name: 'glance-download', glance_region: region, glance_image_id: src.id } } });
    await waitFor('refused source', async () => ((await show(mine.id, t.b.member)).os_glance_failed_import ? true : undefined));
  });

  it('deleting an image removes its data', async () => {
    const img = await t.create(t.a.member);
    await t.upload(t.a.member, img.id, randomBytes(1000));
    assert.ok(imageFiles().includes(img.id));
    assert.equal((await t.img('DELETE', `/v2/images/${img.id}`, { token: t.a.member })).status, 204);
    assert.ok(!imageFiles().includes(img.id));
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}/file`, { token: t.a.member }), 404);
    assertGlanceError(await t.img('GET', `/v2/images/${randomUUID()}/tasks`, { token: t.a.member }), 404);
  });
});

describe('image: the in-process client other services use', () => {
  let t: ImageCloud;
  before(async () => { t = await startImageCloud(); });
  after(() => t.stop());

  it('reads an image and its bytes with the viewer\'s visibility', async () => {
    const { randomBytes: rb } = await import('node:crypto');
    const img = await t.create(t.a.member, { visibility: 'private' });
    const data = rb(4096);
    await t.upload(t.a.member, img.id, data);
    const client = (t.c.cloud.modules.find((m) => m.name === 'image') as unknown as { client: import('../../../src/image/client.js').ImageClient }).client;
    const asA = { projectId: t.a.id, isAdmin: false };
    assert.equal((await client.getImage(img.id, asA))?.status, 'active');
    assert.equal(await client.getImage(img.id, { projectId: t.b.id, isAdmin: false }), undefined);
    const dl = await client.openData(img.id, asA);
    const parts: Buffer[] = [];
    for await (const c of dl!.stream) parts.push(c as Buffer);
    assert.deepEqual(Buffer.concat(parts), data);
    assert.equal(dl!.checksum, md5(data));
    const part = await client.openData(img.id, { projectId: null, isAdmin: true }, { start: 10, end: 19 });
    assert.equal(part!.size, 10);
  });
});
