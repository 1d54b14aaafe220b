import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

describe('identity: policies (/v3/policies)', () => {
  let c: TestCloud;
  let admin: string;
  let demo: string;
  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    demo = await c.token('demo', c.cloud.demo.password, 'demo');
  });
  after(() => c.stop());

  it('creates, shows, updates and deletes a policy (Tempest test_create_update_delete_policy)', async () => {
    const blob = uniq('BlobName');
    const type = uniq('PolicyType');
    const r = await c.request('POST', '/v3/policies', { token: admin, body: { policy: { blob, type } } });
    assert.equal(r.status, 201);
    const p = r.body.policy;
    assert.match(p.id, /^[0-9a-f]{32}$/);
    assert.equal(p.blob, blob);
    assert.equal(p.type, type);
    assert.ok(p.links.self.endsWith(`/v3/policies/${p.id}`));

    const newType = uniq('UpdatedPolicyType');
    const up = await c.request('PATCH', `/v3/policies/${p.id}`, { token: admin, body: { policy: { type: newType } } });
    assert.equal(up.status, 200);
    assert.equal(up.body.policy.type, newType);
    const shown = await c.request('GET', `/v3/policies/${p.id}`, { token: admin });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.policy.id, p.id);
    assert.equal(shown.body.policy.blob, blob);
    assert.equal(shown.body.policy.type, newType);

    assert.equal((await c.request('DELETE', `/v3/policies/${p.id}`, { token: admin })).status, 204);
    assert.equal((await c.request('GET', `/v3/policies/${p.id}`, { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/policies/${p.id}`, { token: admin })).status, 404);
  });

  it('lists policies, filtered by type', async () => {
    const type = uniq('list-type');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await c.request('POST', '/v3/policies', { token: admin, body: { policy: { blob: `{"n": ${i}}`, type: i === 2 ? 'other' : type } } });
      ids.push(r.body.policy.id);
    }
    const all = await c.request('GET', '/v3/policies', { token: admin });
    assert.equal(all.status, 200);
    for (const id of ids) assert.ok(all.body.policies.some((p: { id: string }) => p.id === id));
    const typed = await c.request('GET', `/v3/policies?type=${type}`, { token: admin });
    assert.deepEqual(typed.body.policies.map((p: { id: string }) => p.id).sort(), ids.slice(0, 2).sort());
  });

  it('keeps extra attributes and refuses bad input', async () => {
    const r = await c.request('POST', '/v3/policies', { token: admin, body: { policy: { blob: 'x', type: 'application/json', owner: 'ops' } } });
    assert.equal(r.status, 201);
    assert.equal(r.body.policy.owner, 'ops');
    const id = r.body.policy.id;
    for (const body of [{ policy: { type: 't' } }, { policy: { blob: 'b' } }, { policy: { blob: 1, type: 't' } }, { policy: { blob: 'b', type: 'x'.repeat(256) } }, {}]) {
      const bad = await c.request('POST', '/v3/policies', { token: admin, body });
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.error.code, 400);
    }
    assert.equal((await c.request('PATCH', `/v3/policies/${id}`, { token: admin, body: { policy: {} } })).status, 400);
    assert.equal((await c.request('PATCH', `/v3/policies/${id}`, { token: admin, body: { policy: { blob: false } } })).status, 400);
    assert.equal((await c.request('PATCH', `/v3/policies/${id}`, { token: admin, body: { policy: { id: 'other' } } })).status, 400);
    assert.equal((await c.request('PATCH', '/v3/policies/nope', { token: admin, body: { policy: { blob: 'y' } } })).status, 404);
    const up = await c.request('PATCH', `/v3/policies/${id}`, { token: admin, body: { policy: { blob: 'y', team: 'a' } } });
    assert.equal(up.body.policy.blob, 'y');
    assert.equal(up.body.policy.owner, 'ops');
    assert.equal(up.body.policy.team, 'a');
  });

  it('is for admins only', async () => {
    assert.equal((await c.request('POST', '/v3/policies', { token: demo, body: { policy: { blob: 'x', type: 't' } } })).status, 403);
    assert.equal((await c.request('GET', '/v3/policies', { token: demo })).status, 403);
  });
});
