import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { RemoteTokenVerifier } from '../../../src/core/auth/remote-verifier.js';
import type { HttpError } from '../../../src/core/errors.js';

/** What a service in another process uses: token checks over identity's REST API. */
describe('remote token verifier (distributed mode)', () => {
  let c: TestCloud;
  let verifier: RemoteTokenVerifier;
  before(async () => {
    c = await startTestCloud();
    verifier = new RemoteTokenVerifier({ authUrl: `${c.identityUrl}/v3`, username: 'admin', password: c.cloud.admin.password, projectName: 'admin', cacheSeconds: 0 });
  });
  after(() => c.stop());

  it('turns a valid token into the same context as the in-process check', async () => {
    const tok = await c.token('demo', c.cloud.demo.password, 'demo');
    const remote = await verifier.verify(tok);
    const local = await c.cloud.identity.verifier.verify(tok);
    assert.equal(remote.userName, 'demo');
    assert.equal(remote.projectName, 'demo');
    assert.deepEqual(remote.roles.map((r) => r.name).sort(), local.roles.map((r) => r.name).sort());
    assert.equal(remote.projectId, local.projectId);
  });

  it('answers 401 for garbage and for revoked tokens', async () => {
    await assert.rejects(verifier.verify('gAAAAAnonsense'), (e: HttpError) => e.status === 401);
    const tok = await c.token('demo', c.cloud.demo.password, 'demo');
    await verifier.verify(tok);
    const admin = await c.adminToken();
    assert.equal((await c.request('DELETE', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': tok } })).status, 204);
    await assert.rejects(verifier.verify(tok), (e: HttpError) => e.status === 401);
  });
});
