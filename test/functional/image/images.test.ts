import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { assertGlanceError, PATCH, startImageCloud, type ImageCloud } from '../../helpers/image.js';

describe('image: discovery, schemas, errors', () => {
  let t: ImageCloud;
  before(async () => { t = await startImageCloud(); });
  after(() => t.stop());

  it('lists versions at / (300) and /versions (200), with absolute v2 links', async () => {
    const root = await t.img('GET', '/');
    assert.equal(root.status, 300);
    const ids = root.body.versions.map((v: { id: string }) => v.id);
    assert.equal(ids[0], 'v2.15');
    assert.equal(root.body.versions[0].status, 'CURRENT');
    assert.ok(ids.includes('v2.0') && ids.includes('v2.12'));
    assert.match(root.body.versions[0].links[0].href, /^http:\/\/127\.0\.0\.1:\d+\/v2\/$/);
    const v = await t.img('GET', '/versions');
    assert.equal(v.status, 200);
    assert.deepEqual(v.body, root.body);
    // Any path outside /v1 and /v2 gets the version choices, as Glance's version negotiation answers.
    assert.equal((await t.img('GET', '/v3/images')).status, 300);
  });

  it('serves the image, images, member and members schemas (custom properties as strings)', async () => {
    const image = await t.img('GET', '/v2/schemas/image', { token: t.a.reader });
    assert.equal(image.status, 200);
    assert.equal(image.body.name, 'image');
    assert.deepEqual(image.body.additionalProperties, { type: 'string' });
    assert.deepEqual(image.body.properties.disk_format.enum, [null, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']);
    assert.equal(image.body.properties.status.readOnly, true);
    assert.ok(image.body.properties.kernel_id.pattern);
    const images = await t.img('GET', '/v2/schemas/images', { token: t.a.reader });
    assert.equal(images.body.name, 'images');
    assert.deepEqual(images.body.properties.images.items, image.body);
    assert.deepEqual(images.body.links.map((l: { rel: string }) => l.rel), ['first', 'next', 'describedby']);
    const member = await t.img('GET', '/v2/schemas/member', { token: t.a.reader });
    assert.deepEqual(member.body.properties.status.enum, ['pending', 'accepted', 'rejected']);
    assert.equal(member.body.additionalProperties, false);
    assert.equal((await t.img('GET', '/v2/schemas/members', { token: t.a.reader })).body.name, 'members');
    assertGlanceError(await t.img('GET', '/v2/schemas/nothing', { token: t.a.reader }), 404);
  });

  it('tells import methods and stores', async () => {
    const imp = await t.img('GET', '/v2/info/import', { token: t.a.reader });
    assert.deepEqual(imp.body['import-methods'].value, ['glance-direct', 'glance-download']);
    const stores = await t.img('GET', '/v2/info/stores', { token: t.a.reader });
    assert.deepEqual(stores.body.stores.map((s: { id: string; default: string }) => [s.id, s.default]), [['file', 'true']]);
    assertGlanceError(await t.img('GET', '/v2/info/stores/detail', { token: t.a.member }), 403);
    const detail = await t.img('GET', '/v2/info/stores/detail', { token: t.admin });
    assert.equal(detail.body.stores[0].type, 'file');
  });

  it('answers errors as Glance: JSON, HTML or plain text by Accept; 401 as keystonemiddleware', async () => {
    const id = randomUUID();
    const json = await t.img('GET', `/v2/images/${id}`, { token: t.a.member });
    assertGlanceError(json, 404, `No image found with ID ${id}`);
    assert.equal(json.body.code, '404 Not Found');
    assert.equal(json.body.title, 'Not Found');
    const html = await t.img('GET', `/v2/images/${id}`, { token: t.a.member, headers: { accept: '*/*' } });
    assert.match(html.headers.get('content-type')!, /^text\/html/);
    assert.match(html.body, /<title>404 Not Found<\/title>/);
    const plain = await t.img('GET', `/v2/images/${id}`, { token: t.a.member, headers: { accept: 'text/plain' } });
    assert.match(plain.headers.get('content-type')!, /^text\/plain/);
    assert.match(plain.body, /^404 Not Found\n\nNo image found with ID/);
    const anon = await t.img('GET', '/v2/images');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, 401);
    const wrong = await t.img('PUT', '/v2/images', { token: t.a.member });
    assertGlanceError(wrong, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, POST');
    assertGlanceError(await t.img('GET', '/v2/images/', { token: t.a.member }), 404);
    assertGlanceError(await t.img('DELETE', '/v2/images/', { token: t.a.member }), 404);
  });
});

describe('image: create, show, update, delete', () => {
  let t: ImageCloud;
  before(async () => { t = await startImageCloud(); });
  after(() => t.stop());

  it('creates an image with core and custom properties, tags and a chosen id', async () => {
    const id = randomUUID();
    const r = await t.img('POST', '/v2/images', {
      token: t.a.member,
      body: { id, name: 'cirros', disk_format: 'qcow2', container_format: 'bare', min_ram: 64, min_disk: 1, tags: ['x', 'y', 'x'], os_distro: 'cirros', hw_disk_bus: 'virtio' },
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `${t.c.url('image')}/v2/images/${id}`);
    assert.equal(r.headers.get('openstack-image-import-methods'), 'glance-direct,glance-download');
    assert.equal(r.headers.get('openstack-image-store-ids'), 'file');
    const img = r.body;
    assert.equal(img.id, id);
    assert.equal(img.status, 'queued');
    assert.equal(img.visibility, 'shared');
    assert.equal(img.owner, t.a.id);
    assert.equal(img.protected, false);
    assert.equal(img.os_hidden, false);
    assert.equal(img.size, null);
    assert.equal(img.checksum, null);
    assert.deepEqual(img.tags, ['x', 'y']);
    assert.equal(img.os_distro, 'cirros');
    assert.equal(img.hw_disk_bus, 'virtio');
    assert.equal(img.self, `/v2/images/${id}`);
    assert.equal(img.file, `/v2/images/${id}/file`);
    assert.equal(img.schema, '/v2/schemas/image');
    assert.match(img.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const shown = await t.img('GET', `/v2/images/${id}`, { token: t.a.reader });
    assert.deepEqual(shown.body, img);
    // the id stays taken, even after a delete
    assertGlanceError(await t.img('POST', '/v2/images', { token: t.a.member, body: { id } }), 409);
    assert.equal((await t.img('DELETE', `/v2/images/${id}`, { token: t.a.member })).status, 204);
    assertGlanceError(await t.img('POST', '/v2/images', { token: t.a.member, body: { id } }), 409);
  });

  it('rejects bad create bodies with Glance answers', async () => {
    const post = (body: unknown, token = t.a.member) => t.img('POST', '/v2/images', { token, body });
    assertGlanceError(await post({ disk_format: 'wrong' }), 400, "Provided object does not match schema 'image': 'wrong' is not one of");
    assertGlanceError(await post({ container_format: 'wrong' }), 400, 'is not one of');
    assertGlanceError(await post({ min_ram: 'lots' }), 400, "'lots' is not of type 'integer'");
    assertGlanceError(await post({ name: 'x'.repeat(256) }), 400, 'is too long');
    assertGlanceError(await post({ id: 'not-a-uuid' }), 400, 'does not match');
    assertGlanceError(await post({ custom: 5 }), 400, "5 is not of type 'string'");
    assertGlanceError(await post({ min_disk: -1 }), 400, "Invalid value '-1' for parameter 'min_disk'");
    assertGlanceError(await post({ status: 'active' }), 403, "Attribute 'status' is read-only.");
    assertGlanceError(await post({ self: '/x' }), 403, "Attribute 'self' is read-only.");
    assertGlanceError(await post({ os_glance_foo: 'bar' }), 403, "Attribute 'os_glance_foo' is reserved.");
    assertGlanceError(await post({ deleted: 'x' }), 403, 'is reserved');
    assertGlanceError(await post({ owner: t.b.id }), 403, `You are not permitted to create images owned by '${t.b.id}'`);
    assertGlanceError(await post({ name: 'r' }, t.a.reader), 403);
    assertGlanceError(await post({ visibility: 'public' }), 403, 'publicize_image');
    const malformed = await t.img('POST', '/v2/images', { token: t.a.member, raw: '{"name": ', headers: { 'content-type': 'application/json' } });
    assertGlanceError(malformed, 400, 'Malformed JSON in request body.');
    const scalar = await t.img('POST', '/v2/images', { token: t.a.member, raw: '"x"', headers: { 'content-type': 'application/json' } });
    assertGlanceError(scalar, 400, 'Unexpected body type. Expected list/dict.');
    // community is allowed to a project member; public only to admins; admins may set owners
    assert.equal((await post({ visibility: 'community' })).status, 201);
    const pub = await post({ visibility: 'public', owner: t.b.id }, t.admin);
    assert.equal(pub.status, 201);
    assert.equal(pub.body.owner, t.b.id);
  });

  it('updates core and custom properties with JSON patch (v2.1 and v2.0)', async () => {
    const img = await t.create(t.a.member, { description: 'old' });
    const r = await t.patch(t.a.member, img.id, [
      { op: 'replace', path: '/name', value: 'renamed' },
      { op: 'add', path: '/os_distro', value: 'debian' },
      { op: 'replace', path: '/description', value: 'new' },
      { op: 'add', path: '/min_ram', value: 512 },
      { op: 'replace', path: '/tags', value: ['b', 'a'] },
      { op: 'replace', path: '/protected', value: true },
      { op: 'replace', path: '/visibility', value: 'private' },
      { op: 'add', path: '/a~1b', value: 'slash' },
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.name, 'renamed');
    assert.equal(r.body.os_distro, 'debian');
    assert.equal(r.body.description, 'new');
    assert.equal(r.body.min_ram, 512);
    assert.deepEqual(r.body.tags, ['a', 'b']);
    assert.equal(r.body.protected, true);
    assert.equal(r.body.visibility, 'private');
    assert.equal(r.body['a/b'], 'slash');
    const rm = await t.patch(t.a.member, img.id, [{ op: 'remove', path: '/os_distro' }, { op: 'replace', path: '/protected', value: false }]);
    assert.equal(rm.status, 200);
    assert.equal(rm.body.os_distro, undefined);
    // draft 4 (application/openstack-images-v2.0-json-patch), as Tempest sends
    const d4 = await t.img('PATCH', `/v2/images/${img.id}`, {
      token: t.a.member, raw: JSON.stringify([{ replace: '/name', value: 'd4' }]),
      headers: { 'content-type': 'application/openstack-images-v2.0-json-patch' },
    });
    assert.equal(d4.body.name, 'd4');
    const dup = await t.img('PATCH', `/v2/images/${img.id}`, {
      token: t.a.member, raw: JSON.stringify([{ add: '/description', value: 'again' }]),
      headers: { 'content-type': 'application/openstack-images-v2.0-json-patch' },
    });
    assertGlanceError(dup, 409, 'Property description already present.');
  });

  it('rejects bad patches: media type, ops, pointers, read-only, reserved, missing properties', async () => {
    const img = await t.create(t.a.member);
    const p = (ops: unknown) => t.patch(t.a.member, img.id, ops);
    const json = await t.img('PATCH', `/v2/images/${img.id}`, { token: t.a.member, body: [{ op: 'replace', path: '/name', value: 'x' }] });
    assertGlanceError(json, 415);
    assert.equal(json.headers.get('accept-patch'), 'application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch');
    assertGlanceError(await p({ op: 'add' }), 400, 'Request body must be a JSON array of operation objects.');
    assertGlanceError(await p(['x']), 400, 'Operations must be JSON objects.');
    assertGlanceError(await p([{ op: 'move', path: '/name', value: 'x' }]), 400, 'Invalid operation: `move`');
    assertGlanceError(await p([{ path: '/name', value: 'x' }]), 400, 'Unable to find `op`');
    assertGlanceError(await p([{ op: 'add', value: 'x' }]), 400, "Unable to find 'path'");
    assertGlanceError(await p([{ op: 'add', path: 'name', value: 'x' }]), 400, 'does not start with "/"');
    assertGlanceError(await p([{ op: 'add', path: '/a/b', value: 'x' }]), 400, 'Invalid JSON pointer for this resource');
    assertGlanceError(await p([{ op: 'add', path: '/x~2', value: 'x' }]), 400, 'recognized escape sequence');
    assertGlanceError(await p([{ op: 'add', path: '/name' }]), 400, 'Operation "add" requires a member named "value".');
    assertGlanceError(await p([{ op: 'replace', path: '/min_disk', value: 'big' }]), 400, "is not of type 'integer'");
    assertGlanceError(await p([{ op: 'replace', path: '/status', value: 'active' }]), 403, "Attribute 'status' is read-only.");
    assertGlanceError(await p([{ op: 'add', path: '/os_glance_foo', value: 'x' }]), 403, "Attribute 'os_glance_foo' is reserved.");
    assertGlanceError(await p([{ op: 'remove', path: '/name' }]), 403, 'Property name may not be removed.');
    assertGlanceError(await p([{ op: 'remove', path: '/nope' }]), 409, 'Property nope does not exist.');
    assertGlanceError(await p([{ op: 'replace', path: '/nope', value: 'x' }]), 409, 'Property nope does not exist.');
    assertGlanceError(await p([{ op: 'replace', path: '/owner', value: t.b.id }]), 403, "Owner can't be updated by non admin.");
    assertGlanceError(await p([{ op: 'replace', path: '/visibility', value: 'public' }]), 403, 'publicize_image');
    assertGlanceError(await p([{ op: 'add', path: '/locations/-', value: { url: 'http://x/y', metadata: {} } }]), 403, 'locations');
    const malformed = await t.img('PATCH', `/v2/images/${img.id}`, { token: t.a.member, raw: '[{', headers: { 'content-type': PATCH } });
    assertGlanceError(malformed, 400, 'Malformed JSON');
    // nothing of the above changed the image
    const after = await t.img('GET', `/v2/images/${img.id}`, { token: t.a.member });
    assert.equal(after.body.name, img.name);
    assert.equal(after.body.visibility, 'shared');
    assert.equal(after.body.updated_at, img.updated_at);
  });

  it('lets only members of the owning project (or admins) change and delete; readers read', async () => {
    const img = await t.create(t.a.member, { visibility: 'private' });
    assertGlanceError(await t.patch(t.a.reader, img.id, [{ op: 'replace', path: '/name', value: 'r' }]), 403);
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}`, { token: t.a.reader }), 403);
    // another project's private image does not exist for project B
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}`, { token: t.b.member }), 404);
    assertGlanceError(await t.patch(t.b.member, img.id, [{ op: 'replace', path: '/name', value: 'b' }]), 404);
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}`, { token: t.b.member }), 404);
    const admin = await t.patch(t.admin, img.id, [{ op: 'replace', path: '/owner', value: t.b.id }]);
    assert.equal(admin.body.owner, t.b.id);
    assert.equal((await t.img('GET', `/v2/images/${img.id}`, { token: t.b.reader })).status, 200);
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}`, { token: t.a.member }), 404);
  });

  it('publicizes only as admin; public images are readable by every project, changeable by none', async () => {
    const img = await t.create(t.a.member);
    assertGlanceError(await t.patch(t.a.member, img.id, [{ op: 'replace', path: '/visibility', value: 'public' }]), 403);
    assert.equal((await t.patch(t.admin, img.id, [{ op: 'replace', path: '/visibility', value: 'public' }])).body.visibility, 'public');
    assert.equal((await t.img('GET', `/v2/images/${img.id}`, { token: t.b.reader })).status, 200);
    assertGlanceError(await t.patch(t.b.member, img.id, [{ op: 'replace', path: '/name', value: 'mine' }]), 403);
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}`, { token: t.b.member }), 403);
  });

  it('protects protected images from deletion and deletes the rest (404 afterwards)', async () => {
    const img = await t.create(t.a.member, { protected: true });
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}`, { token: t.a.member }), 403, `Image ${img.id} is protected and cannot be deleted.`);
    await t.patch(t.a.member, img.id, [{ op: 'replace', path: '/protected', value: false }]);
    assert.equal((await t.img('DELETE', `/v2/images/${img.id}`, { token: t.a.member })).status, 204);
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}`, { token: t.a.member }), 404);
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}`, { token: t.a.member }), 404);
  });

  it('adds and removes tags', async () => {
    const img = await t.create(t.a.member);
    assert.equal((await t.img('PUT', `/v2/images/${img.id}/tags/red`, { token: t.a.member })).status, 204);
    assert.equal((await t.img('PUT', `/v2/images/${img.id}/tags/red`, { token: t.a.member })).status, 204);
    assert.equal((await t.img('PUT', `/v2/images/${img.id}/tags/blue`, { token: t.a.member })).status, 204);
    assert.deepEqual((await t.img('GET', `/v2/images/${img.id}`, { token: t.a.member })).body.tags, ['blue', 'red']);
    assert.equal((await t.img('DELETE', `/v2/images/${img.id}/tags/red`, { token: t.a.member })).status, 204);
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}/tags/red`, { token: t.a.member }), 404);
    assertGlanceError(await t.img('PUT', `/v2/images/${randomUUID()}/tags/x`, { token: t.a.member }), 404);
    assertGlanceError(await t.img('PUT', `/v2/images/${img.id}/tags/x`, { token: t.a.reader }), 403, 'Not allowed to update tags');
    assertGlanceError(await t.img('PUT', `/v2/images/${img.id}/tags/${'t'.repeat(256)}`, { token: t.a.member }), 400, 'is too long');
  });

  it('deactivates and reactivates active images only', async () => {
    const img = await t.create(t.a.member);
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/actions/deactivate`, { token: t.a.member }), 403, "Not allowed to deactivate image in status 'queued'");
    assert.equal((await t.upload(t.a.member, img.id, Buffer.from('data'))).status, 204);
    assert.equal((await t.img('POST', `/v2/images/${img.id}/actions/deactivate`, { token: t.a.member })).status, 204);
    assert.equal((await t.img('GET', `/v2/images/${img.id}`, { token: t.a.member })).body.status, 'deactivated');
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}/file`, { token: t.a.member }), 403, 'deactivated');
    assert.equal((await t.img('GET', `/v2/images/${img.id}/file`, { token: t.admin })).body, 'data');
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/actions/reactivate`, { token: t.a.reader }), 403);
    assert.equal((await t.img('POST', `/v2/images/${img.id}/actions/reactivate`, { token: t.a.member })).status, 204);
    assert.equal((await t.img('GET', `/v2/images/${img.id}/file`, { token: t.a.member })).body, 'data');
  });

  it('hides os_hidden images from the default list but shows them when asked', async () => {
    const hidden = await t.create(t.a.member, { os_hidden: true });
    const list = await t.img('GET', '/v2/images?limit=1000', { token: t.a.member });
    assert.ok(!list.body.images.some((i: { id: string }) => i.id === hidden.id));
    const shown = await t.img('GET', '/v2/images?os_hidden=true', { token: t.a.member });
    assert.deepEqual(shown.body.images.map((i: { id: string }) => i.id), [hidden.id]);
    assertGlanceError(await t.img('GET', '/v2/images?os_hidden=maybe', { token: t.a.member }), 400, "Invalid value 'maybe' for 'os_hidden' filter");
    assert.equal((await t.img('GET', `/v2/images/${hidden.id}`, { token: t.a.member })).body.os_hidden, true);
  });
});
