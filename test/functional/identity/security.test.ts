import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

/** Members see their own things only; admin-only APIs say 403 to them, in Keystone's format. */
describe('identity: isolation between projects and personas', () => {
  let c: TestCloud;
  let admin: string;
  let alice: { id: string; token: string; project: string };
  let bob: { id: string; token: string; project: string };

  const makeMember = async () => {
    const name = uniq('user');
    const project = (await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: uniq('proj'), domain_id: 'default' } } })).body.project.id;
    const user = (await c.request('POST', '/v3/users', { token: admin, body: { user: { name, password: 'secret-pw', domain_id: 'default' } } })).body.user.id;
    const member = (await c.request('GET', '/v3/roles?name=member', { token: admin })).body.roles[0].id;
    assert.equal((await c.request('PUT', `/v3/projects/${project}/users/${user}/roles/${member}`, { token: admin })).status, 204);
    const r = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: user, password: 'secret-pw' } } }, scope: { project: { id: project } } } } });
    assert.equal(r.status, 201);
    return { id: user, token: r.headers.get('x-subject-token')!, project };
  };

  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    alice = await makeMember();
    bob = await makeMember();
  });
  after(() => c.stop());

  it('lets a member read its own project and user, not another one', async () => {
    assert.equal((await c.request('GET', `/v3/projects/${alice.project}`, { token: alice.token })).status, 200);
    const other = await c.request('GET', `/v3/projects/${bob.project}`, { token: alice.token });
    assert.equal(other.status, 403);
    assert.equal(other.body.error.code, 403);
    assert.equal(other.body.error.title, 'Forbidden');
    assert.equal((await c.request('GET', `/v3/users/${alice.id}`, { token: alice.token })).status, 200);
    assert.equal((await c.request('GET', `/v3/users/${bob.id}`, { token: alice.token })).status, 403);
  });

  it('refuses admin APIs to members', async () => {
    for (const [m, p, body] of [
      ['GET', '/v3/projects', undefined],
      ['GET', '/v3/users', undefined],
      ['POST', '/v3/projects', { project: { name: uniq('x') } }],
      ['POST', '/v3/users', { user: { name: uniq('x') } }],
      ['DELETE', `/v3/projects/${bob.project}`, undefined],
      ['PUT', `/v3/projects/${alice.project}/users/${alice.id}/roles/whatever`, undefined],
    ] as const) {
      const r = await c.request(m, p, { token: alice.token, body });
      assert.ok(r.status === 403 || r.status === 404, `${m} ${p} gave ${r.status}`);
      assert.ok(r.body.error.message.length > 0);
    }
  });

  it('does not let a member validate another user\'s token, but its own', async () => {
    assert.equal((await c.request('GET', '/v3/auth/tokens', { token: alice.token, headers: { 'x-subject-token': alice.token } })).status, 200);
    assert.equal((await c.request('GET', '/v3/auth/tokens', { token: alice.token, headers: { 'x-subject-token': bob.token } })).status, 403);
  });

  it('lists only the caller\'s projects at /v3/auth/projects and /v3/users/{id}/projects', async () => {
    const mine = (await c.request('GET', '/v3/auth/projects', { token: alice.token })).body.projects.map((p: { id: string }) => p.id);
    assert.deepEqual(mine, [alice.project]);
    assert.equal((await c.request('GET', `/v3/users/${bob.id}/projects`, { token: alice.token })).status, 403);
  });

  it('refuses a token for a project where the user has no role', async () => {
    const r = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id: alice.id, password: 'secret-pw' } } }, scope: { project: { id: bob.project } } } } });
    assert.equal(r.status, 401);
  });

  it('kills tokens when the role is removed, the user disabled or the project disabled', async () => {
    const carol = await makeMember();
    assert.equal((await c.request('GET', `/v3/projects/${carol.project}`, { token: carol.token })).status, 200);
    const member = (await c.request('GET', '/v3/roles?name=member', { token: admin })).body.roles[0].id;
    assert.equal((await c.request('DELETE', `/v3/projects/${carol.project}/users/${carol.id}/roles/${member}`, { token: admin })).status, 204);
    assert.equal((await c.request('GET', `/v3/projects/${carol.project}`, { token: carol.token })).status, 401);

    const dave = await makeMember();
    assert.equal((await c.request('PATCH', `/v3/users/${dave.id}`, { token: admin, body: { user: { enabled: false } } })).status, 200);
    assert.equal((await c.request('GET', `/v3/auth/projects`, { token: dave.token })).status, 401);

    const erin = await makeMember();
    assert.equal((await c.request('PATCH', `/v3/projects/${erin.project}`, { token: admin, body: { project: { enabled: false } } })).status, 200);
    assert.equal((await c.request('GET', `/v3/auth/projects`, { token: erin.token })).status, 401);
  });

  it('answers unknown ids with 404 and duplicates with 409', async () => {
    assert.equal((await c.request('GET', '/v3/projects/nope', { token: admin })).status, 404);
    assert.equal((await c.request('GET', '/v3/users/nope', { token: admin })).status, 404);
    const name = uniq('dup');
    assert.equal((await c.request('POST', '/v3/projects', { token: admin, body: { project: { name } } })).status, 201);
    const dup = await c.request('POST', '/v3/projects', { token: admin, body: { project: { name } } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.title, 'Conflict');
    assert.equal((await c.request('POST', '/v3/users', { token: admin, body: { user: { name: uniq('u'), domain_id: 'nope' } } })).status, 404);
  });
});
