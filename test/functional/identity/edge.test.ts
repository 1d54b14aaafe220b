import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';

describe('identity: the HTTP edge', () => {
  let c: TestCloud;
  before(async () => { c = await startTestCloud(); });
  after(() => c.stop());

  it('refuses bodies over the size limit with 413', async () => {
    const big = JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'x'.repeat(2 * 1024 * 1024), password: 'x' } } } } });
    const r = await c.request('POST', '/v3/auth/tokens', { raw: big });
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, 413);
  });

  it('answers unknown paths with 404 in Keystone format and keeps a request id', async () => {
    const r = await c.request('GET', '/v3/nothing-here');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 404);
    assert.match(r.headers.get('x-openstack-request-id')!, /^req-/);
  });

  it('accepts an empty JSON body where none is needed', async () => {
    const admin = await c.adminToken();
    const other = await c.adminToken();
    const r = await c.request('DELETE', '/v3/auth/tokens', { token: admin, raw: '', headers: { 'x-subject-token': other } });
    assert.equal(r.status, 204);
  });

  it('serves version discovery at / (300) and /v3 (200)', async () => {
    const root = await c.request('GET', '/');
    assert.equal(root.status, 300);
    assert.equal(root.body.versions.values[0].id, 'v3.14');
    const v3 = await c.request('GET', '/v3');
    assert.equal(v3.status, 200);
    assert.deepEqual(v3.body.version['media-types'][0], { base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' });
  });
});

describe('identity: policy override file', () => {
  it('lets the operator open or close a rule', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-policy-'));
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, '"identity:list_projects": "role:reader"\n"identity:list_regions": "!"\n');
    const c = await startTestCloud({ identity: { policyFile: file } });
    try {
      const demo = await c.token('demo', c.cloud.demo.password, 'demo');
      assert.equal((await c.request('GET', '/v3/projects', { token: demo })).status, 200);
      const admin = await c.adminToken();
      assert.equal((await c.request('GET', '/v3/regions', { token: admin })).status, 403);
    } finally {
      await c.stop();
    }
  });
});
