import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

describe('compute: live migration between hosts (fake driver, two hosts)', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud({ fakeHosts: 2 }); });
  after(async () => { await k?.stop(); });

  const hostOf = async (id: string) => (await k.nova('GET', `/v2.1/servers/${id}`)).body.server['OS-EXT-SRV-ATTR:host'];
  async function waitHost(id: string, host: string) {
    for (let i = 0; i < 200; i++) {
      const s = (await k.nova('GET', `/v2.1/servers/${id}`)).body.server;
      if (s['OS-EXT-SRV-ATTR:host'] === host && s['OS-EXT-STS:task_state'] === null) return s;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`server ${id} did not move to ${host}`);
  }

  it('moves a running server to the host the scheduler picks, and records the migration', async () => {
    const s = await k.boot(k.a.member, { name: 'lm-1' });
    const from = await hostOf(s.id);
    const to = from === 'compute1' ? 'compute1-2' : 'compute1';
    const r = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { body: { 'os-migrateLive': { host: null, block_migration: 'auto' } }, version: '2.25' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const moved = await waitHost(s.id, to);
    assert.equal(moved.status, 'ACTIVE');
    const migs = await k.nova('GET', `/v2.1/os-migrations?instance_uuid=${s.id}`, { version: '2.23' });
    assert.equal(migs.body.migrations[0].migration_type, 'live-migration');
    assert.equal(migs.body.migrations[0].status, 'completed');
    assert.deepEqual([migs.body.migrations[0].source_compute, migs.body.migrations[0].dest_compute], [from, to]);
    const hyp = (await k.nova('GET', '/v2.1/os-hypervisors/detail')).body.hypervisors;
    assert.equal(hyp.find((h: any) => h.hypervisor_hostname === to).running_vms >= 1, true);
    const events = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`)).body.instanceActions;
    assert.ok(events.some((a: any) => a.action === 'live-migration'));
    // and back to an explicitly named host
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/action`, { body: { 'os-migrateLive': { host: from, block_migration: false } } })).status, 202);
    await waitHost(s.id, from);
  });

  it('refuses bad requests: members may not migrate, unknown or own host, a stopped server', async () => {
    const s = await k.boot(k.a.member, { name: 'lm-2' });
    const act = (body: unknown, token?: string) => k.nova('POST', `/v2.1/servers/${s.id}/action`, { token, body });
    assert.equal((await act({ 'os-migrateLive': { host: null, block_migration: false } }, k.a.member)).status, 403);
    assert.equal((await act({ 'os-migrateLive': { host: 'nowhere', block_migration: false } })).status, 400);
    assert.equal((await act({ 'os-migrateLive': { host: await hostOf(s.id), block_migration: false } })).status, 400);
    assert.equal((await act({ 'os-stop': null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'SHUTOFF');
    assert.equal((await act({ 'os-migrateLive': { host: null, block_migration: false } })).status, 409);
  });

  it('unshelves an offloaded server onto the host an admin names (2.91)', async () => {
    const s = await k.boot(k.a.member, { name: 'shelf-host' });
    const other = (await hostOf(s.id)) === 'compute1' ? 'compute1-2' : 'compute1';
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { shelve: null } })).status, 202);
    await k.waitFor(k.a.member, s.id, 'SHELVED_OFFLOADED');
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { unshelve: { host: other } }, version: '2.91' })).status, 403);
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/action`, { body: { unshelve: { host: other } }, version: '2.90' })).status, 400);
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/action`, { body: { unshelve: { host: other } }, version: '2.91' })).status, 202);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal(await hostOf(s.id), other);
  });
});
