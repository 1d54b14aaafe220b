import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';
import type { TestProject } from '../../helpers/image.js';

/** The volume API (fake back end) over HTTP: CRUD, Cinder's errors, quotas under concurrency. */
describe('volume: volumes, types, snapshots, quotas (Cinder v3)', () => {
  let k: ComputeCloud;
  const cinder = (p: TestProject | 'admin', method: string, path: string, body?: unknown, version?: string) => {
    const token = p === 'admin' ? k.admin : p.member;
    const project = p === 'admin' ? '' : p.id;
    return k.c.request(method, `/v3/${project || 'x'}${path}`, { token, body, service: 'volume', headers: version ? { 'openstack-api-version': `volume ${version}` } : {} });
  };
  const waitStatus = async (p: TestProject, id: string, status: string) => {
    for (let i = 0; i < 100; i++) {
      const r = await cinder(p, 'GET', `/volumes/${id}`);
      if (r.body?.volume?.status === status) return r.body.volume;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.fail(`volume ${id} never became ${status}`);
  };

  before(async () => { k = await startComputeCloud({}, { services: ['identity', 'placement', 'image', 'volume', 'compute'] }); });
  after(async () => { await k?.stop(); });

  it('discovers versions and negotiates microversions', async () => {
    const root = await k.c.request('GET', '/', { service: 'volume' });
    assert.equal(root.status, 300);
    assert.equal(root.body.versions[0].id, 'v3.0');
    assert.equal(root.body.versions[0].version, '3.70');
    const r = await cinder(k.a, 'GET', '/volumes', undefined, '3.50');
    assert.equal(r.headers.get('openstack-api-version'), 'volume 3.50');
    assert.equal((await cinder(k.a, 'GET', '/volumes', undefined, '3.99')).status, 406);
  });

  it('creates, shows, lists, updates and deletes a volume', async () => {
    const c = await cinder(k.a, 'POST', '/volumes', { volume: { size: 1, name: 'v1', description: 'd', metadata: { a: 'b' } } });
    assert.equal(c.status, 202, JSON.stringify(c.body));
    assert.equal(c.body.volume.status, 'creating');
    assert.equal(c.body.volume.volume_type, '__DEFAULT__');
    const id = c.body.volume.id;
    const v = await waitStatus(k.a, id, 'available');
    assert.deepEqual(v.metadata, { a: 'b' });
    assert.equal(v.bootable, 'false');
    assert.equal(v['os-vol-tenant-attr:tenant_id'], k.a.id);
    assert.equal(v['os-vol-host-attr:host'], undefined, 'host is for admins');
    const summary = await cinder(k.a, 'GET', '/volumes/summary', undefined, '3.36');
    assert.deepEqual(summary.body['volume-summary'], { total_size: 1, total_count: 1, metadata: { a: ['b'] } });
    assert.equal((await cinder(k.a, 'GET', '/volumes/summary')).status, 404, 'from 3.12');
    const list = await cinder(k.a, 'GET', '/volumes?name=v1');
    assert.deepEqual(list.body.volumes.map((x: any) => x.id), [id]);
    assert.equal((await cinder(k.b, 'GET', `/volumes/${id}`)).status, 404, 'another project does not see it');
    const u = await cinder(k.a, 'PUT', `/volumes/${id}`, { volume: { name: 'v2' } });
    assert.equal(u.status, 200);
    assert.equal(u.body.volume.name, 'v2');
    assert.equal((await cinder(k.a, 'POST', `/volumes/${id}/action`, { 'os-extend': { new_size: 2 } })).status, 202);
    assert.equal((await waitStatus(k.a, id, 'available')).size, 2);
    assert.equal((await cinder(k.a, 'DELETE', `/volumes/${id}`)).status, 202);
    for (let i = 0; i < 100 && (await cinder(k.a, 'GET', `/volumes/${id}`)).status !== 404; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal((await cinder(k.a, 'GET', `/volumes/${id}`)).status, 404);
  });

  it('answers bad input in Cinder\'s error format', async () => {
    for (const size of ['#$%', '', '0', '-1']) {
      const r = await cinder(k.a, 'POST', '/volumes', { volume: { size } });
      assert.equal(r.status, 400, `size ${size}`);
      assert.equal(r.body.badRequest.code, 400);
      assert.match(r.body.badRequest.message, /size/);
    }
    const nf = await cinder(k.a, 'GET', '/volumes/00000000-0000-0000-0000-000000000000');
    assert.equal(nf.status, 404);
    assert.match(nf.body.itemNotFound.message, /Volume 00000000-0000-0000-0000-000000000000 could not be found/);
    assert.equal((await cinder(k.a, 'POST', '/volumes', { volume: { size: 1, volume_type: 'nope' } })).status, 404);
    assert.equal((await cinder(k.a, 'POST', '/volumes', { volume: { size: 1, snapshot_id: '00000000-0000-0000-0000-000000000000' } })).status, 404);
    assert.equal((await cinder(k.a, 'GET', '/volumes/')).status, 404);
    const mine = await cinder(k.a, 'POST', '/volumes', { volume: { size: 1 } });
    const reset = await cinder(k.a, 'POST', `/volumes/${mine.body.volume.id}/action`, { 'os-reset_status': { status: 'error' } });
    assert.equal(reset.status, 403, 'reset-status is for admins');
    assert.equal(reset.body.forbidden.code, 403);
  });

  it('makes volumes from an image, a clone and a snapshot', async () => {
    const img = await cinder(k.a, 'POST', '/volumes', { volume: { imageRef: k.imageId } });
    assert.equal(img.status, 202, JSON.stringify(img.body));
    const fromImage = await waitStatus(k.a, img.body.volume.id, 'available');
    assert.equal(fromImage.bootable, 'true');
    assert.equal(fromImage.volume_image_metadata.image_id, k.imageId);
    const clone = await cinder(k.a, 'POST', '/volumes', { volume: { source_volid: fromImage.id } });
    assert.equal((await waitStatus(k.a, clone.body.volume.id, 'available')).bootable, 'true');
    const snap = await cinder(k.a, 'POST', '/snapshots', { snapshot: { volume_id: fromImage.id, name: 's' } });
    assert.equal(snap.status, 202, JSON.stringify(snap.body));
    for (let i = 0; i < 100 && (await cinder(k.a, 'GET', `/snapshots/${snap.body.snapshot.id}`)).body.snapshot.status !== 'available'; i++) await new Promise((res) => setTimeout(res, 20));
    const fromSnap = await cinder(k.a, 'POST', '/volumes', { volume: { snapshot_id: snap.body.snapshot.id, size: 2 } });
    assert.equal((await waitStatus(k.a, fromSnap.body.volume.id, 'available')).snapshot_id, snap.body.snapshot.id);
    // a volume with snapshots is deleted only with cascade
    assert.equal((await cinder(k.a, 'DELETE', `/volumes/${fromImage.id}`)).status, 400);
    assert.equal((await cinder(k.a, 'DELETE', `/volumes/${fromImage.id}?cascade=true`)).status, 202);
  });

  it('keeps the volume quota exact under concurrent creates', async () => {
    const p = k.b;
    assert.equal((await cinder('admin', 'PUT', `/os-quota-sets/${p.id}`, { quota_set: { volumes: 3 } })).status, 200);
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => cinder(p, 'POST', '/volumes', { volume: { size: 1, name: `q${i}` } })));
    assert.equal(rs.filter((r) => r.status === 202).length, 3);
    const over = rs.filter((r) => r.status === 413);
    assert.equal(over.length, 5);
    assert.match(over[0].body.overLimit.message, /VolumeLimitExceeded/);
    const usage = await cinder('admin', 'GET', `/os-quota-sets/${p.id}?usage=true`);
    assert.deepEqual(usage.body.quota_set.volumes, { limit: 3, in_use: 3, reserved: 0 });
    const limits = await cinder(p, 'GET', '/limits');
    assert.equal(limits.body.limits.absolute.totalVolumesUsed, 3);
  });

  it('serves the default volume type; admins manage types', async () => {
    const types = await cinder(k.a, 'GET', '/types');
    assert.deepEqual(types.body.volume_types.map((t: any) => t.name), ['__DEFAULT__']);
    assert.equal((await cinder(k.a, 'POST', '/types', { volume_type: { name: 'fast' } })).status, 403);
    const t = await cinder('admin', 'POST', '/types', { volume_type: { name: 'fast', extra_specs: { tier: 'ssd' } } });
    assert.equal(t.status, 200);
    assert.deepEqual(t.body.volume_type.extra_specs, { tier: 'ssd' });
    const v = await cinder(k.a, 'POST', '/volumes', { volume: { size: 1, volume_type: 'fast' } });
    assert.equal(v.body.volume.volume_type, 'fast');
    assert.equal((await cinder('admin', 'DELETE', `/types/${t.body.volume_type.id}`)).status, 400, 'in use');
  });

  it('transfers a volume to another project with its key', async () => {
    const v = await cinder(k.a, 'POST', '/volumes', { volume: { size: 1, name: 'gift' } });
    await waitStatus(k.a, v.body.volume.id, 'available');
    const t = await cinder(k.a, 'POST', '/os-volume-transfer', { transfer: { volume_id: v.body.volume.id, name: 't' } });
    assert.equal(t.status, 202, JSON.stringify(t.body));
    assert.equal((await cinder(k.a, 'GET', `/volumes/${v.body.volume.id}`)).body.volume.status, 'awaiting-transfer');
    assert.equal((await cinder(k.b, 'POST', `/os-volume-transfer/${t.body.transfer.id}/accept`, { accept: { auth_key: 'wrong' } })).status, 400);
    // the receiver's quota counts (project B is full from the quota test)
    assert.equal((await cinder(k.b, 'POST', `/os-volume-transfer/${t.body.transfer.id}/accept`, { accept: { auth_key: t.body.transfer.auth_key } })).status, 413);
    assert.equal((await cinder('admin', 'PUT', `/os-quota-sets/${k.b.id}`, { quota_set: { volumes: 10 } })).status, 200);
    const ok = await cinder(k.b, 'POST', `/os-volume-transfer/${t.body.transfer.id}/accept`, { accept: { auth_key: t.body.transfer.auth_key } });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal((await cinder(k.a, 'GET', `/volumes/${v.body.volume.id}`)).status, 404);
    assert.equal((await cinder(k.b, 'GET', `/volumes/${v.body.volume.id}`)).body.volume.status, 'available');
  });

  it('records QoS specs and their volume type associations (admin)', async () => {
    const q = await cinder('admin', 'POST', '/qos-specs', { qos_specs: { name: 'gold', consumer: 'front-end', total_iops_sec: '100' } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.deepEqual(q.body.qos_specs.specs, { total_iops_sec: '100' });
    const t = await cinder('admin', 'POST', '/types', { volume_type: { name: 'qos-type' } });
    assert.equal((await cinder('admin', 'GET', `/qos-specs/${q.body.qos_specs.id}/associate?vol_type_id=${t.body.volume_type.id}`)).status, 202);
    const assoc = await cinder('admin', 'GET', `/qos-specs/${q.body.qos_specs.id}/associations`);
    assert.deepEqual(assoc.body.qos_associations, [{ association_type: 'volume_type', id: t.body.volume_type.id, name: 'qos-type' }]);
    assert.equal((await cinder('admin', 'DELETE', `/qos-specs/${q.body.qos_specs.id}`)).status, 400, 'still associated');
    assert.equal((await cinder(k.a, 'GET', '/qos-specs')).status, 403);
  });
  it('keeps encryption specs of a volume type and refuses its volumes (no key manager)', async () => {
    const t = (await cinder('admin', 'POST', '/types', { volume_type: { name: 'luks' } })).body.volume_type;
    assert.deepEqual((await cinder('admin', 'GET', `/types/${t.id}/encryption`)).body, {});
    const spec = { provider: 'luks', cipher: 'aes-xts-plain64', key_size: 256, control_location: 'front-end' };
    assert.equal((await cinder(k.a, 'POST', `/types/${t.id}/encryption`, { encryption: spec })).status, 403);
    assert.equal((await cinder('admin', 'POST', `/types/${t.id}/encryption`, { encryption: { ...spec, control_location: 'middle' } })).status, 400);
    const e = await cinder('admin', 'POST', `/types/${t.id}/encryption`, { encryption: spec });
    assert.equal(e.status, 200, JSON.stringify(e.body));
    assert.equal(e.body.encryption.volume_type_id, t.id);
    assert.equal((await cinder('admin', 'POST', `/types/${t.id}/encryption`, { encryption: spec })).status, 400, 'exists already');
    assert.equal((await cinder('admin', 'PUT', `/types/${t.id}/encryption/provider`, { encryption: { key_size: 128 } })).status, 200);
    const shown = (await cinder('admin', 'GET', `/types/${t.id}/encryption`)).body;
    assert.equal(shown.key_size, 128);
    assert.equal(shown.provider, 'luks');
    assert.deepEqual((await cinder('admin', 'GET', `/types/${t.id}/encryption/cipher`)).body, { cipher: 'aes-xts-plain64' });
    const v = await cinder(k.a, 'POST', '/volumes', { volume: { size: 1, volume_type: 'luks' } });
    assert.equal(v.status, 400, 'an encrypted type cannot make volumes here');
    assert.match(v.body.badRequest.message, /key manager/);
    assert.equal((await cinder('admin', 'DELETE', `/types/${t.id}/encryption/provider`)).status, 202);
    assert.deepEqual((await cinder('admin', 'GET', `/types/${t.id}/encryption`)).body, {});
    assert.equal((await cinder(k.a, 'POST', '/volumes', { volume: { size: 1, volume_type: 'luks' } })).status, 202);
  });
});

