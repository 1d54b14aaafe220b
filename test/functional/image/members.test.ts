import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeProject, assertGlanceError, startImageCloud, type ImageCloud, type TestProject } from '../../helpers/image.js';

const ids = (r: { body: { images: { id: string }[] } }) => r.body.images.map((i) => i.id);

describe('image: members (sharing)', () => {
  let t: ImageCloud;
  let c3: TestProject;

  before(async () => {
    t = await startImageCloud();
    c3 = await makeProject(t.c, t.admin);
  });
  after(() => t.stop());

  it('shares an image: pending members can see it but not list it; accepted ones list it; rejected ones do not', async () => {
    const img = await t.create(t.a.member);
    await t.upload(t.a.member, img.id, Buffer.from('shared bytes'));
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}`, { token: t.b.member }), 404);
    const add = await t.img('POST', `/v2/images/${img.id}/members`, { token: t.a.member, body: { member: t.b.id } });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    assert.deepEqual(Object.keys(add.body).sort(), ['created_at', 'image_id', 'member_id', 'schema', 'status', 'updated_at']);
    assert.equal(add.body.status, 'pending');
    assert.equal(add.body.member_id, t.b.id);
    assert.equal(add.body.schema, '/v2/schemas/member');
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/members`, { token: t.a.member, body: { member: t.b.id } }), 409, 'is duplicated');

    // pending: visible by id and downloadable, not in the default list; listed with member_status
    assert.equal((await t.img('GET', `/v2/images/${img.id}`, { token: t.b.reader })).status, 200);
    assert.equal((await t.img('GET', `/v2/images/${img.id}/file`, { token: t.b.member })).body, 'shared bytes');
    assert.ok(!ids(await t.img('GET', '/v2/images', { token: t.b.member })).includes(img.id));
    assert.deepEqual(ids(await t.img('GET', '/v2/images?member_status=pending&visibility=shared', { token: t.b.member })), [img.id]);
    assert.ok(ids(await t.img('GET', '/v2/images?member_status=all', { token: t.b.member })).includes(img.id));

    // the owner cannot accept for the member; the member accepts
    assertGlanceError(await t.img('PUT', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.a.member, body: { status: 'accepted' } }), 403);
    assertGlanceError(await t.img('PUT', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.b.member, body: { status: 'maybe' } }), 400, 'Status must be');
    assertGlanceError(await t.img('PUT', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.b.member, body: {} }), 400, 'Status not specified');
    assertGlanceError(await t.img('PUT', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.b.reader, body: { status: 'accepted' } }), 403);
    const acc = await t.img('PUT', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.b.member, body: { status: 'accepted' } });
    assert.equal(acc.status, 200);
    assert.equal(acc.body.status, 'accepted');
    assert.ok(ids(await t.img('GET', '/v2/images', { token: t.b.member })).includes(img.id));

    // the member sees only its own membership; the owner sees all; others see nothing
    await t.img('POST', `/v2/images/${img.id}/members`, { token: t.a.member, body: { member: c3.id } });
    const asOwner = await t.img('GET', `/v2/images/${img.id}/members`, { token: t.a.reader });
    assert.deepEqual(asOwner.body.members.map((m: { member_id: string }) => m.member_id).sort(), [t.b.id, c3.id].sort());
    assert.equal(asOwner.body.schema, '/v2/schemas/members');
    const asMember = await t.img('GET', `/v2/images/${img.id}/members`, { token: t.b.reader });
    assert.deepEqual(asMember.body.members.map((m: { member_id: string }) => m.member_id), [t.b.id]);
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}/members/${c3.id}`, { token: t.b.member }), 404);
    assert.equal((await t.img('GET', `/v2/images/${img.id}/members/${c3.id}`, { token: t.a.member })).body.status, 'pending');

    // a member cannot change, share on, or delete the image; the owner removes members
    assertGlanceError(await t.patch(t.b.member, img.id, [{ op: 'replace', path: '/name', value: 'x' }]), 403);
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/members`, { token: t.b.member, body: { member: t.b.id } }), 403);
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.b.member }), 403);
    assert.equal((await t.img('DELETE', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.a.member })).status, 204);
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}`, { token: t.b.member }), 404);
    assertGlanceError(await t.img('DELETE', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.a.member }), 404);

    // rejected: visible by id, never listed by default
    const rej = await t.img('PUT', `/v2/images/${img.id}/members/${c3.id}`, { token: c3.member, body: { status: 'rejected' } });
    assert.equal(rej.body.status, 'rejected');
    assert.ok(!ids(await t.img('GET', '/v2/images', { token: c3.member })).includes(img.id));
    assert.deepEqual(ids(await t.img('GET', '/v2/images?visibility=shared&member_status=rejected', { token: c3.member })), [img.id]);
  });

  it('has members only for shared images, and checks member bodies', async () => {
    const priv = await t.create(t.a.member, { visibility: 'private' });
    assertGlanceError(await t.img('POST', `/v2/images/${priv.id}/members`, { token: t.a.member, body: { member: t.b.id } }), 403, 'Not allowed to create members');
    assertGlanceError(await t.img('GET', `/v2/images/${priv.id}/members`, { token: t.a.member }), 403, 'Only shared images have members.');
    const img = await t.create(t.a.member);
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/members`, { token: t.a.member, body: {} }), 400, 'Member to be added not specified');
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/members`, { token: t.a.member, body: { member: '' } }), 400, "Member can't be empty");
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/members`, { token: t.a.reader, body: { member: t.b.id } }), 403);
    assertGlanceError(await t.img('POST', `/v2/images/${img.id}/members`, { token: t.b.member, body: { member: t.b.id } }), 404);
    // switching a shared image to private hides it from its members (memberships are kept)
    await t.img('POST', `/v2/images/${img.id}/members`, { token: t.a.member, body: { member: t.b.id } });
    assert.equal((await t.img('GET', `/v2/images/${img.id}`, { token: t.b.member })).status, 200);
    await t.patch(t.a.member, img.id, [{ op: 'replace', path: '/visibility', value: 'private' }]);
    assertGlanceError(await t.img('GET', `/v2/images/${img.id}`, { token: t.b.member }), 404);
    await t.patch(t.a.member, img.id, [{ op: 'replace', path: '/visibility', value: 'shared' }]);
    assert.equal((await t.img('GET', `/v2/images/${img.id}`, { token: t.b.member })).status, 200);
  });

  it('lets admins manage any image\'s members', async () => {
    const img = await t.create(t.a.member);
    const add = await t.img('POST', `/v2/images/${img.id}/members`, { token: t.admin, body: { member: t.b.id } });
    assert.equal(add.status, 200);
    assert.equal((await t.img('GET', `/v2/images/${img.id}/members`, { token: t.admin })).body.members.length, 1);
    assert.equal((await t.img('DELETE', `/v2/images/${img.id}/members/${t.b.id}`, { token: t.admin })).status, 204);
  });
});
