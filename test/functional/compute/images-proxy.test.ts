import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

const NOVA_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const DETAIL_KEYS = ['OS-EXT-IMG-SIZE:size', 'created', 'id', 'links', 'metadata', 'minDisk', 'minRam', 'name', 'progress', 'status', 'updated'];
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe('compute image proxy (/v2.1/images, deprecated at 2.36)', () => {
  let k: ComputeCloud;
  /** A private image of project a, created and uploaded through the image API. */
  let privA: string;

  const glance = (method: string, path: string, token: string, body?: unknown) =>
    k.c.request(method, path, { token, service: 'image', body });
  const makeImage = async (token: string, body: Record<string, unknown>) => {
    const r = await glance('POST', '/v2/images', token, { disk_format: 'raw', container_format: 'bare', ...body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };

  before(async () => {
    k = await startComputeCloud();
    privA = await makeImage(k.a.member, { name: 'private-a', visibility: 'private', min_ram: 64, min_disk: 2, kernel_id: randomUUID(), os_distro: 'cirros' });
    const up = await k.c.request('PUT', `/v2/images/${privA}/file`, { token: k.a.member, service: 'image', raw: new Uint8Array(1024), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
  });
  after(async () => { await k?.stop(); });

  it('shows an image in Nova\'s view, with exactly the keys Tempest\'s schema allows', async () => {
    const r = await k.nova('GET', `/v2.1/images/${k.imageId}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body), ['image']);
    const img = r.body.image;
    assert.deepEqual(Object.keys(img).sort(), DETAIL_KEYS);
    assert.equal(img.id, k.imageId);
    assert.equal(img.name, 'test-image');
    assert.equal(img.status, 'ACTIVE');
    assert.equal(img.progress, 100);
    assert.equal(img['OS-EXT-IMG-SIZE:size'], 4096);
    assert.equal(img.minRam, 0);
    assert.equal(img.minDisk, 0);
    assert.deepEqual(img.metadata, {});
    assert.match(img.created, NOVA_TIME);
    assert.match(img.updated, NOVA_TIME);
    assert.deepEqual(img.links.map((l: any) => l.rel), ['self', 'bookmark', 'alternate']);
    assert.match(img.links[0].href, new RegExp(`^http://[^/]+/v2\\.1/images/${k.imageId}$`));
    assert.match(img.links[1].href, new RegExp(`^http://[^/]+/images/${k.imageId}$`));
    assert.equal(img.links[2].type, 'application/vnd.openstack.image');
    // The image endpoint as configured (tests bind port 0, "any free port", which the compute
    // service's configuration cannot know; a configured port is used as is).
    const alt = new URL(img.links[2].href);
    assert.equal(alt.hostname, k.c.cloud.config.publicHost);
    assert.equal(alt.pathname, `/images/${k.imageId}`);

    const own = (await k.nova('GET', `/v2.1/images/${privA}`, { token: k.a.member })).body.image;
    assert.equal(own.minRam, 64);
    assert.equal(own.minDisk, 2);
    assert.equal(own.metadata.os_distro, 'cirros');
    assert.ok(own.metadata.kernel_id, 'custom properties (kernel_id) are metadata');
    assert.equal(own.metadata.visibility, undefined, 'base attributes are not metadata');
  });

  it('maps Glance statuses: a queued image is SAVING at 25%, size 0', async () => {
    const id = await makeImage(k.a.member, { name: 'queued-one' });
    const img = (await k.nova('GET', `/v2.1/images/${id}`, { token: k.a.member })).body.image;
    assert.equal(img.status, 'SAVING');
    assert.equal(img.progress, 25);
    assert.equal(img['OS-EXT-IMG-SIZE:size'], 0);
    assert.equal((await glance('DELETE', `/v2/images/${id}`, k.a.member)).status, 204);
  });

  it('answers 404 "Image not found." for unknown ids', async () => {
    for (const id of [randomUUID(), 'invalid-id', '-1', `${randomUUID()}1`]) {
      const r = await k.nova('GET', `/v2.1/images/${id}`);
      assert.equal(r.status, 404, id);
      assert.deepEqual(r.body, { itemNotFound: { code: 404, message: 'Image not found.' } });
      assert.equal((await k.nova('DELETE', `/v2.1/images/${id}`)).status, 404, id);
      assert.equal((await k.nova('GET', `/v2.1/images/${id}/metadata`)).status, 404, id);
      assert.equal((await k.nova('POST', `/v2.1/images/${id}/metadata`, { body: { metadata: { a: 'b' } } })).status, 404, id);
      assert.equal((await k.nova('PUT', `/v2.1/images/${id}/metadata`, { body: { metadata: { a: 'b' } } })).status, 404, id);
      assert.equal((await k.nova('GET', `/v2.1/images/${id}/metadata/a`)).status, 404, id);
      assert.equal((await k.nova('PUT', `/v2.1/images/${id}/metadata/a`, { body: { meta: { a: 'b' } } })).status, 404, id);
      assert.equal((await k.nova('DELETE', `/v2.1/images/${id}/metadata/a`)).status, 404, id);
    }
    assert.equal((await k.nova('DELETE', '/v2.1/images/')).status, 404);
  });

  it('lists ids, names and links only; detail lists the full view', async () => {
    const r = await k.nova('GET', '/v2.1/images', { token: k.a.member });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ['images'], 'no images_links when the page is not full');
    const mine = r.body.images.find((i: any) => i.id === k.imageId);
    assert.deepEqual(Object.keys(mine).sort(), ['id', 'links', 'name']);
    assert.equal(mine.links.length, 3);
    const d = await k.nova('GET', '/v2.1/images/detail', { token: k.a.member });
    assert.equal(d.status, 200);
    const full = d.body.images.find((i: any) => i.id === privA);
    assert.deepEqual(Object.keys(full).sort(), DETAIL_KEYS);
    assert.equal(full.status, 'ACTIVE');
  });

  it('shows each project only what Glance lets it see', async () => {
    const idsOf = async (token: string) => (await k.nova('GET', '/v2.1/images', { token })).body.images.map((i: any) => i.id);
    const seenByA = await idsOf(k.a.member);
    const seenByB = await idsOf(k.b.member);
    assert.ok(seenByA.includes(privA) && seenByA.includes(k.imageId));
    assert.ok(!seenByB.includes(privA), 'project b must not list a\'s private image');
    assert.ok(seenByB.includes(k.imageId), 'public images are listed for everyone');
    assert.ok((await idsOf(k.admin)).includes(privA), 'the admin sees every image');
    assert.equal((await k.nova('GET', `/v2.1/images/${privA}`, { token: k.b.member })).status, 404);
    assert.equal((await k.nova('GET', `/v2.1/images/${privA}/metadata`, { token: k.b.member })).status, 404);
    assert.equal((await k.nova('POST', `/v2.1/images/${privA}/metadata`, { token: k.b.member, body: { metadata: { x: 'y' } } })).status, 404);
    assert.equal((await k.nova('DELETE', `/v2.1/images/${privA}`, { token: k.b.member })).status, 404);
    // a reader of a sees a's image but may not change or delete it (Glance's member rule)
    assert.equal((await k.nova('GET', `/v2.1/images/${privA}`, { token: k.a.reader })).status, 200);
    assert.equal((await k.nova('POST', `/v2.1/images/${privA}/metadata`, { token: k.a.reader, body: { metadata: { x: 'y' } } })).status, 403);
    assert.equal((await k.nova('DELETE', `/v2.1/images/${privA}`, { token: k.a.reader })).status, 403);
    // b sees the public image but may neither change nor delete it.
    const put = await k.nova('POST', `/v2.1/images/${k.imageId}/metadata`, { token: k.b.member, body: { metadata: { x: 'y' } } });
    assert.equal(put.status, 403, JSON.stringify(put.body));
    const del = await k.nova('DELETE', `/v2.1/images/${k.imageId}`, { token: k.b.member });
    assert.equal(del.status, 403);
    assert.deepEqual(del.body, { forbidden: { code: 403, message: 'You are not allowed to delete the image.' } });
    assert.equal((await k.nova('GET', `/v2.1/images/${k.imageId}`, { token: k.b.member })).body.image.status, 'ACTIVE');
  });

  it('filters by name, status, minRam/minDisk and changes-since, and pages with limit/marker', async () => {
    const list = async (q: string, token = k.a.member) => {
      const r = await k.nova('GET', `/v2.1/images?${q}`, { token });
      assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const ids = (b: any) => b.images.map((i: any) => i.id);
    assert.deepEqual(ids(await list('name=private-a')), [privA]);
    assert.deepEqual(ids(await list('name=nothing-like-this')), []);
    assert.ok(ids(await list('status=ACTIVE')).includes(privA));
    assert.deepEqual(ids(await list('status=SAVING')).filter((id: string) => id === privA), []);
    assert.deepEqual(ids(await list('minRam=64')), [privA]);
    assert.deepEqual(ids(await list('minRam=65')), []);
    assert.ok(ids(await list('minDisk=1')).includes(privA));
    assert.ok(!ids(await list('minDisk=1')).includes(k.imageId));
    const shown = (await k.nova('GET', `/v2.1/images/${privA}`, { token: k.a.member })).body.image;
    assert.ok(ids(await list(`changes-since=${encodeURIComponent(shown.created)}`)).includes(privA));
    assert.deepEqual(ids(await list('changes-since=2999-01-01T00:00:00Z')), []);
    assert.equal((await k.nova('GET', '/v2.1/images?changes-since=yesterday')).status, 400);
    assert.equal((await k.nova('GET', '/v2.1/images?limit=abc')).status, 400);
    assert.equal((await k.nova('GET', '/v2.1/images?limit=-1')).status, 400);
    assert.equal((await k.nova('GET', `/v2.1/images?marker=${randomUUID()}`)).status, 400);

    // limit=1: one image and a next link whose marker continues where the page ended
    const all = ids(await list('', k.a.member));
    assert.ok(all.length >= 2);
    const first = await list('limit=1');
    assert.deepEqual(ids(first), [all[0]]);
    assert.equal(first.images_links.length, 1);
    assert.equal(first.images_links[0].rel, 'next');
    const next = new URL(first.images_links[0].href);
    assert.equal(next.pathname, '/v2.1/images');
    assert.equal(next.searchParams.get('marker'), all[0]);
    assert.equal(next.searchParams.get('limit'), '1');
    const second = await list(next.searchParams.toString());
    assert.deepEqual(ids(second), [all[1]]);
    const detailPage = (await k.nova('GET', '/v2.1/images/detail?limit=1', { token: k.a.member })).body;
    assert.equal(detailPage.images.length, 1);
    assert.equal(new URL(detailPage.images_links[0].href).pathname, '/v2.1/images/detail');
  });

  it('keeps image metadata: list, set all, update, show, set and delete one item', async () => {
    const base = `/v2.1/images/${privA}/metadata`;
    const t = { token: k.a.member };
    const before0 = (await k.nova('GET', base, t)).body.metadata;
    assert.equal(before0.os_distro, 'cirros');
    // PUT replaces every custom property
    let r = await k.nova('PUT', base, { ...t, body: { metadata: { os_version: 'value1', os_distro: 'value2' } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { metadata: { os_version: 'value1', os_distro: 'value2' } });
    assert.deepEqual((await k.nova('GET', base, t)).body, { metadata: { os_version: 'value1', os_distro: 'value2' } });
    // the image service holds the change
    const g = (await glance('GET', `/v2/images/${privA}`, k.a.member)).body;
    assert.equal(g.os_version, 'value1');
    assert.equal(g.kernel_id, undefined);
    // POST merges
    r = await k.nova('POST', base, { ...t, body: { metadata: { os_version: 'alt1', architecture: 'value3' } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { metadata: { os_version: 'alt1', os_distro: 'value2', architecture: 'value3' } });
    assert.deepEqual((await k.nova('GET', `${base}/os_distro`, t)).body, { meta: { os_distro: 'value2' } });
    r = await k.nova('PUT', `${base}/os_version`, { ...t, body: { meta: { os_version: 'alt' } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { meta: { os_version: 'alt' } });
    assert.equal((await k.nova('DELETE', `${base}/architecture`, t)).status, 204);
    assert.deepEqual((await k.nova('GET', base, t)).body, { metadata: { os_version: 'alt', os_distro: 'value2' } });
    assert.equal((await k.nova('GET', `/v2.1/images/${privA}`, t)).body.image.metadata.os_version, 'alt');

    // missing items, bad bodies
    let e = await k.nova('GET', `${base}/architecture`, t);
    assert.equal(e.status, 404);
    e = await k.nova('DELETE', `${base}/architecture`, t);
    assert.deepEqual(e.body, { itemNotFound: { code: 404, message: 'Invalid metadata key' } });
    e = await k.nova('PUT', `${base}/os_version`, { ...t, body: { meta: { other: 'x' } } });
    assert.equal(e.status, 400);
    assert.deepEqual(e.body, { badRequest: { code: 400, message: 'Request body and URI mismatch' } });
    for (const body of [{ meta: { a: '1', b: '2' } }, { meta: {} }, { metadata: { a: '1' } }, { meta: { a: 1 } }]) {
      assert.equal((await k.nova('PUT', `${base}/a`, { ...t, body })).status, 400, JSON.stringify(body));
    }
    for (const body of [{}, { metadata: { '': 'x' } }, { metadata: { ['k'.repeat(256)]: 'v' } }, { metadata: { a: 'v'.repeat(256) } }, { metadata: 'x' }, { metadata: {}, extra: 1 }]) {
      assert.equal((await k.nova('POST', base, { ...t, body })).status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal((await k.nova('PUT', base, { ...t, body })).status, 400, JSON.stringify(body).slice(0, 80));
    }
    // Glance's own rules still hold: reserved and read-only keys
    assert.equal((await k.nova('POST', base, { ...t, body: { metadata: { os_glance_x: 'v' } } })).status, 403);
    assert.deepEqual((await k.nova('GET', base, t)).body, { metadata: { os_version: 'alt', os_distro: 'value2' } }, 'nothing changed');
  });

  it('enforces the metadata_items quota with 403', async () => {
    const q = await k.nova('PUT', `/v2.1/os-quota-sets/${k.a.id}`, { body: { quota_set: { metadata_items: 3 } } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    try {
      const base = `/v2.1/images/${privA}/metadata`;
      const t = { token: k.a.member };
      assert.equal((await k.nova('PUT', base, { ...t, body: { metadata: { a: '1', b: '2', c: '3' } } })).status, 200);
      const over = await k.nova('POST', base, { ...t, body: { metadata: { d: '4' } } });
      assert.equal(over.status, 403);
      assert.deepEqual(over.body, { forbidden: { code: 403, message: 'Image metadata limit exceeded' } });
      assert.equal((await k.nova('PUT', `${base}/d`, { ...t, body: { meta: { d: '4' } } })).status, 403);
      assert.equal((await k.nova('PUT', base, { ...t, body: { metadata: { a: '1', b: '2', c: '3', d: '4' } } })).status, 403);
      assert.equal((await k.nova('PUT', `${base}/a`, { ...t, body: { meta: { a: 'changed' } } })).status, 200, 'changing an existing key stays within quota');
      assert.deepEqual((await k.nova('GET', base, t)).body, { metadata: { a: 'changed', b: '2', c: '3' } });
    } finally {
      await k.nova('PUT', `/v2.1/os-quota-sets/${k.a.id}`, { body: { quota_set: { metadata_items: 128 } } });
    }
  });

  it('is gone from microversion 2.36 on (metadata from 2.39 on)', async () => {
    const id = k.imageId;
    for (const [method, path, body] of [
      ['GET', '/v2.1/images'], ['GET', '/v2.1/images/detail'], ['GET', `/v2.1/images/${id}`], ['DELETE', `/v2.1/images/${id}`],
    ] as [string, string, unknown?][]) {
      const r = await k.nova(method, path, { version: '2.36', body });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.deepEqual(r.body, { itemNotFound: { code: 404, message: 'API version 2.36 is not supported on this method.' } });
      assert.equal((await k.nova(method, path, { version: 'latest', body })).status, 404, `${method} ${path} latest`);
    }
    assert.equal((await k.nova('GET', '/v2.1/images', { version: '2.35' })).status, 200);
    assert.equal((await k.nova('GET', `/v2.1/images/${id}`, { version: '2.35' })).status, 200);
    const meta = `/v2.1/images/${privA}/metadata`;
    assert.equal((await k.nova('GET', meta, { token: k.a.member, version: '2.38' })).status, 200);
    for (const [method, path, body] of [
      ['GET', meta], ['PUT', meta, { metadata: {} }], ['POST', meta, { metadata: {} }],
      ['GET', `${meta}/a`], ['PUT', `${meta}/a`, { meta: { a: 'x' } }], ['DELETE', `${meta}/a`],
    ] as [string, string, unknown?][]) {
      assert.equal((await k.nova(method, path, { token: k.a.member, version: '2.39', body })).status, 404, `${method} ${path}`);
    }
    assert.equal((await k.nova('GET', `/v2.1/images/${id}`)).status, 200, 'the image is still there');
    assert.equal((await k.nova('GET', `${meta}/a`, { token: k.a.member })).status, 200, 'the item is still there');
  });

  it('shows a server snapshot with its server, filters by server and type, and deletes it', async () => {
    const s = await k.boot(k.a.member, { name: 'snap-src' });
    const r = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { createImage: { name: 'snap-1', metadata: { purpose: 'test' } } } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const snapId = new URL(r.headers.get('location')!).pathname.split('/').pop()!;
    let img: any;
    for (let i = 0; i < 250; i++) {
      const g = await k.nova('GET', `/v2.1/images/${snapId}`, { token: k.a.member });
      assert.equal(g.status, 200, JSON.stringify(g.body));
      img = g.body.image;
      if (img.status === 'ACTIVE') break;
      assert.equal(img.status, 'SAVING');
      await sleep(20);
    }
    assert.equal(img.status, 'ACTIVE');
    assert.equal(img.progress, 100);
    assert.equal(img.name, 'snap-1');
    assert.deepEqual(Object.keys(img).sort(), [...DETAIL_KEYS, 'server'].sort());
    assert.equal(img.server.id, s.id);
    assert.deepEqual(Object.keys(img.server).sort(), ['id', 'links']);
    assert.deepEqual(img.server.links.map((l: any) => l.rel), ['self', 'bookmark']);
    assert.match(img.server.links[0].href, new RegExp(`/v2\\.1/servers/${s.id}$`));
    assert.equal(img.metadata.instance_uuid, s.id);
    assert.equal(img.metadata.image_type, 'snapshot');
    assert.equal(img.metadata.purpose, 'test', 'the caller\'s metadata is kept');
    assert.equal(img.minRam, 0);

    const ids = async (q: string) => (await k.nova('GET', `/v2.1/images?${q}`, { token: k.a.member })).body.images.map((i: any) => i.id);
    assert.deepEqual(await ids(`server=${s.id}`), [snapId]);
    for (const l of s.links) assert.deepEqual(await ids(`server=${encodeURIComponent(l.href)}`), [snapId], l.href);
    assert.deepEqual(await ids(`server=${randomUUID()}`), []);
    const snaps = await ids('type=snapshot');
    assert.ok(snaps.includes(snapId));
    assert.ok(!snaps.includes(k.imageId) && !snaps.includes(privA));
    const detail = (await k.nova('GET', `/v2.1/images/detail?server=${s.id}`, { token: k.a.member })).body.images;
    assert.equal(detail[0].server.id, s.id);
    assert.ok((await ids('')).includes(snapId));
    assert.ok(!(await k.nova('GET', '/v2.1/images', { token: k.b.member })).body.images.some((i: any) => i.id === snapId), 'b does not see a\'s snapshot');

    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    const del = await k.nova('DELETE', `/v2.1/images/${snapId}`, { token: k.a.member });
    assert.equal(del.status, 204);
    assert.equal((await k.nova('GET', `/v2.1/images/${snapId}`, { token: k.a.member })).status, 404);
    assert.equal((await glance('GET', `/v2/images/${snapId}`, k.a.member)).status, 404);
    assert.equal((await k.nova('DELETE', `/v2.1/images/${snapId}`, { token: k.a.member })).status, 404);
  });
});
