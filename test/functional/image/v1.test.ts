import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertGlanceError, startImageCloud, type ImageCloud } from '../../helpers/image.js';

const meta = (m: Record<string, string | number | boolean>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [`x-image-meta-${k}`, String(v)]));
const OCTET = { 'content-type': 'application/octet-stream' };

describe('image: Glance v1 API', () => {
  let t: ImageCloud;
  let web: Server;
  let webUrl: string;
  const payload = Buffer.from('bytes served by a web server the operator allows');

  before(async () => {
    web = createServer((_req, res) => res.end(payload));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/`;
    t = await startImageCloud({ webDownloadAllowedPrefixes: [webUrl] });
  });
  after(async () => {
    await t.stop();
    await new Promise((r) => web.close(r));
  });

  const create = (token: string, headers: Record<string, string>, raw?: Uint8Array) =>
    t.img('POST', '/v1/images', { token, raw, headers: raw ? { ...OCTET, ...headers } : headers });

  it('lists v1 in version discovery, at /v1/', async () => {
    const v = await t.img('GET', '/versions');
    const v1 = v.body.versions.filter((x: { id: string }) => x.id.startsWith('v1'));
    assert.deepEqual(v1.map((x: { id: string; status: string }) => [x.id, x.status]), [['v1.1', 'DEPRECATED'], ['v1.0', 'DEPRECATED']]);
    assert.match(v1[0].links[0].href, /\/v1\/$/);
    assert.equal(v.body.versions[0].id, 'v2.15');
  });

  it('creates with data in one request, answers HEAD and GET with x-image-meta-* headers, and shows the image in v2', async () => {
    const data = Buffer.from('v1 image data '.repeat(100));
    const r = await create(t.a.member, {
      ...meta({ name: 'v1-one', disk_format: 'raw', container_format: 'bare', is_public: false, min_ram: 64 }),
      'x-image-meta-property-os_distro': 'debian',
    }, data);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const img = r.body.image;
    assert.equal(img.status, 'active');
    assert.equal(img.size, data.length);
    assert.equal(img.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(img.is_public, false);
    assert.equal(img.deleted, false);
    assert.equal(img.protected, false);
    assert.equal(img.min_ram, 64);
    assert.equal(img.owner, t.a.id);
    assert.deepEqual(img.properties, { os_distro: 'debian' });
    assert.match(img.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    assert.match(r.headers.get('location')!, new RegExp(`/v1/images/${img.id}$`));

    const head = await t.img('HEAD', `/v1/images/${img.id}`, { token: t.a.reader });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-image-meta-name'), 'v1-one');
    assert.equal(head.headers.get('x-image-meta-status'), 'active');
    assert.equal(head.headers.get('x-image-meta-is_public'), 'False');
    assert.equal(head.headers.get('x-image-meta-size'), String(data.length));
    assert.equal(head.headers.get('x-image-meta-property-os_distro'), 'debian');
    assert.equal(head.headers.get('etag'), img.checksum);

    const get = await t.img('GET', `/v1/images/${img.id}`, { token: t.a.member });
    assert.equal(get.status, 200);
    assert.equal(get.body, data.toString());
    assert.equal(get.headers.get('x-image-meta-checksum'), img.checksum);
    assert.equal(get.headers.get('content-type'), 'application/octet-stream');

    const v2 = await t.img('GET', `/v2/images/${img.id}`, { token: t.a.reader });
    assert.equal(v2.body.visibility, 'shared');
    assert.equal(v2.body.os_distro, 'debian');
    assertGlanceError(await t.img('GET', `/v1/images/${img.id}`, { token: t.b.member }), 404);
  });

  it('registers, then uploads with PUT; updates headers; purges properties only when asked', async () => {
    const r = await create(t.a.member, { ...meta({ name: 'later', disk_format: 'qcow2', container_format: 'bare' }), 'x-image-meta-property-k1': 'v1' });
    assert.equal(r.status, 201);
    const id = r.body.image.id;
    assert.equal(r.body.image.status, 'queued');
    assert.equal(r.body.image.size, null);
    assertGlanceError(await t.img('GET', `/v1/images/${id}`, { token: t.a.member }), 404, 'is not active');

    const up = await t.img('PUT', `/v1/images/${id}`, { token: t.a.member, raw: Buffer.alloc(1024, 7), headers: OCTET });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.image.size, 1024);
    assert.equal(up.body.image.status, 'active');
    assertGlanceError(await t.img('PUT', `/v1/images/${id}`, { token: t.a.member, raw: Buffer.alloc(4), headers: OCTET }), 409, 'unqueued');

    const upd = await t.img('PUT', `/v1/images/${id}`, { token: t.a.member, headers: { ...meta({ name: 'renamed', min_disk: 2 }), 'x-image-meta-property-k2': 'v2' } });
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    assert.equal(upd.body.image.name, 'renamed');
    assert.equal(upd.body.image.min_disk, 2);
    assert.deepEqual(upd.body.image.properties, { k1: 'v1', k2: 'v2' });
    const purge = await t.img('PUT', `/v1/images/${id}`, {
      token: t.a.member, headers: { 'x-image-meta-property-k2': 'new', 'x-glance-registry-purge-props': 'true' },
    });
    assert.deepEqual(purge.body.image.properties, { k2: 'new' });
    // formats of an active image are fixed; others may not change it; publicizing is for admins
    assertGlanceError(await t.img('PUT', `/v1/images/${id}`, { token: t.a.member, headers: meta({ disk_format: 'raw' }) }), 403);
    assertGlanceError(await t.img('PUT', `/v1/images/${id}`, { token: t.a.reader, headers: meta({ name: 'x' }) }), 403);
    assertGlanceError(await t.img('PUT', `/v1/images/${id}`, { token: t.b.member, headers: meta({ name: 'x' }) }), 404);
    assertGlanceError(await t.img('PUT', `/v1/images/${id}`, { token: t.a.member, headers: meta({ is_public: true }) }), 403);
    const pub = await t.img('PUT', `/v1/images/${id}`, { token: t.admin, headers: meta({ is_public: true }) });
    assert.equal(pub.body.image.is_public, true);
    assert.equal((await t.img('HEAD', `/v1/images/${id}`, { token: t.b.reader })).status, 200);
  });

  it('answers bad requests as Glance v1 does', async () => {
    assertGlanceError(await create(t.a.member, meta({ name: 'x', container_format: 'wrong', disk_format: 'vhd' })), 400, 'Invalid container format');
    assertGlanceError(await create(t.a.member, meta({ name: 'x', container_format: 'bare', disk_format: 'wrong' })), 400, 'Invalid disk format');
    assertGlanceError(await create(t.a.member, meta({ name: 'x', container_format: 'ami', disk_format: 'raw' })), 400, 'Invalid mix');
    assertGlanceError(await create(t.a.member, meta({ name: 'x', min_ram: -1 })), 400);
    assertGlanceError(await create(t.a.member, meta({ name: 'x', is_public: 'maybe' })), 400);
    assertGlanceError(await create(t.a.member, meta({ name: 'x' }), Buffer.from('data')), 400, 'Disk format is not specified');
    assertGlanceError(await create(t.a.member, { ...meta({ name: 'x', disk_format: 'raw', container_format: 'bare', location: 'http://example.com/a' }) }, Buffer.from('d')), 400, 'multiple image sources');
    assertGlanceError(await create(t.a.reader, meta({ name: 'x' })), 403);
    for (const id of [randomUUID(), `${randomUUID()}1`, '-1']) assertGlanceError(await t.img('DELETE', `/v1/images/${id}`, { token: t.a.member }), 404);
    assert.equal((await t.img('DELETE', '/v1/images/', { token: t.a.member })).status, 404);
    assertGlanceError(await t.img('GET', '/v1/images?sort_key=bogus', { token: t.a.member }), 400, 'Unsupported sort_key');
    assertGlanceError(await t.img('GET', `/v1/images?marker=${randomUUID()}`, { token: t.a.member }), 400, 'Invalid marker');
  });

  it('registers a location (recorded, never fetched) and copies from an allowed URL only', async () => {
    const loc = await create(t.a.member, meta({ name: 'remote', disk_format: 'raw', container_format: 'bare', location: 'http://203.0.113.9/cirros.img', size: 12 }));
    assert.equal(loc.status, 201, JSON.stringify(loc.body));
    assert.equal(loc.body.image.status, 'active');
    assert.equal(loc.body.image.size, 12);
    assert.equal(loc.body.image.checksum, null);
    assert.equal((await t.img('GET', `/v2/images/${loc.body.image.id}`, { token: t.a.member })).body.stores, undefined);
    assertGlanceError(await t.img('GET', `/v1/images/${loc.body.image.id}`, { token: t.a.member }), 503);
    assertGlanceError(await create(t.a.member, meta({ name: 'r', disk_format: 'raw', container_format: 'bare', location: 'file:///etc/passwd' })), 400, 'External sources are not supported');
    assertGlanceError(await create(t.a.reader, meta({ name: 'r', disk_format: 'raw', container_format: 'bare', location: 'http://203.0.113.9/x' })), 403);

    assertGlanceError(await create(t.a.member, { ...meta({ name: 'c', disk_format: 'raw', container_format: 'bare' }), 'x-glance-api-copy-from': 'http://203.0.113.9/x' }), 403, 'not authorized to copy');
    const copy = await create(t.a.member, { ...meta({ name: 'copied', disk_format: 'raw', container_format: 'bare' }), 'x-glance-api-copy-from': `${webUrl}disk.img` });
    assert.equal(copy.status, 201, JSON.stringify(copy.body));
    const id = copy.body.image.id;
    let status = '';
    for (let i = 0; i < 100 && status !== 'active'; i++) {
      status = (await t.img('HEAD', `/v1/images/${id}`, { token: t.a.member })).headers.get('x-image-meta-status')!;
      if (status !== 'active') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 'active');
    assert.equal((await t.img('GET', `/v1/images/${id}`, { token: t.a.member })).body, payload.toString());
  });

  it('lists (index and detail) with filters, sorting and pages', async () => {
    const tag = randomUUID().slice(0, 8);
    const made: string[] = [];
    for (const [name, fmt, size] of [['s1', 'raw', 42], ['s2', 'qcow2', 142], ['s3', 'raw', 142]] as const) {
      const r = await create(t.a.member, { ...meta({ name: `${tag}-${name}`, disk_format: fmt, container_format: 'bare' }), 'x-image-meta-property-batch': tag }, Buffer.alloc(size, 1));
      assert.equal(r.status, 201);
      made.push(r.body.image.id);
    }
    const index = await t.img('GET', `/v1/images?property-batch=${tag}`, { token: t.a.member });
    assert.equal(index.status, 200);
    assert.deepEqual(Object.keys(index.body.images[0]).sort(), ['checksum', 'container_format', 'disk_format', 'id', 'name', 'size']);
    assert.deepEqual(index.body.images.map((i: { id: string }) => i.id), [...made].reverse());
    const ids = async (q: string) => (await t.img('GET', `/v1/images/detail?property-batch=${tag}&${q}`, { token: t.a.member })).body.images.map((i: { id: string }) => i.id);
    assert.deepEqual(await ids('disk_format=qcow2'), [made[1]]);
    assert.deepEqual(await ids('size_max=42'), [made[0]]);
    assert.deepEqual((await ids('size_min=142')).sort(), [made[1], made[2]].sort());
    assert.deepEqual(await ids(`name=${tag}-s3`), [made[2]]);
    assert.deepEqual(await ids('sort_key=name&sort_dir=asc'), made);
    assert.deepEqual(await ids('sort_key=name&sort_dir=asc&limit=2'), made.slice(0, 2));
    assert.deepEqual(await ids(`sort_key=name&sort_dir=asc&marker=${made[1]}`), [made[2]]);
    assert.deepEqual(await ids('is_public=true'), []);
    assert.deepEqual(await ids('status=queued'), []);
    const detail = await t.img('GET', `/v1/images/detail?property-batch=${tag}&limit=1`, { token: t.a.member });
    assert.equal(detail.body.images[0].properties.batch, tag);
    assert.equal(detail.body.images[0].is_public, false);
    // another project sees none of them
    assert.deepEqual((await t.img('GET', `/v1/images?property-batch=${tag}`, { token: t.b.member })).body.images, []);
  });

  it('shares with members (add, list, shared-images, replace, remove) and deletes', async () => {
    const r = await create(t.a.member, meta({ name: 'shared', disk_format: 'raw', container_format: 'bare' }), Buffer.from('share me'));
    const id = r.body.image.id;
    const put = await t.img('PUT', `/v1/images/${id}/members/${t.b.id}`, { token: t.a.member, body: { member: {} } });
    assert.equal(put.status, 204);
    assert.equal((await t.img('PUT', `/v1/images/${id}/members/${t.b.id}`, { token: t.a.member })).status, 204);
    assert.deepEqual((await t.img('GET', `/v1/images/${id}/members`, { token: t.a.member })).body, { members: [{ member_id: t.b.id, can_share: false }] });
    assert.equal((await t.img('GET', `/v1/images/${id}`, { token: t.b.member })).body, 'share me');
    assert.ok((await t.img('GET', '/v1/images', { token: t.b.member })).body.images.some((i: { id: string }) => i.id === id));
    const shared = await t.img('GET', `/v1/shared-images/${t.b.id}`, { token: t.a.member });
    assert.deepEqual(shared.body.shared_images.filter((s: { image_id: string }) => s.image_id === id), [{ image_id: id, can_share: false }]);
    assertGlanceError(await t.img('PUT', `/v1/images/${id}/members/${t.b.id}`, { token: t.b.member }), 403);
    assertGlanceError(await t.img('PUT', `/v1/images/${randomUUID()}/members/${t.b.id}`, { token: t.a.member }), 404);
    assertGlanceError(await t.img('DELETE', `/v1/images/${id}/members/${randomUUID().replaceAll('-', '')}`, { token: t.a.member }), 404);

    const replaced = await t.img('PUT', `/v1/images/${id}/members`, { token: t.a.member, body: { memberships: [{ member_id: 'p1', can_share: false }, { member_id: 'p2' }] } });
    assert.equal(replaced.status, 204, JSON.stringify(replaced.body));
    const after = (await t.img('GET', `/v1/images/${id}/members`, { token: t.a.member })).body.members.map((m: { member_id: string }) => m.member_id).sort();
    assert.deepEqual(after, ['p1', 'p2']);
    assertGlanceError(await t.img('GET', `/v1/images/${id}`, { token: t.b.member }), 404);
    assert.equal((await t.img('DELETE', `/v1/images/${id}/members/p1`, { token: t.a.member })).status, 204);

    const del = await t.img('DELETE', `/v1/images/${id}`, { token: t.a.member });
    assert.equal(del.status, 200);
    assertGlanceError(await t.img('GET', `/v1/images/${id}`, { token: t.a.member }), 404);
    assert.equal((await t.img('HEAD', `/v1/images/${id}`, { token: t.a.member })).status, 404);
  });
});
