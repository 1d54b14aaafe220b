import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

/** Quotas are exact under concurrency: 50 creates at once against room for 10 → exactly 10 accepted (SQLite and PostgreSQL). */
describe('compute: quota race', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  it('accepts exactly 10 of 50 parallel creates when the project has room for 10', async () => {
    const q = await k.nova('PUT', `/v2.1/os-quota-sets/${k.a.id}`, { body: { quota_set: { instances: 10 } } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: `race-${i}`, imageRef: k.imageId, flavorRef: '1' } } })));
    const codes = results.map((r) => r.status);
    assert.equal(codes.filter((c) => c === 202).length, 10, `accepted: ${codes.join(',')}`);
    assert.equal(codes.filter((c) => c === 403).length, 40);
    assert.match(results.find((r) => r.status === 403)!.body.forbidden.message, /Quota exceeded for instances/);
    const list = await k.nova('GET', '/v2.1/servers', { token: k.a.member });
    assert.equal(list.body.servers.length, 10);
  });
});
