import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

describe('compute: cold migration and resize between hosts (fake driver, two hosts)', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud({ fakeHosts: 2 }); });
  after(async () => { await k?.stop(); });

  const act = (id: string, body: unknown, o: { token?: string; version?: string } = {}) => k.nova('POST', `/v2.1/servers/${id}/action`, { body, ...o });
  const hostOf = async (id: string) => (await k.nova('GET', `/v2.1/servers/${id}`)).body.server['OS-EXT-SRV-ATTR:host'] as string;
  /** consumer → {provider name → resources} from placement */
  const allocations = async (consumer: string) => {
    const r = await k.c.request('GET', `/allocations/${consumer}`, { token: k.admin, service: 'placement' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const out: Record<string, Record<string, number>> = {};
    for (const [rp, a] of Object.entries(r.body.allocations as Record<string, { resources: Record<string, number> }>)) {
      const p = await k.c.request('GET', `/resource_providers/${rp}`, { token: k.admin, service: 'placement' });
      out[p.body.name] = a.resources;
    }
    return out;
  };
  const migrationsOf = async (id: string) => (await k.nova('GET', `/v2.1/os-migrations?instance_uuid=${id}`, { version: '2.80' })).body.migrations as any[];

  it('migrate: the scheduler picks the other host, VERIFY_RESIZE with a migration record; confirm frees the source', async () => {
    const s = await k.boot(k.a.member, { name: 'cm-1' });
    const from = await hostOf(s.id);
    const r = await act(s.id, { migrate: null });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const moved = await k.waitFor(k.admin, s.id, 'VERIFY_RESIZE');
    const to = await hostOf(s.id);
    assert.notEqual(to, from);
    assert.equal(moved['OS-EXT-STS:vm_state'], 'resized');
    const [m] = await migrationsOf(s.id);
    assert.equal(m.migration_type, 'migration');
    assert.equal(m.status, 'finished');
    assert.deepEqual([m.source_compute, m.dest_compute, m.source_node, m.dest_node], [from, to, from, to]);
    assert.equal(m.old_instance_type_id, m.new_instance_type_id);
    // placement: the server holds the destination, the migration's consumer the source
    assert.deepEqual(Object.keys(await allocations(s.id)), [to]);
    const held = await allocations(m.uuid);
    assert.deepEqual(Object.keys(held), [from]);
    assert.equal(held[from].MEMORY_MB, 512);
    const actions = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`)).body.instanceActions as any[];
    assert.ok(actions.some((a) => a.action === 'migrate'));
    // confirm: stays on the destination, the migration's claim is gone
    const c = await act(s.id, { confirmResize: null }, { token: k.a.member });
    assert.equal(c.status, 204, JSON.stringify(c.body));
    await k.waitFor(k.admin, s.id, 'ACTIVE');
    assert.equal(await hostOf(s.id), to);
    assert.deepEqual(await allocations(m.uuid), {});
    assert.deepEqual(Object.keys(await allocations(s.id)), [to]);
    assert.equal((await migrationsOf(s.id))[0].status, 'confirmed');
    const out = await act(s.id, { 'os-getConsoleOutput': { length: -1 } }, { token: k.a.member });
    assert.equal(out.status, 200);
  });

  it('revertResize after a migration brings the server back to its source host and allocation', async () => {
    const s = await k.boot(k.a.member, { name: 'cm-2' });
    const from = await hostOf(s.id);
    assert.equal((await act(s.id, { migrate: null })).status, 202);
    await k.waitFor(k.admin, s.id, 'VERIFY_RESIZE');
    const to = await hostOf(s.id);
    assert.notEqual(to, from);
    const [m] = await migrationsOf(s.id);
    assert.equal((await act(s.id, { revertResize: null }, { token: k.a.member })).status, 202);
    const back = await k.waitFor(k.admin, s.id, 'ACTIVE');
    assert.equal(back['OS-EXT-SRV-ATTR:host'], from);
    assert.equal(back['OS-EXT-STS:power_state'], 1);
    assert.deepEqual(Object.keys(await allocations(s.id)), [from]);
    assert.deepEqual(await allocations(m.uuid), {});
    assert.equal((await migrationsOf(s.id))[0].status, 'reverted');
    // and it can move again
    assert.equal((await act(s.id, { migrate: null })).status, 202);
    await k.waitFor(k.admin, s.id, 'VERIFY_RESIZE');
    assert.equal(await hostOf(s.id), to);
    assert.equal((await act(s.id, { confirmResize: null })).status, 204);
  });

  it('2.56: an admin names the host; own or unknown host 400, members 403, wrong states 409; a stopped server stays stopped', async () => {
    const s = await k.boot(k.a.member, { name: 'cm-3' });
    const from = await hostOf(s.id);
    const other = from === 'compute1' ? 'compute1-2' : 'compute1';
    assert.equal((await act(s.id, { migrate: null }, { token: k.a.member })).status, 403);
    assert.equal((await act(s.id, { migrate: { host: from } }, { version: '2.56' })).status, 400);
    assert.equal((await act(s.id, { migrate: { host: 'nowhere' } }, { version: '2.56' })).status, 400);
    assert.equal((await act(s.id, { migrate: { host: other, bogus: 1 } }, { version: '2.56' })).status, 400);
    assert.equal((await act(s.id, { 'os-stop': null }, { token: k.a.member })).status, 202);
    await k.waitFor(k.admin, s.id, 'SHUTOFF');
    assert.equal((await act(s.id, { migrate: { host: other } }, { version: '2.56' })).status, 202);
    const moved = await k.waitFor(k.admin, s.id, 'VERIFY_RESIZE');
    assert.equal(moved['OS-EXT-SRV-ATTR:host'], other);
    assert.equal(moved['OS-EXT-STS:power_state'], 4);
    // a second migrate while it waits for confirmation is a conflict
    assert.equal((await act(s.id, { migrate: null })).status, 409);
    assert.equal((await act(s.id, { confirmResize: null })).status, 204);
    const done = await k.waitFor(k.admin, s.id, 'SHUTOFF');
    assert.equal(done['OS-EXT-SRV-ATTR:host'], other);
    assert.equal((await act(s.id, { confirmResize: null })).status, 409);
  });

  it('resize moves claims the same way: new flavor on the chosen host, old one on the migration until confirm', async () => {
    const s = await k.boot(k.a.member, { name: 'rs-1' });
    const from = await hostOf(s.id);
    assert.equal((await act(s.id, { resize: { flavorRef: '2' } }, { token: k.a.member })).status, 202);
    const r = await k.waitFor(k.admin, s.id, 'VERIFY_RESIZE');
    const to = r['OS-EXT-SRV-ATTR:host'];
    const [m] = await migrationsOf(s.id);
    assert.deepEqual([m.migration_type, m.status, m.source_compute, m.dest_compute], ['resize', 'finished', from, to]);
    assert.equal(Object.values(await allocations(s.id))[0].MEMORY_MB, 2048);
    const heldOld = await allocations(m.uuid);
    assert.equal(heldOld[from]?.MEMORY_MB, 512, JSON.stringify({ heldOld, from, to, m }));
    assert.equal((await act(s.id, { revertResize: null }, { token: k.a.member })).status, 202);
    const back = await k.waitFor(k.admin, s.id, 'ACTIVE');
    assert.equal(back['OS-EXT-SRV-ATTR:host'], from);
    assert.equal(back.flavor.id, '1');
    assert.deepEqual(await allocations(s.id), { [from]: { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 } });
    // deleting a server that waits for confirmation frees the migration's claim too
    assert.equal((await act(s.id, { resize: { flavorRef: '2' } }, { token: k.a.member })).status, 202);
    await k.waitFor(k.admin, s.id, 'VERIFY_RESIZE');
    const [m2] = await migrationsOf(s.id);
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member })).status, 204);
    await k.waitFor(k.admin, s.id, 'DELETED');
    assert.deepEqual(await allocations(m2.uuid), {});
    assert.deepEqual(await allocations(s.id), {});
  });
});
