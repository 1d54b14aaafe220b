import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { makeUser, startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('identity: credentials', () => {
  let c: TestCloud;
  let admin: string;
  let projectId: string;
  let project2Id: string;
  let projectName: string;
  let alice: { id: string; name: string; password: string };
  let bob: { id: string; name: string; password: string };
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    projectName = uniq('proj');
    projectId = (await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: projectName, domain_id: 'default' } } })).body.project.id;
    project2Id = (await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: uniq('proj'), domain_id: 'default' } } })).body.project.id;
    alice = await makeUser(c, admin, projectId, ['member']);
    bob = await makeUser(c, admin, projectId, ['member']);
    aliceToken = await c.token(alice.name, alice.password, projectName);
    bobToken = await c.token(bob.name, bob.password, projectName);
  });
  after(() => c.stop());

  const post = (token: string, credential: Record<string, unknown>) => c.request('POST', '/v3/credentials', { token, body: { credential } });

  it('creates an ec2 credential whose id is sha256(access), then gets, updates and deletes it', async () => {
    const access = uniq('Access');
    const blob = JSON.stringify({ access, secret: uniq('Secret') });
    const r = await post(admin, { user_id: alice.id, project_id: projectId, type: 'ec2', blob });
    assert.equal(r.status, 201);
    const cred = r.body.credential;
    assert.equal(cred.id, sha256(access));
    assert.equal(cred.user_id, alice.id);
    assert.equal(cred.project_id, projectId);
    assert.equal(cred.type, 'ec2');
    assert.equal(typeof cred.blob, 'string');
    assert.deepEqual(Object.keys(JSON.parse(cred.blob)).sort(), ['access', 'secret']);
    assert.match(cred.links.self, new RegExp(`/v3/credentials/${cred.id}$`));

    const got = await c.request('GET', `/v3/credentials/${cred.id}`, { token: admin });
    assert.equal(got.status, 200);
    assert.equal(got.body.credential.blob, blob);

    // Tempest's update: new keys, another project, same type.
    const newAccess = uniq('NewAccess');
    const newBlob = JSON.stringify({ access: newAccess, secret: uniq('NewSecret') });
    const up = await c.request('PATCH', `/v3/credentials/${cred.id}`, { token: admin, body: { credential: { blob: newBlob, project_id: project2Id, type: 'ec2' } } });
    assert.equal(up.status, 200);
    assert.equal(up.body.credential.id, cred.id);
    assert.equal(up.body.credential.project_id, project2Id);
    assert.equal(up.body.credential.user_id, alice.id);
    assert.equal(JSON.parse(up.body.credential.blob).access, newAccess);
    const again = await c.request('GET', `/v3/credentials/${cred.id}`, { token: admin });
    assert.deepEqual(again.body.credential, up.body.credential);
    // The new access key is what the EC2 view answers to now.
    const ec2 = await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2/${newAccess}`, { token: admin });
    assert.equal(ec2.status, 200);
    assert.equal(ec2.body.credential.tenant_id, project2Id);

    assert.equal((await c.request('DELETE', `/v3/credentials/${cred.id}`, { token: admin })).status, 204);
    assert.equal((await c.request('GET', `/v3/credentials/${cred.id}`, { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/credentials/${cred.id}`, { token: admin })).status, 404);
  });

  it('lets users manage their own credentials and see only theirs', async () => {
    const mine = await post(aliceToken, { user_id: alice.id, type: 'cert', blob: 'a certificate', project_id: projectId, label: 'laptop' });
    assert.equal(mine.status, 201);
    assert.match(mine.body.credential.id, /^[0-9a-f]{32}$/);
    assert.equal(mine.body.credential.label, 'laptop', 'extra attributes are kept');
    const id = mine.body.credential.id;
    const ec2Access = uniq('a');
    assert.equal((await post(aliceToken, { user_id: alice.id, project_id: projectId, type: 'ec2', blob: JSON.stringify({ access: ec2Access, secret: 's' }) })).status, 201);
    // Not for somebody else.
    assert.equal((await post(aliceToken, { user_id: bob.id, type: 'cert', blob: 'x' })).status, 403);

    const list = await c.request('GET', '/v3/credentials', { token: aliceToken });
    assert.equal(list.status, 200);
    assert.ok(list.body.credentials.length >= 2);
    assert.ok(list.body.credentials.every((x: { user_id: string }) => x.user_id === alice.id));
    const byType = await c.request('GET', '/v3/credentials?type=cert', { token: aliceToken });
    assert.deepEqual(byType.body.credentials.map((x: { id: string }) => x.id), [id]);

    const bobList = await c.request('GET', `/v3/credentials?user_id=${alice.id}`, { token: bobToken });
    assert.equal(bobList.status, 200);
    assert.deepEqual(bobList.body.credentials, []);
    assert.equal((await c.request('GET', `/v3/credentials/${id}`, { token: bobToken })).status, 403);
    assert.equal((await c.request('PATCH', `/v3/credentials/${id}`, { token: bobToken, body: { credential: { blob: 'mine now' } } })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/credentials/${id}`, { token: bobToken })).status, 403);
    // Nor can the owner hand it over to somebody else.
    assert.equal((await c.request('PATCH', `/v3/credentials/${id}`, { token: aliceToken, body: { credential: { user_id: bob.id } } })).status, 403);

    const adminList = await c.request('GET', `/v3/credentials?user_id=${alice.id}`, { token: admin });
    assert.ok(adminList.body.credentials.some((x: { id: string }) => x.id === id));

    const upd = await c.request('PATCH', `/v3/credentials/${id}`, { token: aliceToken, body: { credential: { blob: 'renewed' } } });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.credential.blob, 'renewed');
    assert.equal(upd.body.credential.label, 'laptop');
    assert.equal((await c.request('DELETE', `/v3/credentials/${id}`, { token: aliceToken })).status, 204);
  });

  it('answers bad input with 400, duplicates with 409 and unknown ids with 404', async () => {
    const cases: unknown[] = [
      {},
      { credential: { type: 'cert', blob: 'x' } },
      { credential: { user_id: alice.id, type: 'cert' } },
      { credential: { user_id: alice.id, type: 'cert', blob: { not: 'a string' } } },
      { credential: { user_id: alice.id, type: 'ec2', blob: '{"access": "a"}' } },
      { credential: { user_id: alice.id, project_id: projectId, type: 'ec2', blob: 'not json' } },
      { credential: { user_id: alice.id, project_id: projectId, type: 'ec2', blob: '{"secret": "no access"}' } },
      { credential: { user_id: alice.id, project_id: projectId, type: 'ec2', blob: '[]' } },
    ];
    for (const body of cases) {
      const r = await c.request('POST', '/v3/credentials', { token: admin, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message', 'title']);
      assert.equal(r.body.error.code, 400);
    }
    const blob = JSON.stringify({ access: uniq('dup'), secret: 's' });
    assert.equal((await post(admin, { user_id: alice.id, project_id: projectId, type: 'ec2', blob })).status, 201);
    const dup = await post(admin, { user_id: alice.id, project_id: projectId, type: 'ec2', blob });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.title, 'Conflict');

    assert.equal((await post(admin, { user_id: uniq('nouser'), type: 'cert', blob: 'x' })).status, 404);
    assert.equal((await post(admin, { user_id: alice.id, project_id: uniq('noproj'), type: 'cert', blob: 'x' })).status, 404);
    assert.equal((await c.request('GET', `/v3/credentials/${uniq('none')}`, { token: admin })).status, 404);
    assert.equal((await c.request('PATCH', `/v3/credentials/${uniq('none')}`, { token: admin, body: { credential: { blob: 'x' } } })).status, 404);
    const id = sha256(JSON.parse(blob).access);
    assert.equal((await c.request('PATCH', `/v3/credentials/${id}`, { token: admin, body: { credential: {} } })).status, 400);
    assert.equal((await c.request('PATCH', `/v3/credentials/${id}`, { token: admin, body: { credential: { blob: '{"secret": "x"}' } } })).status, 400);
    assert.equal((await c.request('PATCH', `/v3/credentials/${id}`, { token: admin, body: { credential: { blob: JSON.stringify({ access: 'x', trust_id: 'abc' }) } } })).status, 400);
  });

  it('serves OS-EC2 credentials to their owner', async () => {
    const r = await c.request('POST', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: aliceToken, body: { tenant_id: projectId } });
    assert.equal(r.status, 201);
    const cred = r.body.credential;
    assert.deepEqual(Object.keys(cred).sort(), ['access', 'links', 'secret', 'tenant_id', 'trust_id', 'user_id']);
    assert.equal(cred.user_id, alice.id);
    assert.equal(cred.tenant_id, projectId);
    assert.equal(cred.trust_id, null);
    assert.match(cred.access, /^[0-9a-f]{32}$/);
    assert.match(cred.secret, /^[0-9a-f]{32}$/);
    assert.match(cred.links.self, new RegExp(`/v3/users/${alice.id}/credentials/OS-EC2/${cred.access}$`));
    // It is an ordinary ec2 credential too.
    const v3cred = await c.request('GET', `/v3/credentials/${sha256(cred.access)}`, { token: aliceToken });
    assert.equal(v3cred.status, 200);
    assert.equal(v3cred.body.credential.type, 'ec2');

    const list = await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: aliceToken });
    assert.equal(list.status, 200);
    assert.ok(list.body.credentials.some((x: { access: string }) => x.access === cred.access));
    const shown = await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2/${cred.access}`, { token: aliceToken });
    assert.equal(shown.status, 200);
    for (const k of ['access', 'secret', 'user_id', 'tenant_id']) assert.equal(shown.body.credential[k], cred[k]);

    // Another user: neither through the owner's path nor their own.
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: bobToken })).status, 403);
    assert.equal((await c.request('POST', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: bobToken, body: { tenant_id: projectId } })).status, 403);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2/${cred.access}`, { token: bobToken })).status, 403);
    assert.equal((await c.request('GET', `/v3/users/${bob.id}/credentials/OS-EC2/${cred.access}`, { token: bobToken })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/users/${bob.id}/credentials/OS-EC2/${cred.access}`, { token: bobToken })).status, 403);
    const bobList = await c.request('GET', `/v3/users/${bob.id}/credentials/OS-EC2`, { token: bobToken });
    assert.ok(!bobList.body.credentials.some((x: { access: string }) => x.access === cred.access));
    // An admin sees it; through another user's path it does not exist.
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2/${cred.access}`, { token: admin })).status, 200);
    assert.equal((await c.request('GET', `/v3/users/${bob.id}/credentials/OS-EC2/${cred.access}`, { token: admin })).status, 404);

    assert.equal((await c.request('DELETE', `/v3/users/${alice.id}/credentials/OS-EC2/${cred.access}`, { token: aliceToken })).status, 204);
    const gone = await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2/${cred.access}`, { token: aliceToken });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 404);
  });

  it('checks OS-EC2 input and refuses delegated tokens', async () => {
    assert.equal((await c.request('POST', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: aliceToken, body: {} })).status, 400);
    assert.equal((await c.request('POST', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: aliceToken, body: { tenant_id: 7 } })).status, 400);
    assert.equal((await c.request('POST', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: aliceToken, body: { tenant_id: uniq('none') } })).status, 404);
    assert.equal((await c.request('GET', `/v3/users/${alice.id}/credentials/OS-EC2/${uniq('none')}`, { token: aliceToken })).status, 404);

    const ac = await c.request('POST', `/v3/users/${alice.id}/application_credentials`, { token: aliceToken, body: { application_credential: { name: uniq('ac'), unrestricted: true } } });
    assert.equal(ac.status, 201);
    const t = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['application_credential'], application_credential: { id: ac.body.application_credential.id, secret: ac.body.application_credential.secret } } } } });
    const acToken = t.headers.get('x-subject-token')!;
    assert.equal((await c.request('POST', `/v3/users/${alice.id}/credentials/OS-EC2`, { token: acToken, body: { tenant_id: projectId } })).status, 403);
    assert.equal((await post(acToken, { user_id: alice.id, type: 'cert', blob: 'x' })).status, 403);
    assert.deepEqual((await c.request('GET', '/v3/credentials', { token: acToken })).body.credentials, []);
  });
});
