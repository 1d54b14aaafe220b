import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { assertGlanceError, startImageCloud, type ImageCloud } from '../../helpers/image.js';

describe('image: quotas through unified limits', () => {
  let t: ImageCloud;
  let serviceId: string;

  before(async () => {
    t = await startImageCloud();
    const services = await t.c.request('GET', '/v3/services?type=image', { token: t.admin });
    serviceId = services.body.services[0].id;
  });
  after(() => t.stop());

  const setLimit = async (projectId: string, resource: string, value: number) => {
    const existing = await t.c.request('GET', `/v3/limits?project_id=${projectId}&resource_name=${resource}`, { token: t.admin });
    if (existing.body.limits.length) {
      const r = await t.c.request('PATCH', `/v3/limits/${existing.body.limits[0].id}`, { token: t.admin, body: { limit: { resource_limit: value } } });
      assert.equal(r.status, 200);
      return;
    }
    const r = await t.c.request('POST', '/v3/limits', {
      token: t.admin, body: { limits: [{ project_id: projectId, service_id: serviceId, resource_name: resource, resource_limit: value }] },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };

  it('registers Glance\'s four limits with unlimited (-1) defaults at start', async () => {
    const r = await t.c.request('GET', `/v3/registered_limits?service_id=${serviceId}`, { token: t.admin });
    const limits = Object.fromEntries(r.body.registered_limits.map((l: { resource_name: string; default_limit: number }) => [l.resource_name, l.default_limit]));
    assert.deepEqual(limits, { image_count_total: -1, image_count_uploading: -1, image_size_total: -1, image_stage_total: -1 });
    const usage = await t.img('GET', '/v2/info/usage', { token: t.a.member });
    assert.deepEqual(usage.body.usage.image_count_total, { usage: 0, limit: -1 });
  });

  it('refuses a new image past image_count_total with 413', async () => {
    await setLimit(t.a.id, 'image_count_total', 2);
    await t.create(t.a.member);
    await t.create(t.a.member);
    const r = await t.img('POST', '/v2/images', { token: t.a.member, body: { name: 'third' } });
    assertGlanceError(r, 413, 'Resource image_count_total is over limit of 2 due to current usage 2 and delta 1');
    assert.equal(r.body.title, 'Request Entity Too Large');
    // another project is not affected
    await t.create(t.b.member);
    const usage = await t.img('GET', '/v2/info/usage', { token: t.a.member });
    assert.deepEqual(usage.body.usage.image_count_total, { usage: 2, limit: 2 });
    await setLimit(t.a.id, 'image_count_total', -1);
    await t.create(t.a.member);
  });

  it('refuses uploads once the stored MiB reach image_size_total (Glance counts MiB, checks before)', async () => {
    await setLimit(t.b.id, 'image_size_total', 1);
    const first = await t.create(t.b.member);
    assert.equal((await t.upload(t.b.member, first.id, randomBytes(2 * 1024 * 1024))).status, 204);
    const second = await t.create(t.b.member);
    assertGlanceError(await t.upload(t.b.member, second.id, randomBytes(10)), 413, 'image_size_total is over limit of 1 due to current usage 2');
    assert.equal((await t.img('GET', `/v2/images/${second.id}`, { token: t.b.member })).body.status, 'queued');
    assertGlanceError(await t.img('POST', `/v2/images/${second.id}/import`, { token: t.b.member, body: { method: { name: 'glance-direct' } } }), 413);
    await setLimit(t.b.id, 'image_size_total', -1);
    assert.equal((await t.upload(t.b.member, second.id, randomBytes(10))).status, 204);
  });

  it('limits staging (image_stage_total) and concurrent uploads (image_count_uploading)', async () => {
    await setLimit(t.a.id, 'image_stage_total', 0);
    const one = await t.create(t.a.member);
    const stage = (id: string) => t.img('PUT', `/v2/images/${id}/stage`, { token: t.a.member, raw: randomBytes(1024 * 1024 + 10), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal((await stage(one.id)).status, 204);
    const two = await t.create(t.a.member);
    assertGlanceError(await stage(two.id), 413, 'image_stage_total');
    await setLimit(t.a.id, 'image_stage_total', -1);
    // `one` is still uploading (staged): a limit of 0 concurrent uploads refuses the next one
    await setLimit(t.a.id, 'image_count_uploading', 0);
    assertGlanceError(await stage(two.id), 413, 'image_count_uploading');
    assert.equal((await t.img('GET', `/v2/images/${two.id}`, { token: t.a.member })).body.status, 'queued');
    assertGlanceError(await t.upload(t.a.member, two.id, randomBytes(10)), 413, 'image_count_uploading');
    await setLimit(t.a.id, 'image_count_uploading', -1);
    assert.equal((await t.upload(t.a.member, two.id, randomBytes(10))).status, 204);
  });
});
