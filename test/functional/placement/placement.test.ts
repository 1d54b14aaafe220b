import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { makeUser, startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

describe('placement API', () => {
  let c: TestCloud;
  let admin: string;
  const pl = (method: string, path: string, body?: unknown, version = '1.39', token?: string) =>
    c.request(method, path, { service: 'placement', token: token ?? admin, body, headers: version ? { 'openstack-api-version': `placement ${version}` } : {} });
  const newRp = async (extra: Record<string, unknown> = {}) => {
    const r = await pl('POST', '/resource_providers', { name: uniq('rp'), ...extra });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { uuid: string; generation: number; root_provider_uuid: string };
  };
  const setInv = async (uuid: string, inventories: Record<string, unknown>) => {
    const g = (await pl('GET', `/resource_providers/${uuid}`)).body.generation;
    const r = await pl('PUT', `/resource_providers/${uuid}/inventories`, { resource_provider_generation: g, inventories });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const alloc = (consumer: string, allocations: Record<string, Record<string, number>>, gen: number | null = null) =>
    pl('PUT', `/allocations/${consumer}`, {
      allocations: Object.fromEntries(Object.entries(allocations).map(([rp, resources]) => [rp, { resources }])),
      project_id: 'p1', user_id: 'u1', consumer_generation: gen, consumer_type: 'INSTANCE',
    });

  before(async () => {
    c = await startTestCloud({ services: ['identity', 'placement'] });
    admin = await c.adminToken();
  });
  after(async () => c?.stop());

  it('serves the version document and negotiates microversions', async () => {
    const root = await c.request('GET', '/', { service: 'placement' });
    assert.equal(root.status, 200);
    assert.deepEqual(root.body.versions[0].min_version, '1.0');
    assert.equal(root.body.versions[0].max_version, '1.39');
    assert.equal(root.headers.get('openstack-api-version'), 'placement 1.0');
    assert.match(root.headers.get('vary') ?? '', /openstack-api-version/i);
    const latest = await pl('GET', '/resource_providers', undefined, 'latest');
    assert.equal(latest.headers.get('openstack-api-version'), 'placement 1.39');
    const tooNew = await pl('GET', '/resource_providers', undefined, '1.40');
    assert.equal(tooNew.status, 406);
    assert.equal(tooNew.body.errors[0].status, 406);
    assert.match(tooNew.body.errors[0].request_id, /^req-/);
    // Traits appeared in 1.6.
    assert.equal((await pl('GET', '/traits', undefined, '1.5')).status, 404);
  });

  it('enforces admin-only policy and renders errors in Placement format', async () => {
    const projects = await c.request('GET', '/v3/projects?name=demo', { token: admin });
    const demoId = projects.body.projects[0].id;
    const u = await makeUser(c, admin, demoId, ['member']);
    const tok = await c.token(u.name, u.password, 'demo');
    const r = await pl('GET', '/resource_providers', undefined, '1.39', tok);
    assert.equal(r.status, 403);
    assert.equal(r.body.errors[0].code, 'placement.undefined_code');
    const nf = await pl('GET', `/resource_providers/${randomUUID()}`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.errors[0].title, 'Not Found');
    const badBody = await pl('POST', '/resource_providers', { nom: 'x' });
    assert.equal(badBody.status, 400);
    assert.equal(badBody.body.errors[0].status, 400);
    assert.equal((await c.request('GET', '/resource_providers', { service: 'placement' })).status, 401);
  });

  it('creates, lists, renames and deletes providers; nests trees', async () => {
    const old = await pl('POST', '/resource_providers', { name: uniq('old') }, '1.0');
    assert.equal(old.status, 201);
    assert.match(old.headers.get('location') ?? '', /^\/resource_providers\/[0-9a-f-]{36}$/);
    const root = await newRp();
    assert.equal(root.generation, 0);
    assert.equal(root.root_provider_uuid, root.uuid);
    const child = await newRp({ parent_provider_uuid: root.uuid });
    assert.equal(child.root_provider_uuid, root.uuid);
    const dup = await pl('POST', '/resource_providers', { name: (await pl('GET', `/resource_providers/${root.uuid}`)).body.name });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.errors[0].code, 'placement.duplicate_name');
    const tree = await pl('GET', `/resource_providers?in_tree=${child.uuid}`);
    assert.deepEqual(tree.body.resource_providers.map((p: { uuid: string }) => p.uuid).sort(), [root.uuid, child.uuid].sort());
    const renamed = await pl('PUT', `/resource_providers/${child.uuid}`, { name: uniq('renamed') });
    assert.equal(renamed.status, 200);
    assert.equal((await pl('DELETE', `/resource_providers/${root.uuid}`)).status, 409);
    assert.equal((await pl('DELETE', `/resource_providers/${child.uuid}`)).status, 204);
    assert.equal((await pl('DELETE', `/resource_providers/${root.uuid}`)).status, 204);
    assert.equal((await pl('GET', `/resource_providers/${root.uuid}`)).status, 404);
  });

  it('manages inventories with generations and capacity', async () => {
    const rp = await newRp();
    const bad = await pl('PUT', `/resource_providers/${rp.uuid}/inventories`, { resource_provider_generation: 5, inventories: { VCPU: { total: 8 } } });
    assert.equal(bad.status, 409);
    assert.equal(bad.body.errors[0].code, 'placement.concurrent_update');
    const inv = await setInv(rp.uuid, { VCPU: { total: 8, reserved: 2, allocation_ratio: 4.0 }, MEMORY_MB: { total: 4096, max_unit: 2048, step_size: 256 } });
    assert.equal(inv.resource_provider_generation, 1);
    assert.deepEqual(inv.inventories.VCPU, { total: 8, reserved: 2, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 4 });
    const one = await pl('GET', `/resource_providers/${rp.uuid}/inventories/MEMORY_MB`);
    assert.equal(one.body.max_unit, 2048);
    assert.equal(one.body.resource_provider_generation, 1);
    const unknown = await pl('PUT', `/resource_providers/${rp.uuid}/inventories`, { resource_provider_generation: 1, inventories: { CUSTOM_NOPE: { total: 1 } } });
    assert.equal(unknown.status, 400);
    // capacity (8-2)*4 = 24 VCPU
    const consumer = randomUUID();
    assert.equal((await alloc(consumer, { [rp.uuid]: { VCPU: 24 } })).status, 204);
    const usages = await pl('GET', `/resource_providers/${rp.uuid}/usages`);
    assert.deepEqual(usages.body.usages, { VCPU: 24, MEMORY_MB: 0 });
    const shrink = await pl('PUT', `/resource_providers/${rp.uuid}/inventories/VCPU`, { resource_provider_generation: usages.body.resource_provider_generation, total: 4 });
    // as upstream: capacity may fall below usage (draining); new claims then fail
    assert.equal(shrink.status, 200);
    assert.equal((await alloc(randomUUID(), { [rp.uuid]: { VCPU: 1 } })).status, 409);
    const del = await pl('DELETE', `/resource_providers/${rp.uuid}/inventories/VCPU`);
    assert.equal(del.status, 409);
    assert.equal(del.body.errors[0].code, 'placement.inventory.inuse');
    assert.equal((await pl('DELETE', `/allocations/${consumer}`)).status, 204);
    assert.equal((await pl('DELETE', `/resource_providers/${rp.uuid}/inventories/VCPU`)).status, 204);
    assert.equal((await pl('DELETE', `/resource_providers/${rp.uuid}/inventories`)).status, 204);
    assert.deepEqual((await pl('GET', `/resource_providers/${rp.uuid}/inventories`)).body.inventories, {});
  });

  it('writes allocations with capacity, unit and consumer-generation checks', async () => {
    const rp = await newRp();
    await setInv(rp.uuid, { VCPU: { total: 4 }, MEMORY_MB: { total: 2048, step_size: 512 } });
    const consumer = randomUUID();
    assert.equal((await alloc(consumer, { [rp.uuid]: { VCPU: 2, MEMORY_MB: 512 } })).status, 204);
    const got = await pl('GET', `/allocations/${consumer}`);
    assert.deepEqual(got.body.allocations[rp.uuid].resources, { VCPU: 2, MEMORY_MB: 512 });
    assert.equal(got.body.consumer_generation, 1);
    assert.equal(got.body.project_id, 'p1');
    assert.equal(got.body.consumer_type, 'INSTANCE');
    // stale consumer generation
    const stale = await alloc(consumer, { [rp.uuid]: { VCPU: 1 } }, null);
    assert.equal(stale.status, 409);
    assert.equal(stale.body.errors[0].code, 'placement.concurrent_update');
    const over = await alloc(randomUUID(), { [rp.uuid]: { VCPU: 3 } });
    assert.equal(over.status, 409);
    assert.match(over.body.errors[0].detail, /exceed the capacity/);
    const step = await alloc(randomUUID(), { [rp.uuid]: { MEMORY_MB: 100 } });
    assert.equal(step.status, 409);
    const nowhere = randomUUID();
    const missingRp = await alloc(randomUUID(), { [nowhere]: { VCPU: 1 } });
    assert.equal(missingRp.status, 400);
    assert.match(missingRp.body.errors[0].detail, new RegExp(`Resource provider '${nowhere}' not found`));
    const noInventory = await alloc(randomUUID(), { [rp.uuid]: { DISK_GB: 1 } });
    assert.equal(noInventory.status, 409);
    assert.match(noInventory.body.errors[0].detail, /Inventory for 'DISK_GB' on resource provider .* invalid/);
    // none of the refused writes changed the provider's usage
    assert.deepEqual((await pl('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { VCPU: 2, MEMORY_MB: 512 });
    // POST /allocations: two consumers at once, atomically
    const [a, b] = [randomUUID(), randomUUID()];
    const multi = await pl('POST', '/allocations', {
      [a]: { allocations: { [rp.uuid]: { resources: { VCPU: 1 } } }, project_id: 'p1', user_id: 'u2', consumer_generation: null, consumer_type: 'INSTANCE' },
      [b]: { allocations: { [rp.uuid]: { resources: { VCPU: 2 } } }, project_id: 'p1', user_id: 'u2', consumer_generation: null, consumer_type: 'INSTANCE' },
    });
    assert.equal(multi.status, 409); // 2 + 1 + 2 > 4: nothing written
    assert.deepEqual((await pl('GET', `/allocations/${a}`)).body, { allocations: {} });
    const ok = await pl('POST', '/allocations', {
      [a]: { allocations: { [rp.uuid]: { resources: { VCPU: 1 } } }, project_id: 'p1', user_id: 'u2', consumer_generation: null, consumer_type: 'MIGRATION' },
    });
    assert.equal(ok.status, 204);
    const rpAllocs = await pl('GET', `/resource_providers/${rp.uuid}/allocations`);
    assert.deepEqual(Object.keys(rpAllocs.body.allocations).sort(), [consumer, a].sort());
    const usage = await pl('GET', '/usages?project_id=p1', undefined, '1.9');
    assert.ok(usage.body.usages.VCPU >= 3);
    const typed = await pl('GET', '/usages?project_id=p1&user_id=u2');
    assert.deepEqual(typed.body.usages, { MIGRATION: { VCPU: 1, consumer_count: 1 } });
    // Empty allocations at 1.28+ delete them.
    assert.equal((await alloc(consumer, {}, 1)).status, 204);
    assert.deepEqual((await pl('GET', `/allocations/${consumer}`)).body, { allocations: {} });
    assert.equal((await pl('DELETE', `/allocations/${randomUUID()}`)).status, 404);
  });

  it('never oversubscribes under concurrent claims', async () => {
    const rp = await newRp();
    await setInv(rp.uuid, { VCPU: { total: 10 } });
    const results = await Promise.all(Array.from({ length: 25 }, () => alloc(randomUUID(), { [rp.uuid]: { VCPU: 1 } })));
    const ok = results.filter((r) => r.status === 204).length;
    assert.ok(results.every((r) => r.status === 204 || r.status === 409), JSON.stringify(results.map((r) => r.status)));
    assert.equal(ok, 10);
    assert.deepEqual((await pl('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { VCPU: 10 });
  });

  it('manages resource classes, traits and aggregates', async () => {
    const rcs = await pl('GET', '/resource_classes');
    assert.ok(rcs.body.resource_classes.some((r: { name: string }) => r.name === 'PCPU'));
    assert.equal((await pl('PUT', '/resource_classes/CUSTOM_GOLD')).status, 201);
    assert.equal((await pl('PUT', '/resource_classes/CUSTOM_GOLD')).status, 204);
    assert.equal((await pl('POST', '/resource_classes', { name: 'CUSTOM_GOLD' })).status, 409);
    assert.equal((await pl('POST', '/resource_classes', { name: 'GOLD' })).status, 400);
    assert.equal((await pl('DELETE', '/resource_classes/VCPU')).status, 400);
    assert.equal((await pl('DELETE', '/resource_classes/CUSTOM_GOLD')).status, 204);

    assert.equal((await pl('GET', '/traits/HW_CPU_X86_AVX')).status, 204);
    assert.equal((await pl('PUT', '/traits/CUSTOM_FAST')).status, 201);
    assert.equal((await pl('PUT', '/traits/NOT_CUSTOM')).status, 400);
    const list = await pl('GET', '/traits?name=startswith:CUSTOM_');
    assert.deepEqual(list.body.traits, ['CUSTOM_FAST']);
    const rp = await newRp();
    const set = await pl('PUT', `/resource_providers/${rp.uuid}/traits`, { resource_provider_generation: 0, traits: ['CUSTOM_FAST', 'STORAGE_DISK_SSD'] });
    assert.equal(set.status, 200);
    assert.equal(set.body.resource_provider_generation, 1);
    assert.equal((await pl('PUT', `/resource_providers/${rp.uuid}/traits`, { resource_provider_generation: 0, traits: [] })).status, 409);
    assert.equal((await pl('DELETE', '/traits/CUSTOM_FAST')).status, 409);
    const withTrait = await pl('GET', '/resource_providers?required=CUSTOM_FAST');
    assert.deepEqual(withTrait.body.resource_providers.map((p: { uuid: string }) => p.uuid), [rp.uuid]);
    const agg = randomUUID();
    const a = await pl('PUT', `/resource_providers/${rp.uuid}/aggregates`, { resource_provider_generation: 1, aggregates: [agg] });
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, { aggregates: [agg], resource_provider_generation: 2 });
    const member = await pl('GET', `/resource_providers?member_of=in:${agg},${randomUUID()}`);
    assert.deepEqual(member.body.resource_providers.map((p: { uuid: string }) => p.uuid), [rp.uuid]);
    const old = await pl('PUT', `/resource_providers/${rp.uuid}/aggregates`, [agg], '1.1');
    assert.deepEqual(old.body, { aggregates: [agg] });
    assert.equal((await pl('DELETE', `/resource_providers/${rp.uuid}/traits`)).status, 204);
    assert.equal((await pl('DELETE', '/traits/CUSTOM_FAST')).status, 204);
  });

  it('lists allocation candidates for single providers and trees', async () => {
    await pl('PUT', '/traits/CUSTOM_CANDIDATE');
    const host = await newRp();
    await setInv(host.uuid, { VCPU: { total: 16 }, MEMORY_MB: { total: 32768 } });
    const numa = await newRp({ parent_provider_uuid: host.uuid });
    await setInv(numa.uuid, { PCPU: { total: 4 } });
    await pl('PUT', `/resource_providers/${host.uuid}/traits`, { resource_provider_generation: (await pl('GET', `/resource_providers/${host.uuid}`)).body.generation, traits: ['CUSTOM_CANDIDATE'] });
    const r = await pl('GET', '/allocation_candidates?resources=VCPU:2,MEMORY_MB:1024,PCPU:2&required=CUSTOM_CANDIDATE');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.allocation_requests.length, 1);
    assert.deepEqual(r.body.allocation_requests[0].allocations, {
      [host.uuid]: { resources: { VCPU: 2, MEMORY_MB: 1024 } },
      [numa.uuid]: { resources: { PCPU: 2 } },
    });
    assert.deepEqual(r.body.provider_summaries[numa.uuid].resources, { PCPU: { capacity: 4, used: 0 } });
    assert.equal(r.body.provider_summaries[numa.uuid].root_provider_uuid, host.uuid);
    const tooMuch = await pl('GET', '/allocation_candidates?resources=PCPU:5&required=CUSTOM_CANDIDATE');
    assert.deepEqual(tooMuch.body, { allocation_requests: [], provider_summaries: {} });
    const granular = await pl('GET', `/allocation_candidates?resources=VCPU:1&resources1=PCPU:1&required=CUSTOM_CANDIDATE&group_policy=isolate`);
    assert.deepEqual(granular.body.allocation_requests[0].mappings, { '': [host.uuid], 1: [numa.uuid] });
    const old = await pl('GET', '/allocation_candidates?resources=PCPU:1', undefined, '1.10');
    assert.equal(old.status, 200);
    assert.ok(Array.isArray(old.body.allocation_requests[0].allocations));
    const badRes = await pl('GET', '/allocation_candidates?resources=VCPU-1');
    assert.equal(badRes.status, 400);
    assert.equal((await pl('GET', '/allocation_candidates?resources=VCPU:1', undefined, '1.9')).status, 404);
  });
});
