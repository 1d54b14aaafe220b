import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeUser, startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

const appCredAuth = (id: string, secret: string) => ({ auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } });

/** Python's datetime.isoformat() of a naive UTC instant with microseconds (what Tempest sends). */
const pyIso = (ms: number, micros = '123456') => new Date(ms).toISOString().slice(0, 19) + '.' + micros;

describe('identity: application credentials', () => {
  let c: TestCloud;
  let admin: string;
  let projectId: string;
  let projectName: string;
  let alice: { id: string; name: string; password: string };
  let bob: { id: string; name: string; password: string };
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    projectName = uniq('proj');
    const p = await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: projectName, domain_id: 'default' } } });
    projectId = p.body.project.id;
    alice = await makeUser(c, admin, projectId, ['member']);
    bob = await makeUser(c, admin, projectId, ['member']);
    aliceToken = await c.token(alice.name, alice.password, projectName);
    bobToken = await c.token(bob.name, bob.password, projectName);
  });
  after(() => c.stop());

  const create = (token: string, userId: string, body: Record<string, unknown>) =>
    c.request('POST', `/v3/users/${userId}/application_credentials`, { token, body: { application_credential: body } });

  it('creates one with the token\'s roles, shows the secret once, and lists it', async () => {
    const name = uniq('ac');
    const r = await create(aliceToken, alice.id, { name, description: 'monitoring' });
    assert.equal(r.status, 201);
    const ac = r.body.application_credential;
    assert.equal(ac.name, name);
    assert.equal(ac.description, 'monitoring');
    assert.equal(ac.project_id, projectId);
    assert.equal(ac.user_id, alice.id);
    assert.equal(ac.unrestricted, false);
    assert.equal(ac.expires_at, null);
    assert.equal(typeof ac.secret, 'string');
    assert.ok(ac.secret.length >= 80, 'generated secret is 64 random bytes');
    assert.deepEqual(ac.roles.map((x: { name: string }) => x.name).sort(), ['member', 'reader']);
    assert.equal(ac.access_rules, undefined);
    assert.match(ac.links.self, new RegExp(`/v3/users/${alice.id}/application_credentials/${ac.id}$`));

    const shown = await c.request('GET', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: aliceToken });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.application_credential.secret, undefined);
    assert.equal(shown.body.application_credential.name, name);

    await create(aliceToken, alice.id, { name: uniq('other') });
    const all = await c.request('GET', `/v3/users/${alice.id}/application_credentials`, { token: aliceToken });
    assert.equal(all.status, 200);
    assert.ok(all.body.application_credentials.length >= 2);
    assert.ok(all.body.application_credentials.every((x: { secret?: string }) => x.secret === undefined));
    const byName = await c.request('GET', `/v3/users/${alice.id}/application_credentials?name=${name}`, { token: aliceToken });
    assert.deepEqual(byName.body.application_credentials.map((x: { id: string }) => x.id), [ac.id]);
  });

  it('authenticates by id and by name, scoped to its project with its roles only', async () => {
    const reader = await create(aliceToken, alice.id, { name: uniq('ro'), secret: 'my-own-secret', roles: [{ name: 'reader' }] });
    assert.equal(reader.status, 201);
    assert.equal(reader.body.application_credential.secret, 'my-own-secret');
    assert.deepEqual(reader.body.application_credential.roles.map((x: { name: string }) => x.name), ['reader']);
    const id = reader.body.application_credential.id;

    const t = await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(id, 'my-own-secret') });
    assert.equal(t.status, 201);
    assert.equal(t.body.token.project.id, projectId);
    assert.equal(t.body.token.user.id, alice.id);
    assert.deepEqual(t.body.token.methods, ['application_credential']);
    assert.deepEqual(t.body.token.roles.map((x: { name: string }) => x.name), ['reader']);
    assert.equal(t.body.token.application_credential.id, id);
    assert.equal(t.body.token.application_credential.restricted, true);
    const appToken = t.headers.get('x-subject-token')!;
    // The reader-only token works, and is refused what needs more (creating a project needs admin anyway).
    assert.equal((await c.request('GET', `/v3/users/${alice.id}`, { token: appToken })).status, 200);

    const byName = await c.request('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['application_credential'], application_credential: { name: reader.body.application_credential.name, secret: 'my-own-secret', user: { name: alice.name, domain: { id: 'default' } } } } } },
    });
    assert.equal(byName.status, 201);
    assert.equal(byName.body.token.application_credential.id, id);

    const wrong = await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(id, 'not-the-secret') });
    assert.equal(wrong.status, 401);
    assert.deepEqual(Object.keys(wrong.body.error).sort(), ['code', 'message', 'title']);
    assert.equal((await c.request('POST', '/v3/auth/tokens', { body: appCredAuth('0'.repeat(32), 'x') })).status, 401);
    // An app-cred token cannot ask for another scope.
    const scoped = await c.request('POST', '/v3/auth/tokens', { body: { auth: { ...appCredAuth(id, 'my-own-secret').auth, scope: { project: { id: projectId } } } } });
    assert.equal(scoped.status, 401);
  });

  it('refuses roles the token does not carry, unknown role names and duplicate names', async () => {
    const adminRole = (await c.request('GET', '/v3/roles?name=admin', { token: admin })).body.roles[0];
    const notHeld = await create(aliceToken, alice.id, { name: uniq('x'), roles: [{ id: adminRole.id }] });
    assert.equal(notHeld.status, 400);
    assert.match(notHeld.body.error.message, /unassigned role/);
    const unknown = await create(aliceToken, alice.id, { name: uniq('x'), roles: [{ name: uniq('nope') }] });
    assert.equal(unknown.status, 404);
    const name = uniq('dup');
    assert.equal((await create(aliceToken, alice.id, { name })).status, 201);
    const dup = await create(aliceToken, alice.id, { name });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.title, 'Conflict');
    // The same name is fine for another user.
    assert.equal((await create(bobToken, bob.id, { name })).status, 201);
  });

  it('answers bad input with 400 in Keystone\'s error format', async () => {
    const cases: unknown[] = [
      {},
      { application_credential: {} },
      { application_credential: { name: '' } },
      { application_credential: { name: 42 } },
      { application_credential: { name: 'x', unrestricted: 'yes' } },
      { application_credential: { name: 'x', roles: [{ id: 'a', name: 'b' }] } },
      { application_credential: { name: 'x', roles: [{ foo: 'a' }] } },
      { application_credential: { name: 'x', access_rules: [{ service: 'compute', path: 'no-slash', method: 'GET' }] } },
      { application_credential: { name: 'x', access_rules: [{ service: 'compute', path: '/v2.1/servers', method: 'FETCH' }] } },
      { application_credential: { name: 'x', expires_at: 'tomorrow' } },
      { application_credential: { name: 'x', expires_at: '2001-01-01T00:00:00' } },
    ];
    for (const body of cases) {
      const r = await c.request('POST', `/v3/users/${alice.id}/application_credentials`, { token: aliceToken, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 400);
      assert.equal(r.body.error.title, 'Bad Request');
      assert.equal(typeof r.body.error.message, 'string');
    }
    const raw = await c.request('POST', `/v3/users/${alice.id}/application_credentials`, { token: aliceToken, raw: '{"application_credential": ' });
    assert.equal(raw.status, 400);
  });

  it('keeps expires_at to the microsecond and refuses the credential once expired', async () => {
    const later = pyIso(Date.now() + 3600_000);
    const r = await create(aliceToken, alice.id, { name: uniq('exp'), expires_at: later });
    assert.equal(r.status, 201);
    assert.equal(r.body.application_credential.expires_at, later);
    const withZone = await create(aliceToken, alice.id, { name: uniq('exp'), expires_at: '2999-01-01T02:00:00.5+02:00' });
    assert.equal(withZone.body.application_credential.expires_at, '2999-01-01T00:00:00.500000');

    const soon = await create(aliceToken, alice.id, { name: uniq('soon'), expires_at: new Date(Date.now() + 1500).toISOString() });
    assert.equal(soon.status, 201);
    const { id, secret } = soon.body.application_credential;
    const t = await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(id, secret) });
    assert.equal(t.status, 201);
    const appToken = t.headers.get('x-subject-token')!;
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: appToken })).status, 200);
    await new Promise((res) => setTimeout(res, 1700));
    assert.equal((await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(id, secret) })).status, 401);
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: appToken })).status, 401);
  });

  it('lets only an unrestricted app-cred token manage application credentials', async () => {
    const restricted = (await create(aliceToken, alice.id, { name: uniq('r') })).body.application_credential;
    const rTok = (await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(restricted.id, restricted.secret) })).headers.get('x-subject-token')!;
    const refused = await create(rTok, alice.id, { name: uniq('child') });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.title, 'Forbidden');
    assert.equal((await c.request('DELETE', `/v3/users/${alice.id}/application_credentials/${restricted.id}`, { token: rTok })).status, 403);
    // Reading is still allowed.
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/application_credentials`, { token: rTok })).status, 200);

    const open = (await create(aliceToken, alice.id, { name: uniq('u'), unrestricted: true })).body.application_credential;
    assert.equal(open.unrestricted, true);
    const uTok = (await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(open.id, open.secret) })).headers.get('x-subject-token')!;
    const child = await create(uTok, alice.id, { name: uniq('child') });
    assert.equal(child.status, 201);
    assert.equal(child.body.application_credential.project_id, projectId);
  });

  it('deletes a credential and kills the tokens issued from it', async () => {
    const ac = (await create(aliceToken, alice.id, { name: uniq('del') })).body.application_credential;
    const t = (await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(ac.id, ac.secret) })).headers.get('x-subject-token')!;
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: t })).status, 200);
    assert.equal((await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } })).status, 200);
    assert.equal((await c.request('DELETE', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: aliceToken })).status, 204);
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: t })).status, 401);
    assert.equal((await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': t } })).status, 404);
    assert.equal((await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(ac.id, ac.secret) })).status, 401);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: aliceToken })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: aliceToken })).status, 404);
  });

  it('keeps one user\'s credentials from another; admins see them', async () => {
    const ac = (await create(aliceToken, alice.id, { name: uniq('mine') })).body.application_credential;
    assert.equal((await create(bobToken, alice.id, { name: uniq('theirs') })).status, 403);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/application_credentials`, { token: bobToken })).status, 403);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: bobToken })).status, 403);
    // Naming their own user in the path does not help: the credential's owner is what counts.
    assert.equal((await c.request('GET', `/v3/users/${bob.id}/application_credentials/${ac.id}`, { token: bobToken })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/users/${bob.id}/application_credentials/${ac.id}`, { token: bobToken })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: bobToken })).status, 403);
    const bobList = await c.request('GET', `/v3/users/${bob.id}/application_credentials`, { token: bobToken });
    assert.ok(!bobList.body.application_credentials.some((x: { id: string }) => x.id === ac.id));

    const asAdmin = await c.request('GET', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: admin });
    assert.equal(asAdmin.status, 200);
    assert.equal(asAdmin.body.application_credential.secret, undefined);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/application_credentials`, { token: admin })).status, 200);
    // Even an admin cannot create one for somebody else.
    assert.equal((await create(admin, alice.id, { name: uniq('adm') })).status, 403);
    // Still there for its owner.
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/application_credentials/${ac.id}`, { token: aliceToken })).status, 200);
  });

  it('stores access rules per user, shares them, and deletes them only when unused', async () => {
    const rules = [{ path: '/v2.1/servers/*/ips', method: 'GET', service: 'compute' }];
    const a = await create(aliceToken, alice.id, { name: uniq('ar'), access_rules: rules });
    assert.equal(a.status, 201);
    const got = a.body.application_credential.access_rules;
    assert.equal(got.length, 1);
    const { id: ruleId, ...rest } = got[0];
    assert.deepEqual(rest, rules[0]);
    const b = await create(aliceToken, alice.id, { name: uniq('ar'), access_rules: rules });
    assert.equal(b.body.application_credential.access_rules[0].id, ruleId, 'the same rule is shared');
    const byId = await create(aliceToken, alice.id, { name: uniq('ar'), access_rules: [{ id: ruleId }] });
    assert.equal(byId.status, 201);
    assert.equal(byId.body.application_credential.access_rules[0].path, '/v2.1/servers/*/ips');

    const t = await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(a.body.application_credential.id, a.body.application_credential.secret) });
    assert.deepEqual(t.body.token.application_credential.access_rules, [{ id: ruleId, ...rules[0] }]);

    const list = await c.request('GET', `/v3/users/${alice.id}/access_rules`, { token: aliceToken });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.access_rules.map((r: { id: string }) => r.id), [ruleId]);
    const one = await c.request('GET', `/v3/users/${alice.id}/access_rules/${ruleId}`, { token: aliceToken });
    assert.equal(one.status, 200);
    assert.equal(one.body.access_rule.service, 'compute');

    // Another user neither sees nor reaches it.
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/access_rules`, { token: bobToken })).status, 403);
    assert.equal((await c.request('GET', `/v3/users/${bob.id}/access_rules/${ruleId}`, { token: bobToken })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/users/${bob.id}/access_rules/${ruleId}`, { token: bobToken })).status, 404);
    assert.equal((await create(bobToken, bob.id, { name: uniq('steal'), access_rules: [{ id: ruleId }] })).status, 400);

    const inUse = await c.request('DELETE', `/v3/users/${alice.id}/access_rules/${ruleId}`, { token: aliceToken });
    assert.equal(inUse.status, 403);
    for (const ac of [a, b, byId]) {
      assert.equal((await c.request('DELETE', `/v3/users/${alice.id}/application_credentials/${ac.body.application_credential.id}`, { token: aliceToken })).status, 204);
    }
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/access_rules`, { token: aliceToken })).body.access_rules.length, 1);
    assert.equal((await c.request('DELETE', `/v3/users/${alice.id}/access_rules/${ruleId}`, { token: aliceToken })).status, 204);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/access_rules`, { token: aliceToken })).body.access_rules.length, 0);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/access_rules/${ruleId}`, { token: aliceToken })).status, 404);
  });

  it('drops a deleted user\'s credentials', async () => {
    const carol = await makeUser(c, admin, projectId, ['member']);
    const tok = await c.token(carol.name, carol.password, projectName);
    const ac = (await create(tok, carol.id, { name: uniq('gone') })).body.application_credential;
    assert.equal((await c.request('DELETE', `/v3/users/${carol.id}`, { token: admin })).status, 204);
    assert.equal((await c.request('POST', '/v3/auth/tokens', { body: appCredAuth(ac.id, ac.secret) })).status, 401);
    assert.equal((await c.request('GET', `/v3/users/${carol.id}/application_credentials/${ac.id}`, { token: admin })).status, 404);
  });
});
