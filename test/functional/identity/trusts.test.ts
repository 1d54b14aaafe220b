import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('identity: trusts (OS-TRUST)', () => {
  let c: TestCloud;
  let admin: string;
  let projectId: string;
  let projectName: string;
  const users: Record<string, { id: string; name: string; password: string }> = {};
  const roles: Record<string, { id: string; name: string }> = {};
  let trustorTok: string;
  let trusteeTok: string;
  let strangerTok: string;

  const createUser = async (key: string) => {
    const name = uniq(key);
    const password = `pw-${uniq()}`;
    const r = await c.request('POST', '/v3/users', { token: admin, body: { user: { name, password, domain_id: 'default' } } });
    assert.equal(r.status, 201);
    users[key] = { id: r.body.user.id, name, password };
  };
  const createRole = async (key: string) => {
    const r = await c.request('POST', '/v3/roles', { token: admin, body: { role: { name: uniq(key) } } });
    assert.equal(r.status, 201);
    roles[key] = { id: r.body.role.id, name: r.body.role.name };
  };
  const grant = async (userKey: string, roleKey: string) => {
    const r = await c.request('PUT', `/v3/projects/${projectId}/users/${users[userKey].id}/roles/${roles[roleKey].id}`, { token: admin });
    assert.equal(r.status, 204);
  };
  const createTrust = (body: Record<string, unknown>, token = trustorTok) => c.request('POST', '/v3/OS-TRUST/trusts', {
    token,
    body: {
      trust: {
        trustor_user_id: users.trustor.id, trustee_user_id: users.trustee.id, project_id: projectId,
        impersonation: true, roles: [{ name: roles.delegated.name }], ...body,
      },
    },
  });
  /** A trust-scoped token for the trustee (or another user), from a password. */
  const trustToken = (trustId: string, who = users.trustee) => c.request('POST', '/v3/auth/tokens', {
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { id: who.id, password: who.password } } },
        scope: { 'OS-TRUST:trust': { id: trustId } },
      },
    },
  });

  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    projectName = uniq('trustproj');
    const p = await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: projectName, domain_id: 'default' } } });
    assert.equal(p.status, 201);
    projectId = p.body.project.id;
    for (const u of ['trustor', 'trustee', 'stranger']) await createUser(u);
    for (const r of ['delegated', 'kept', 'other']) await createRole(r);
    await grant('trustor', 'delegated');
    await grant('trustor', 'kept');
    await grant('trustee', 'other');
    await grant('stranger', 'other');
    trustorTok = await c.token(users.trustor.name, users.trustor.password, projectName);
    trusteeTok = await c.token(users.trustee.name, users.trustee.password, projectName);
    strangerTok = await c.token(users.stranger.name, users.stranger.password, projectName);
  });
  after(() => c.stop());

  it('creates and shows an impersonating trust (Tempest test_trust_impersonate)', async () => {
    const r = await createTrust({});
    assert.equal(r.status, 201);
    const t = r.body.trust;
    assert.match(t.id, /^[0-9a-f]{32}$/);
    assert.equal(t.impersonation, true);
    assert.equal(t.expires_at, null);
    assert.equal(t.remaining_uses, null);
    assert.equal(t.trustor_user_id, users.trustor.id);
    assert.equal(t.trustee_user_id, users.trustee.id);
    assert.equal(t.project_id, projectId);
    assert.ok(t.links.self.endsWith(`/v3/OS-TRUST/trusts/${t.id}`));
    assert.deepEqual(t.roles.map((x: { name: string }) => x.name), [roles.delegated.name]);
    assert.ok(t.roles[0].links.self.endsWith(`/v3/roles/${roles.delegated.id}`));
    assert.deepEqual(Object.keys(t.roles_links).sort(), ['next', 'previous', 'self']);

    for (const tok of [trustorTok, trusteeTok, admin]) {
      const g = await c.request('GET', `/v3/OS-TRUST/trusts/${t.id}`, { token: tok });
      assert.equal(g.status, 200);
      assert.equal(g.body.trust.id, t.id);
      assert.equal(g.body.trust.roles.length, 1);
      assert.equal(g.body.trust.roles[0].id, roles.delegated.id);
    }
    const stranger = await c.request('GET', `/v3/OS-TRUST/trusts/${t.id}`, { token: strangerTok });
    assert.equal(stranger.status, 403);
    assert.equal(stranger.body.error.code, 403);
    const missing = await c.request('GET', '/v3/OS-TRUST/trusts/0123456789abcdef0123456789abcdef', { token: trustorTok });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.title, 'Not Found');
  });

  it('lists, shows and checks the delegated roles only', async () => {
    const t = (await createTrust({ impersonation: false })).body.trust;
    assert.equal(t.impersonation, false);
    const list = await c.request('GET', `/v3/OS-TRUST/trusts/${t.id}/roles`, { token: trustorTok });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.roles.map((x: { id: string }) => x.id), [roles.delegated.id]);
    const one = await c.request('GET', `/v3/OS-TRUST/trusts/${t.id}/roles/${roles.delegated.id}`, { token: trusteeTok });
    assert.equal(one.status, 200);
    assert.equal(one.body.role.name, roles.delegated.name);
    assert.equal((await c.request('HEAD', `/v3/OS-TRUST/trusts/${t.id}/roles/${roles.delegated.id}`, { token: trustorTok })).status, 200);
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts/${t.id}/roles/${roles.kept.id}`, { token: trustorTok })).status, 404);
    assert.equal((await c.request('HEAD', `/v3/OS-TRUST/trusts/${t.id}/roles/${roles.kept.id}`, { token: trustorTok })).status, 404);
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts/${t.id}/roles`, { token: strangerTok })).status, 403);
  });

  it('gives the trustee a trust-scoped token with exactly the delegated roles, as the trustor when impersonating', async () => {
    const imp = (await createTrust({})).body.trust;
    const r = await trustToken(imp.id);
    assert.equal(r.status, 201);
    const tok = r.body.token;
    assert.equal(tok.user.id, users.trustor.id, 'impersonation shows the trustor as the user');
    assert.equal(tok.project.id, projectId);
    assert.deepEqual(tok.roles.map((x: { name: string }) => x.name), [roles.delegated.name]);
    assert.equal(tok['OS-TRUST:trust'].id, imp.id);
    assert.equal(tok['OS-TRUST:trust'].impersonation, true);
    assert.equal(tok['OS-TRUST:trust'].trustor_user.id, users.trustor.id);
    assert.equal(tok['OS-TRUST:trust'].trustee_user.id, users.trustee.id);

    const plain = (await createTrust({ impersonation: false })).body.trust;
    // Token method + trust scope works too.
    const r2 = await c.request('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['token'], token: { id: trusteeTok } }, scope: { 'OS-TRUST:trust': { id: plain.id } } } },
    });
    assert.equal(r2.status, 201);
    assert.equal(r2.body.token.user.id, users.trustee.id, 'without impersonation the user is the trustee');
    assert.deepEqual(r2.body.token.roles.map((x: { id: string }) => x.id), [roles.delegated.id]);
    const subject = r2.headers.get('x-subject-token')!;
    const v = await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': subject } });
    assert.equal(v.status, 200);
    assert.equal(v.body.token['OS-TRUST:trust'].id, plain.id);
    // The trust token works against the API as the delegated role set allows.
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: subject })).status, 200);
  });

  it('refuses to rescope a trust token, and refuses the trust to anyone but the trustee', async () => {
    const t = (await createTrust({})).body.trust;
    const r = await trustToken(t.id);
    const trustTok = r.headers.get('x-subject-token')!;
    const rescope = await c.request('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['token'], token: { id: trustTok } }, scope: { project: { id: projectId } } } },
    });
    assert.equal(rescope.status, 403);
    assert.equal((await trustToken(t.id, users.stranger)).status, 403);
    assert.equal((await trustToken(t.id, users.trustor)).status, 403);
  });

  it('deletes a trust: trustor only, soft, and its tokens stop working', async () => {
    const t = (await createTrust({})).body.trust;
    const tok = (await trustToken(t.id)).headers.get('x-subject-token')!;
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: tok })).status, 200);
    assert.equal((await c.request('DELETE', `/v3/OS-TRUST/trusts/${t.id}`, { token: trusteeTok })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/OS-TRUST/trusts/${t.id}`, { token: strangerTok })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/OS-TRUST/trusts/${t.id}`, { token: trustorTok })).status, 204);
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts/${t.id}`, { token: trustorTok })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/OS-TRUST/trusts/${t.id}`, { token: trustorTok })).status, 404);
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: tok })).status, 401);
    assert.equal((await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': tok } })).status, 404);
    assert.equal((await trustToken(t.id)).status, 401);
    const listed = await c.request('GET', `/v3/OS-TRUST/trusts?trustor_user_id=${users.trustor.id}`, { token: trustorTok });
    assert.ok(!listed.body.trusts.some((x: { id: string }) => x.id === t.id));
  });

  it('shows expires_at like Keystone and refuses invalid or past expiry (Tempest test_trust_expire*)', async () => {
    const at = new Date(Date.now() + 3600_000);
    at.setUTCMilliseconds(0);
    const expires = `${at.toISOString().slice(0, 19)}Z`;
    const r = await createTrust({ expires_at: expires });
    assert.equal(r.status, 201);
    assert.equal(r.body.trust.expires_at, `${expires.slice(0, 19)}.000000Z`);
    assert.equal(r.body.trust.expires_at.replace(/\.([0-9]){6}/, ''), expires);
    const g = await c.request('GET', `/v3/OS-TRUST/trusts/${r.body.trust.id}`, { token: trustorTok });
    assert.equal(g.body.trust.expires_at.replace(/\.([0-9]){6}/, ''), expires);
    const bad = await createTrust({ expires_at: 'bad.123Z' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 400);
    assert.equal((await createTrust({ expires_at: '2001-01-01T00:00:00Z' })).status, 400);
    assert.equal((await createTrust({ expires_at: 12 })).status, 400);
  });

  it("refuses an expired trust's tokens", async () => {
    const r = await createTrust({ expires_at: new Date(Date.now() + 1500).toISOString() });
    assert.equal(r.status, 201);
    const tok = await trustToken(r.body.trust.id);
    assert.equal(tok.status, 201);
    assert.ok(Date.parse(tok.body.token.expires_at) <= Date.parse(r.body.trust.expires_at) + 1000, 'the token does not outlive the trust');
    const subject = tok.headers.get('x-subject-token')!;
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: subject })).status, 200);
    await sleep(1600);
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: subject })).status, 401);
    assert.equal((await trustToken(r.body.trust.id)).status, 401);
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts/${r.body.trust.id}`, { token: trustorTok })).status, 404);
  });

  it('counts remaining_uses down and refuses tokens once they run out', async () => {
    const r = await createTrust({ remaining_uses: 2, impersonation: false });
    assert.equal(r.status, 201);
    assert.equal(r.body.trust.remaining_uses, 2);
    const first = await trustToken(r.body.trust.id);
    assert.equal(first.status, 201);
    const shown = await c.request('GET', `/v3/OS-TRUST/trusts/${r.body.trust.id}`, { token: trustorTok });
    assert.equal(shown.body.trust.remaining_uses, 1);
    assert.equal((await trustToken(r.body.trust.id)).status, 201);
    assert.equal((await trustToken(r.body.trust.id)).status, 401);
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts/${r.body.trust.id}`, { token: trustorTok })).status, 404);
    // Tokens already issued stay valid until they expire.
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: first.headers.get('x-subject-token')! })).status, 200);
    assert.equal((await createTrust({ remaining_uses: 0 })).status, 400);
    assert.equal((await createTrust({ remaining_uses: 'x' })).status, 400);
  });

  it('lists trusts for the trustor, the trustee and admins only (Tempest test_get_trusts_*)', async () => {
    const t = (await createTrust({})).body.trust;
    const mine = await c.request('GET', `/v3/OS-TRUST/trusts/?trustor_user_id=${users.trustor.id}`, { token: trustorTok });
    assert.equal(mine.status, 200);
    const entry = mine.body.trusts.find((x: { id: string }) => x.id === t.id);
    assert.ok(entry);
    assert.equal(entry.roles, undefined, 'listed trusts carry no roles');
    assert.equal(entry.trustee_user_id, users.trustee.id);
    assert.ok(entry.links.self.includes('v3/OS-TRUST/trusts'));
    assert.ok(mine.body.trusts.every((x: { trustor_user_id: string }) => x.trustor_user_id === users.trustor.id));
    const theirs = await c.request('GET', `/v3/OS-TRUST/trusts?trustee_user_id=${users.trustee.id}`, { token: trusteeTok });
    assert.equal(theirs.status, 200);
    assert.ok(theirs.body.trusts.some((x: { id: string }) => x.id === t.id));
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts?trustor_user_id=${users.trustor.id}`, { token: trusteeTok })).status, 403);
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts?trustee_user_id=${users.trustee.id}`, { token: strangerTok })).status, 403);
    assert.equal((await c.request('GET', '/v3/OS-TRUST/trusts', { token: trustorTok })).status, 403);
    const all = await c.request('GET', '/v3/OS-TRUST/trusts', { token: admin });
    assert.equal(all.status, 200);
    assert.equal(all.body.trusts.filter((x: { id: string }) => x.id === t.id).length, 1);
  });

  it('validates trust creation as Keystone does', async () => {
    // The caller must be the trustor.
    assert.equal((await createTrust({}, trusteeTok)).status, 403);
    // Roles must be held by the trustor on the project.
    assert.equal((await createTrust({ roles: [{ id: roles.other.id }] })).status, 404);
    assert.equal((await createTrust({ roles: [{ name: uniq('nosuchrole') }] })).status, 404);
    assert.equal((await createTrust({ roles: [] })).status, 403);
    assert.equal((await createTrust({ roles: [{ id: roles.delegated.id, name: roles.delegated.name }] })).status, 400);
    assert.equal((await createTrust({ trustee_user_id: '0123456789abcdef0123456789abcdef' })).status, 404);
    assert.equal((await createTrust({ project_id: '0123456789abcdef0123456789abcdef' })).status, 404);
    assert.equal((await createTrust({ impersonation: 'yes' })).status, 400);
    const noImp = await c.request('POST', '/v3/OS-TRUST/trusts', { token: trustorTok, body: { trust: { trustor_user_id: users.trustor.id, trustee_user_id: users.trustee.id } } });
    assert.equal(noImp.status, 400);
    assert.equal((await createTrust({ allow_redelegation: true, remaining_uses: 3 })).status, 400);
    assert.equal((await createTrust({ allow_redelegation: true, redelegation_count: 10 })).status, 403);
    // By id works as well as by name; a trust without a project delegates no roles.
    const byId = await createTrust({ roles: [{ id: roles.kept.id }] });
    assert.equal(byId.status, 201);
    assert.equal(byId.body.trust.roles[0].name, roles.kept.name);
    const unscoped = await createTrust({ project_id: null, roles: [] });
    assert.equal(unscoped.status, 201);
    assert.deepEqual(unscoped.body.trust.roles, []);
    const utok = await trustToken(unscoped.body.trust.id);
    assert.equal(utok.status, 201);
    assert.equal(utok.body.token.project, undefined);
    assert.equal(utok.body.token.roles, undefined);
  });

  it('stops honouring a trust when the trustor loses a delegated role', async () => {
    await createRole('temp');
    await grant('trustor', 'temp');
    const t = await createTrust({ roles: [{ id: roles.temp.id }] });
    assert.equal(t.status, 201);
    const tok = (await trustToken(t.body.trust.id)).headers.get('x-subject-token')!;
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: tok })).status, 200);
    const revoke = await c.request('DELETE', `/v3/projects/${projectId}/users/${users.trustor.id}/roles/${roles.temp.id}`, { token: admin });
    assert.equal(revoke.status, 204);
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: tok })).status, 401);
    assert.equal((await trustToken(t.body.trust.id)).status, 401);
  });

  it('stops honouring an impersonating trust when the trustee is disabled', async () => {
    await createUser('trustee2');
    const t = await createTrust({ trustee_user_id: users.trustee2.id });
    assert.equal(t.status, 201);
    const r = await trustToken(t.body.trust.id, users.trustee2);
    assert.equal(r.status, 201);
    assert.equal(r.body.token.user.id, users.trustor.id);
    const tok = r.headers.get('x-subject-token')!;
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: tok })).status, 200);
    assert.equal((await c.request('PATCH', `/v3/users/${users.trustee2.id}`, { token: admin, body: { user: { enabled: false } } })).status, 200);
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: tok })).status, 401);
  });

  it('redelegates a trust when allowed, within the redelegation depth', async () => {
    const root = await createTrust({ impersonation: false, allow_redelegation: true, redelegation_count: 1 });
    assert.equal(root.status, 201);
    assert.equal(root.body.trust.redelegation_count, 1);
    const trusteeTrustTok = (await trustToken(root.body.trust.id)).headers.get('x-subject-token')!;
    const redelegate = (body: Record<string, unknown>, token: string) => c.request('POST', '/v3/OS-TRUST/trusts', {
      token,
      body: { trust: { trustor_user_id: users.trustee.id, trustee_user_id: users.stranger.id, project_id: projectId, impersonation: false, roles: [{ id: roles.delegated.id }], ...body } },
    });
    // Roles beyond the parent trust, or impersonation it did not grant, are refused.
    assert.equal((await redelegate({ roles: [{ id: roles.kept.id }] }, trusteeTrustTok)).status, 403);
    assert.equal((await redelegate({ impersonation: true }, trusteeTrustTok)).status, 403);
    const child = await redelegate({}, trusteeTrustTok);
    assert.equal(child.status, 201);
    assert.equal(child.body.trust.redelegated_trust_id, root.body.trust.id);
    assert.equal(child.body.trust.redelegation_count, 0);
    const st = await trustToken(child.body.trust.id, users.stranger);
    assert.equal(st.status, 201);
    assert.deepEqual(st.body.token.roles.map((x: { id: string }) => x.id), [roles.delegated.id]);
    assert.equal(st.body.token.user.id, users.stranger.id);
    // The child cannot be redelegated further (depth exhausted).
    const strangerTrustTok = st.headers.get('x-subject-token')!;
    const again = await c.request('POST', '/v3/OS-TRUST/trusts', {
      token: strangerTrustTok,
      body: { trust: { trustor_user_id: users.stranger.id, trustee_user_id: users.trustee.id, project_id: projectId, impersonation: false, roles: [{ id: roles.delegated.id }] } },
    });
    assert.equal(again.status, 403);
    // A trust that does not allow redelegation cannot be redelegated.
    const flat = await createTrust({ impersonation: false });
    const flatTok = (await trustToken(flat.body.trust.id)).headers.get('x-subject-token')!;
    assert.equal((await redelegate({}, flatTok)).status, 403);
    // Deleting the root deletes what was redelegated from it.
    assert.equal((await c.request('DELETE', `/v3/OS-TRUST/trusts/${root.body.trust.id}`, { token: trustorTok })).status, 204);
    assert.equal((await c.request('GET', `/v3/OS-TRUST/trusts/${child.body.trust.id}`, { token: strangerTok })).status, 404);
    assert.equal((await c.request('GET', '/v3/auth/projects', { token: strangerTrustTok })).status, 401);
  });
});
