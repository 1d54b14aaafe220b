import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertGlanceError, startImageCloud, type ImageCloud } from '../../helpers/image.js';

const ids = (r: { body: { images: { id: string }[] } }) => r.body.images.map((i) => i.id);

describe('image: listing (filters, sorting, pages, visibility)', () => {
  let t: ImageCloud;
  const mine: Record<string, any> = {};
  let before1: string;

  before(async () => {
    t = await startImageCloud();
    mine.small = await t.create(t.a.member, { name: 'alpha', tags: ['red', 'big'], os_distro: 'debian', container_format: 'bare', disk_format: 'raw' });
    await t.upload(t.a.member, mine.small.id, Buffer.alloc(100, 1));
    await sleep(1100); // created_at filters have second precision
    before1 = new Date().toISOString();
    mine.large = await t.create(t.a.member, { name: 'beta', tags: ['red'], os_distro: 'ubuntu', disk_format: 'qcow2', container_format: 'bare' });
    await t.upload(t.a.member, mine.large.id, Buffer.alloc(5000, 2));
    mine.queued = await t.create(t.a.member, { name: 'gamma', disk_format: 'iso', container_format: 'bare', min_ram: 256 });
    mine.priv = await t.create(t.a.member, { name: 'delta', visibility: 'private' });
    mine.community = await t.create(t.a.member, { name: 'epsilon', visibility: 'community' });
    mine.pub = await t.create(t.admin, { name: 'zeta', visibility: 'public' });
    mine.bPrivate = await t.create(t.b.member, { name: 'b-private', visibility: 'private' });
    mine.bShared = await t.create(t.b.member, { name: 'b-shared' });
  });
  after(() => t.stop());

  const list = async (query: string, token = t.a.member) => {
    const r = await t.img('GET', `/v2/images${query}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r;
  };

  it('shows a project its own images, public ones, and no other private, shared or community ones', async () => {
    const r = await list('');
    const got = new Set(ids(r));
    for (const k of ['small', 'large', 'queued', 'priv', 'community', 'pub']) assert.ok(got.has(mine[k].id), k);
    for (const k of ['bPrivate', 'bShared']) assert.ok(!got.has(mine[k].id), k);
    assert.equal(r.body.first, '/v2/images');
    assert.equal(r.body.schema, '/v2/schemas/images');
    // B sees A's public image but not A's community image unless it asks for community
    const b = new Set(ids(await list('', t.b.reader)));
    assert.ok(b.has(mine.pub.id) && !b.has(mine.community.id) && !b.has(mine.priv.id));
    assert.deepEqual(ids(await list('?visibility=community', t.b.reader)), [mine.community.id]);
    // admins see every image (but others' community images only when asked)
    const admin = new Set(ids(await list('?limit=1000', t.admin)));
    assert.ok(admin.has(mine.bPrivate.id) && admin.has(mine.priv.id) && !admin.has(mine.community.id));
  });

  it('filters on visibility, status, formats, names (in:), sizes, properties and tags', async () => {
    assert.deepEqual(new Set(ids(await list('?visibility=private'))), new Set([mine.priv.id]));
    assert.deepEqual(new Set(ids(await list('?status=queued&visibility=shared'))), new Set([mine.queued.id]));
    assert.deepEqual(ids(await list('?disk_format=qcow2')), [mine.large.id]);
    assert.deepEqual(new Set(ids(await list('?name=in:alpha,"beta"'))), new Set([mine.small.id, mine.large.id]));
    assert.deepEqual(ids(await list('?name=alpha')), [mine.small.id]);
    assert.deepEqual(ids(await list('?size_min=1000')), [mine.large.id]);
    assert.deepEqual(ids(await list('?size_max=1000')), [mine.small.id]);
    assert.deepEqual(ids(await list('?size=100')), [mine.small.id]);
    assert.deepEqual(ids(await list('?min_ram=256')), [mine.queued.id]);
    assert.deepEqual(ids(await list('?os_distro=ubuntu')), [mine.large.id]);
    assert.deepEqual(ids(await list('?tag=red&tag=big')), [mine.small.id]);
    assert.deepEqual(new Set(ids(await list('?tag=red'))), new Set([mine.small.id, mine.large.id]));
    assert.deepEqual(ids(await list(`?owner=${t.b.id}`)), []);
    assert.deepEqual(ids(await list(`?checksum=${(await t.img('GET', `/v2/images/${mine.small.id}`, { token: t.a.member })).body.checksum}`)), [mine.small.id]);
    assert.deepEqual(ids(await list('?protected=true')), []);
  });

  it('filters on created_at / updated_at with operators', async () => {
    const after1 = new Set(ids(await list(`?created_at=gte:${before1}&visibility=shared`)));
    assert.ok(after1.has(mine.large.id) && !after1.has(mine.small.id));
    const early = ids(await list(`?created_at=lt:${before1}`));
    assert.deepEqual(early, [mine.small.id]);
    assert.ok(ids(await list(`?updated_at=gt:${before1}`)).includes(mine.large.id));
    assertGlanceError(await t.img('GET', '/v2/images?created_at=gte:yesterday', { token: t.a.member }), 400, 'ISO 8601');
    assertGlanceError(await t.img('GET', '/v2/images?created_at=foo:2020-01-01T00:00:00Z', { token: t.a.member }), 400, 'unknown operator');
  });

  it('sorts with sort_key/sort_dir and sort=key:dir', async () => {
    const sizes = (r: { body: { images: { size: number | null }[] } }) => r.body.images.map((i) => i.size).filter((s) => s !== null);
    assert.deepEqual(sizes(await list('?sort_key=size&sort_dir=desc')), [5000, 100]);
    assert.deepEqual(sizes(await list('?sort=size:asc')), [100, 5000]);
    const names = (await list('?sort=name:asc&visibility=shared')).body.images.map((i: { name: string }) => i.name);
    assert.deepEqual(names, ['alpha', 'beta', 'gamma']);
    const multi = (await list('?sort_key=disk_format&sort_dir=asc&sort_key=name&sort_dir=desc&visibility=shared')).body.images.map((i: { name: string }) => i.name);
    assert.deepEqual(multi, ['gamma', 'beta', 'alpha']);
    assertGlanceError(await t.img('GET', '/v2/images?sort_key=owner', { token: t.a.member }), 400, 'Invalid sort key: owner');
    assertGlanceError(await t.img('GET', '/v2/images?sort_dir=up', { token: t.a.member }), 400, 'Invalid sort direction: up');
    assertGlanceError(await t.img('GET', '/v2/images?sort=name&sort_key=size', { token: t.a.member }), 400, 'cannot be combined');
  });

  it('pages with limit and marker, with next links that lead to the rest', async () => {
    const all = ids(await list('?sort=name:asc'));
    assert.ok(all.length >= 6);
    const seen: string[] = [];
    let url: string | undefined = '/v2/images?sort=name:asc&limit=2';
    let pages = 0;
    while (url) {
      const r = await list(url.replace('/v2/images', ''));
      seen.push(...ids(r));
      assert.ok(r.body.images.length <= 2);
      assert.equal(r.body.first, '/v2/images?sort=name%3Aasc&limit=2');
      url = r.body.next;
      if (url) assert.match(url, /marker=/);
      if (++pages > 10) assert.fail('too many pages');
    }
    assert.deepEqual(seen, all);
    assertGlanceError(await t.img('GET', '/v2/images?limit=x', { token: t.a.member }), 400, 'limit param must be an integer');
    assertGlanceError(await t.img('GET', '/v2/images?limit=-1', { token: t.a.member }), 400, 'limit param must be positive');
    assertGlanceError(await t.img('GET', `/v2/images?marker=${mine.bPrivate.id}`, { token: t.a.member }), 400);
    assertGlanceError(await t.img('GET', '/v2/images?member_status=maybe', { token: t.a.member }), 400, 'Invalid status: maybe');
    assertGlanceError(await t.img('GET', '/v2/images?visibility=secret', { token: t.a.member }), 400, 'Invalid visibility value: secret');
    assertGlanceError(await t.img('GET', '/v2/images?changes-since=2020-01-01', { token: t.a.member }), 400, 'changes-since');
  });

  it('needs a reader role to list', async () => {
    const r = await t.img('GET', '/v2/images', { token: t.a.reader });
    assert.equal(r.status, 200);
  });
});
