import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

describe('identity: tokens', () => {
  let c: TestCloud;
  let admin: string;
  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
  });
  after(() => c.stop());

  it('issues a project-scoped token with roles and catalog', async () => {
    const r = await c.request('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: c.cloud.admin.password } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } },
    });
    assert.equal(r.status, 201);
    assert.match(r.headers.get('x-subject-token')!, /^gAAAAA/);
    assert.match(r.headers.get('x-openstack-request-id')!, /^req-[0-9a-f-]{36}$/);
    const t = r.body.token;
    assert.equal(t.project.name, 'admin');
    assert.deepEqual(t.roles.map((x: { name: string }) => x.name).sort(), ['admin', 'member', 'reader']);
    assert.ok(t.catalog.some((s: { type: string }) => s.type === 'identity'));
    assert.deepEqual(t.methods, ['password']);
    assert.ok(Date.parse(t.expires_at) > Date.now());
  });

  it('validates, checks and revokes a token', async () => {
    const tok = await c.token('demo', c.cloud.demo.password, 'demo');
    const v = await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': tok } });
    assert.equal(v.status, 200);
    assert.equal(v.body.token.user.name, 'demo');
    const nocat = await c.request('GET', '/v3/auth/tokens?nocatalog', { token: admin, headers: { 'x-subject-token': tok } });
    assert.equal(nocat.body.token.catalog, undefined);
    assert.equal((await c.request('HEAD', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': tok } })).status, 200);
    assert.equal((await c.request('DELETE', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': tok } })).status, 204);
    const after = await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': tok } });
    assert.equal(after.status, 404);
    assert.equal(after.body.error.code, 404);
    assert.equal((await c.request('GET', '/v3/projects', { token: tok })).status, 401);
  });

  it('answers wrong passwords, unknown users and garbage tokens with 401', async () => {
    const wrong = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { id: 'default' }, password: 'nope' } } } } } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(Object.keys(wrong.body.error).sort(), ['code', 'message', 'title']);
    const unknown = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { name: uniq('ghost'), domain: { id: 'default' }, password: 'x' } } } } } });
    assert.equal(unknown.status, 401);
    assert.equal((await c.request('GET', '/v3/users', { token: 'gAAAAAgarbage' })).status, 401);
    assert.equal((await c.request('GET', '/v3/users')).status, 401);
  });

  it('rejects malformed JSON and wrong types with 400 in Keystone format', async () => {
    const bad = await c.request('POST', '/v3/auth/tokens', { raw: '{"auth": ' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.title, 'Bad Request');
    const types = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: 'password' } } } });
    assert.equal(types.status, 400);
    const proj = await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: 42 } } });
    assert.equal(proj.status, 400);
  });

  it('keeps the original expiry when rescoping and rejects an expired token', async () => {
    const unscoped = await c.token('admin', c.cloud.admin.password);
    const v = await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': unscoped } });
    const r = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: unscoped } }, scope: { project: { name: 'demo', domain: { id: 'default' } } } } } });
    // admin has no role on demo: rescoping there is refused
    assert.equal(r.status, 401);
    const ok = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['token'], token: { id: unscoped } }, scope: { domain: { id: 'default' } } } } });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.token.expires_at, v.body.token.expires_at);
    assert.equal(ok.body.token.audit_ids[1], v.body.token.audit_ids[0]);
  });
});

describe('identity: short-lived tokens', () => {
  it('refuses a token once it has expired', async () => {
    const c = await startTestCloud({ identity: { tokenExpiration: 1 } });
    try {
      const t = await c.token('demo', c.cloud.demo.password, 'demo');
      assert.equal((await c.request('GET', '/v3/auth/projects', { token: t })).status, 200);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await c.request('GET', '/v3/auth/projects', { token: t })).status, 401);
    } finally {
      await c.stop();
    }
  });
});
