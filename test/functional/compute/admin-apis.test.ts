import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';
import type { ComputeServiceModule } from '../../../src/compute/compute-service.js';
import type { ComputeContext } from '../../../src/compute/service/context.js';
import type { PlacementServiceModule } from '../../../src/placement/placement-service.js';
import { addGroupMember, groupMembersHosts } from '../../../src/compute/service/server-groups.js';
import { hoursFor, parseUsageTime, usagePeriod } from '../../../src/compute/service/usage.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;
const sorted = (xs: string[]) => [...xs].sort();

describe('compute admin APIs: zones, hypervisors, services, aggregates, server groups, usage, migrations', () => {
  let k: ComputeCloud;
  let cx: ComputeContext;
  let conductorId: string;
  before(async () => {
    k = await startComputeCloud({ fakeHosts: 2 });
    cx = (k.c.cloud.modules.find((m) => m.name === 'compute') as ComputeServiceModule).context;
    // an internal service (what a conductor registers), to see the internal zone
    conductorId = randomUUID();
    const now = new Date().toISOString();
    await cx.db.insertInto('service').values({
      id: conductorId, host: 'ctl1', binary: 'nova-conductor', topic: 'conductor', zone: 'internal', disabled: 0, disabled_reason: null,
      forced_down: 0, last_seen_up: now, created_at: now, updated_at: now,
    }).execute();
  });
  after(async () => { await k?.stop(); });

  describe('usage periods (pure logic)', () => {
    it('parses Nova\'s three time formats as UTC and rejects the rest', () => {
      const now = new Date('2030-01-01T00:00:00Z');
      assert.equal(parseUsageTime('2024-02-03T04:05:06', now).toISOString(), '2024-02-03T04:05:06.000Z');
      assert.equal(parseUsageTime('2024-02-03T04:05:06.123456', now).toISOString(), '2024-02-03T04:05:06.123Z');
      assert.equal(parseUsageTime('2024-02-03 04:05:06.5', now).toISOString(), '2024-02-03T04:05:06.500Z');
      assert.equal(parseUsageTime(undefined, now), now);
      for (const bad of ['2024-02-30T00:00:00', 'yesterday', '2024-02-03', '2024-02-03T25:00:00']) {
        assert.throws(() => parseUsageTime(bad, now), (e: any) => e.status === 400, bad);
      }
      assert.throws(() => usagePeriod('2024-02-03T00:00:00', '2024-02-02T00:00:00'), /cannot occur after/);
    });
    it('charges only the hours inside the period', () => {
      const d = (s: string) => new Date(`2024-01-01T${s}:00Z`);
      assert.equal(hoursFor(d('01:00'), null, d('00:00'), d('03:00')), 2);
      assert.equal(hoursFor(d('01:00'), d('02:30'), d('00:00'), d('03:00')), 1.5);
      assert.equal(hoursFor(d('00:00'), d('01:00'), d('02:00'), d('03:00')), 0, 'terminated before the period');
      assert.equal(hoursFor(d('04:00'), null, d('02:00'), d('03:00')), 0, 'launched after the period');
      assert.equal(hoursFor(null, null, d('02:00'), d('03:00')), 0, 'never launched');
    });
  });

  it('os-availability-zone: members see nova; admins see hosts, services and the internal zone', async () => {
    const list = await k.nova('GET', '/v2.1/os-availability-zone', { token: k.a.reader });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] });
    assert.equal((await k.nova('GET', '/v2.1/os-availability-zone/detail', { token: k.a.member })).status, 403);
    const detail = await k.nova('GET', '/v2.1/os-availability-zone/detail');
    assert.equal(detail.status, 200);
    const zones = Object.fromEntries(detail.body.availabilityZoneInfo.map((z: any) => [z.zoneName, z]));
    assert.deepEqual(sorted(Object.keys(zones)), ['internal', 'nova']);
    assert.deepEqual(sorted(Object.keys(zones.nova.hosts)), ['compute1', 'compute1-2']);
    const svc = zones.nova.hosts.compute1['nova-compute'];
    assert.equal(svc.available, true);
    assert.equal(svc.active, true);
    assert.match(svc.updated_at, MICRO);
    assert.deepEqual(Object.keys(zones.internal.hosts.ctl1), ['nova-conductor']);
  });

  it('os-services: list, filters, ids per microversion, the old actions and the 2.53 update', async () => {
    assert.equal((await k.nova('GET', '/v2.1/os-services', { token: k.a.member })).status, 403);
    const v21 = await k.nova('GET', '/v2.1/os-services');
    assert.equal(v21.status, 200);
    // two compute hosts, this process's conductor and scheduler (compute1), and a conductor on ctl1
    assert.equal(v21.body.services.length, 5);
    const c1 = v21.body.services.find((s: any) => s.host === 'compute1' && s.binary === 'nova-compute');
    assert.deepEqual(Object.keys(c1).sort(), ['binary', 'disabled_reason', 'host', 'id', 'state', 'status', 'updated_at', 'zone']);
    assert.ok(Number.isInteger(c1.id) && c1.id > 0);
    assert.deepEqual([c1.binary, c1.zone, c1.state, c1.status, c1.disabled_reason], ['nova-compute', 'nova', 'up', 'enabled', null]);
    assert.equal(v21.body.services.find((s: any) => s.binary === 'nova-conductor').zone, 'internal');
    const v253 = await k.nova('GET', '/v2.1/os-services?binary=nova-compute', { version: '2.53' });
    assert.equal(v253.body.services.length, 2);
    assert.ok(v253.body.services.every((s: any) => UUID.test(s.id) && s.forced_down === false));
    assert.equal((await k.nova('GET', '/v2.1/os-services?host=compute1&binary=xxx')).body.services.length, 0);
    assert.equal((await k.nova('GET', '/v2.1/os-services?host=xxx&binary=nova-compute')).body.services.length, 0);
    assert.equal((await k.nova('GET', '/v2.1/os-services?host=compute1-2')).body.services.length, 1);
    assert.equal((await k.nova('GET', '/v2.1/os-services?xxx=1')).body.services.length, 5, 'unknown filters ignored before 2.75');
    assert.equal((await k.nova('GET', '/v2.1/os-services?xxx=1', { version: '2.75' })).status, 400);

    // before 2.53: actions named in the path, the service named by host + binary
    const body = { host: 'compute1-2', binary: 'nova-compute' };
    let r = await k.nova('PUT', '/v2.1/os-services/disable', { body });
    assert.deepEqual([r.status, r.body], [200, { service: { ...body, status: 'disabled' } }]);
    r = await k.nova('PUT', '/v2.1/os-services/disable-log-reason', { body: { ...body, disabled_reason: 'maintenance' } });
    assert.deepEqual(r.body, { service: { ...body, status: 'disabled', disabled_reason: 'maintenance' } });
    let listed = (await k.nova('GET', '/v2.1/os-services?host=compute1-2')).body.services[0];
    assert.deepEqual([listed.status, listed.disabled_reason], ['disabled', 'maintenance']);
    r = await k.nova('PUT', '/v2.1/os-services/enable', { body });
    assert.deepEqual(r.body, { service: { ...body, status: 'enabled' } });
    listed = (await k.nova('GET', '/v2.1/os-services?host=compute1-2')).body.services[0];
    assert.deepEqual([listed.status, listed.disabled_reason], ['enabled', null]);
    assert.equal((await k.nova('PUT', '/v2.1/os-services/force-down', { body: { ...body, forced_down: true } })).status, 404, 'force-down needs 2.11');
    r = await k.nova('PUT', '/v2.1/os-services/force-down', { body: { ...body, forced_down: true }, version: '2.11' });
    assert.deepEqual(r.body, { service: { ...body, forced_down: true } });
    listed = (await k.nova('GET', '/v2.1/os-services?host=compute1-2', { version: '2.11' })).body.services[0];
    assert.deepEqual([listed.state, listed.forced_down], ['down', true]);
    r = await k.nova('PUT', '/v2.1/os-services/force-down', { body: { ...body, forced_down: false }, version: '2.11' });
    assert.equal(r.status, 200);
    assert.equal((await k.nova('PUT', '/v2.1/os-services/reboot', { body })).status, 404);
    assert.equal((await k.nova('PUT', '/v2.1/os-services/disable', { body: { host: 'nohost', binary: 'nova-compute' } })).status, 404);
    const notCompute = await k.nova('PUT', '/v2.1/os-services/disable', { body: { host: 'ctl1', binary: 'nova-conductor' } });
    assert.equal(notCompute.status, 400);
    assert.match(notCompute.body.badRequest.message, /Only nova-compute services can be updated/);
    assert.equal((await k.nova('PUT', '/v2.1/os-services/disable-log-reason', { body })).status, 400, 'reason required');
    assert.equal((await k.nova('PUT', '/v2.1/os-services/disable', { body: { host: 'compute1' } })).status, 400);

    // 2.53: PUT /os-services/{uuid}
    const id = v253.body.services.find((s: any) => s.host === 'compute1-2').id;
    r = await k.nova('PUT', `/v2.1/os-services/${id}`, { version: '2.53', body: { status: 'disabled', disabled_reason: 'disk swap' } });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body.service).sort(), ['binary', 'disabled_reason', 'forced_down', 'host', 'id', 'state', 'status', 'updated_at', 'zone']);
    assert.deepEqual([r.body.service.id, r.body.service.status, r.body.service.disabled_reason], [id, 'disabled', 'disk swap']);
    // a zone stays available while one of its services is enabled
    const zones = await k.nova('GET', '/v2.1/os-availability-zone');
    assert.deepEqual(zones.body.availabilityZoneInfo, [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }]);
    assert.equal((await k.nova('PUT', `/v2.1/os-services/${id}`, { version: '2.53', body: { status: 'enabled', disabled_reason: 'x' } })).status, 400);
    assert.equal((await k.nova('PUT', `/v2.1/os-services/${id}`, { version: '2.53', body: {} })).status, 400);
    assert.equal((await k.nova('PUT', `/v2.1/os-services/${id}`, { version: '2.53', body: { status: 'sleeping' } })).status, 400);
    assert.equal((await k.nova('PUT', `/v2.1/os-services/${randomUUID()}`, { version: '2.53', body: { status: 'enabled' } })).status, 404);
    assert.equal((await k.nova('PUT', '/v2.1/os-services/enable', { version: '2.53', body })).status, 400, 'ids are uuids since 2.53');
    r = await k.nova('PUT', `/v2.1/os-services/${id}`, { version: '2.53', body: { status: 'enabled', forced_down: false } });
    assert.deepEqual([r.body.service.status, r.body.service.disabled_reason, r.body.service.forced_down, r.body.service.state], ['enabled', null, false, 'up']);
  });

  it('os-availability-zone: a zone whose services are all disabled is not available', async () => {
    const ids = (await k.nova('GET', '/v2.1/os-services?binary=nova-compute', { version: '2.53' })).body.services.map((s: any) => s.id);
    for (const id of ids) assert.equal((await k.nova('PUT', `/v2.1/os-services/${id}`, { version: '2.53', body: { status: 'disabled' } })).status, 200);
    try {
      const list = await k.nova('GET', '/v2.1/os-availability-zone', { token: k.a.member });
      assert.deepEqual(list.body.availabilityZoneInfo, [{ zoneName: 'nova', zoneState: { available: false }, hosts: null }]);
      const stats = await k.nova('GET', '/v2.1/os-hypervisors/statistics');
      assert.equal(stats.body.hypervisor_statistics.count, 0, 'statistics count enabled hosts only');
    } finally {
      for (const id of ids) await k.nova('PUT', `/v2.1/os-services/${id}`, { version: '2.53', body: { status: 'enabled' } });
    }
  });

  it('os-hypervisors: list, detail, show, statistics, uptime, search and servers per microversion', async () => {
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors', { token: k.a.member })).status, 403);
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors/statistics', { token: k.a.member })).status, 403);
    const s = await k.boot(k.a.member, { name: 'hyp-vm' });
    const host = (await k.nova('GET', `/v2.1/servers/${s.id}`)).body.server['OS-EXT-SRV-ATTR:host'];
    const list = await k.nova('GET', '/v2.1/os-hypervisors');
    assert.equal(list.status, 200);
    assert.equal(list.body.hypervisors.length, 2);
    for (const h of list.body.hypervisors) {
      assert.deepEqual(Object.keys(h).sort(), ['hypervisor_hostname', 'id', 'state', 'status']);
      assert.ok(Number.isInteger(h.id));
      assert.deepEqual([h.state, h.status], ['up', 'enabled']);
    }
    const detail = await k.nova('GET', '/v2.1/os-hypervisors/detail');
    const mine = detail.body.hypervisors.find((h: any) => h.hypervisor_hostname === host);
    assert.equal(typeof mine.cpu_info, 'string', 'cpu_info is a string before 2.28');
    assert.equal(mine.hypervisor_type, 'fake');
    assert.equal(mine.running_vms, 1);
    assert.equal(mine.vcpus_used, 1);
    assert.equal(mine.local_gb_used, 1);
    assert.equal(mine.free_ram_mb, mine.memory_mb - mine.memory_mb_used);
    assert.ok(Number.isInteger(mine.service.id));
    assert.equal(mine.service.host, host);
    const one = await k.nova('GET', `/v2.1/os-hypervisors/${mine.id}`, { version: '2.28' });
    assert.equal(one.body.hypervisor.hypervisor_hostname, host);
    assert.equal(typeof one.body.hypervisor.cpu_info, 'object');
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors/999999')).status, 404);
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors/abc')).status, 404);
    const stats = (await k.nova('GET', '/v2.1/os-hypervisors/statistics')).body.hypervisor_statistics;
    assert.equal(stats.count, 2);
    assert.equal(stats.vcpus, detail.body.hypervisors.reduce((n: number, h: any) => n + h.vcpus, 0));
    assert.equal(stats.running_vms, detail.body.hypervisors.reduce((n: number, h: any) => n + h.running_vms, 0));
    const up = await k.nova('GET', `/v2.1/os-hypervisors/${mine.id}/uptime`);
    assert.equal(up.status, 200);
    assert.match(up.body.hypervisor.uptime, / up \d+ days, /);
    assert.equal(up.body.hypervisor.id, mine.id);

    // before 2.53: search and servers by hostname pattern
    const search = await k.nova('GET', '/v2.1/os-hypervisors/compute1/search');
    assert.equal(search.body.hypervisors.length, 2);
    const servers = await k.nova('GET', `/v2.1/os-hypervisors/${host}/servers`);
    const withVm = servers.body.hypervisors.find((h: any) => h.hypervisor_hostname === host);
    assert.ok(withVm.servers.some((x: any) => x.uuid === s.id && x.name === 'hyp-vm'));
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors/nomatch/search')).status, 404);
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors/compute1/search', { version: '2.53' })).status, 404, 'removed in 2.53');

    // 2.33 paging, 2.53 uuids, patterns and with_servers
    const page = await k.nova('GET', '/v2.1/os-hypervisors?limit=1', { version: '2.33' });
    assert.equal(page.body.hypervisors.length, 1);
    assert.match(page.body.hypervisors_links[0].href, new RegExp(`marker=${page.body.hypervisors[0].id}`));
    const page2 = await k.nova('GET', `/v2.1/os-hypervisors?limit=1&marker=${page.body.hypervisors[0].id}`, { version: '2.33' });
    assert.notEqual(page2.body.hypervisors[0].id, page.body.hypervisors[0].id);
    const u = await k.nova('GET', '/v2.1/os-hypervisors/detail?with_servers=true', { version: '2.53' });
    const uMine = u.body.hypervisors.find((h: any) => h.hypervisor_hostname === host);
    assert.match(uMine.id, UUID);
    assert.match(uMine.service.id, UUID);
    assert.ok(uMine.servers.some((x: any) => x.uuid === s.id));
    const pattern = await k.nova('GET', `/v2.1/os-hypervisors?hypervisor_hostname_pattern=${host}&with_servers=1`, { version: '2.53' });
    assert.ok(pattern.body.hypervisors.some((h: any) => h.id === uMine.id && h.servers.length >= 1));
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors?hypervisor_hostname_pattern=zzz', { version: '2.53' })).status, 404);
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors?hypervisor_hostname_pattern=c&limit=1', { version: '2.53' })).status, 400);
    assert.equal((await k.nova('GET', `/v2.1/os-hypervisors/${mine.id}`, { version: '2.53' })).status, 400, 'an integer id is not a uuid');
    assert.equal((await k.nova('GET', `/v2.1/os-hypervisors/${uMine.id}`, { version: '2.53' })).body.hypervisor.hypervisor_hostname, host);
    assert.equal((await k.nova('GET', `/v2.1/os-hypervisors/${randomUUID()}`, { version: '2.53' })).status, 404);
    // 2.88: usage fields and statistics gone, uptime inline
    const v288 = await k.nova('GET', `/v2.1/os-hypervisors/${uMine.id}`, { version: '2.88' });
    assert.deepEqual(Object.keys(v288.body.hypervisor).sort(), ['host_ip', 'hypervisor_hostname', 'hypervisor_type', 'hypervisor_version', 'id', 'service', 'state', 'status', 'uptime']);
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors/statistics', { version: '2.88' })).status, 404);
    assert.equal((await k.nova('GET', `/v2.1/os-hypervisors/${uMine.id}/uptime`, { version: '2.88' })).status, 404);
    await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member });
    await k.waitFor(k.a.member, s.id, 'DELETED');
  });

  it('os-aggregates: membership is mirrored onto placement providers when the client can', async () => {
    const placement = (k.c.cloud.modules.find((m) => m.name === 'placement') as PlacementServiceModule).service;
    const original = cx.placement;
    // the aggregate operations the PlacementClient is to gain (see the report to the lead)
    (cx as any).placement = {
      ...original,
      providerAggregates: async (uuid: string) => (await placement.providerAggregates(uuid)).aggregates,
      setProviderAggregates: async (uuid: string, aggs: string[]) => {
        await placement.setProviderAggregates(uuid, (await placement.providerAggregates(uuid)).generation, aggs);
      },
    };
    try {
      const node = (await k.nova('GET', '/v2.1/os-hypervisors?hypervisor_hostname_pattern=compute1-2', { version: '2.53' })).body.hypervisors[0].id;
      const agg = (await k.nova('POST', '/v2.1/os-aggregates', { version: '2.41', body: { aggregate: { name: 'mirrored' } } })).body.aggregate;
      assert.equal((await k.nova('POST', `/v2.1/os-aggregates/${agg.id}/action`, { body: { add_host: { host: 'compute1-2' } } })).status, 200);
      assert.deepEqual((await placement.providerAggregates(node)).aggregates, [agg.uuid]);
      assert.equal((await k.nova('POST', `/v2.1/os-aggregates/${agg.id}/action`, { body: { remove_host: { host: 'compute1-2' } } })).status, 200);
      assert.deepEqual((await placement.providerAggregates(node)).aggregates, []);
      assert.equal((await k.nova('DELETE', `/v2.1/os-aggregates/${agg.id}`)).status, 200);
    } finally {
      (cx as any).placement = original;
    }
  });

  it('os-aggregates: CRUD, hosts, metadata and availability zones with Nova\'s 400/404/409 rules', async () => {
    assert.equal((await k.nova('GET', '/v2.1/os-aggregates', { token: k.a.member })).status, 403);
    assert.equal((await k.nova('POST', '/v2.1/os-aggregates', { token: k.a.member, body: { aggregate: { name: 'x' } } })).status, 403);
    const created = await k.nova('POST', '/v2.1/os-aggregates', { body: { aggregate: { name: 'agg1' } } });
    assert.equal(created.status, 200);
    assert.deepEqual(Object.keys(created.body.aggregate).sort(), ['availability_zone', 'created_at', 'deleted', 'deleted_at', 'id', 'name', 'updated_at']);
    assert.equal(created.body.aggregate.availability_zone, null);
    assert.equal(created.body.aggregate.deleted, false);
    const id = created.body.aggregate.id;
    assert.ok(Number.isInteger(id));
    for (const bad of [{ name: '' }, { name: 'x'.repeat(256) }, {}, { name: 'a', color: 'red' }, { name: 'b', availability_zone: 'a:b' }]) {
      assert.equal((await k.nova('POST', '/v2.1/os-aggregates', { body: { aggregate: bad } })).status, 400, JSON.stringify(bad));
    }
    assert.equal((await k.nova('POST', '/v2.1/os-aggregates', { body: { aggregate: { name: 'agg1' } } })).status, 409);
    const withAz = await k.nova('POST', '/v2.1/os-aggregates', { body: { aggregate: { name: 'agg2', availability_zone: 'zone-b' } }, version: '2.41' });
    assert.equal(withAz.body.aggregate.availability_zone, 'zone-b');
    assert.match(withAz.body.aggregate.uuid, UUID);
    const id2 = withAz.body.aggregate.id;
    assert.equal(id2, id + 1);
    const shown = await k.nova('GET', `/v2.1/os-aggregates/${id2}`);
    assert.deepEqual([shown.body.aggregate.hosts, shown.body.aggregate.metadata], [[], { availability_zone: 'zone-b' }]);
    assert.equal(shown.body.aggregate.uuid, undefined, 'uuid only since 2.41');
    assert.equal((await k.nova('GET', '/v2.1/os-aggregates/987654')).status, 404);
    assert.equal((await k.nova('GET', '/v2.1/os-aggregates/abc')).status, 400);
    assert.equal((await k.nova('GET', '/v2.1/os-aggregates/99999999999999')).status, 404, 'beyond the id range: not found, not a 500');
    const listed = await k.nova('GET', '/v2.1/os-aggregates');
    assert.deepEqual(listed.body.aggregates.map((a: any) => [a.id, a.name, a.availability_zone]), [[id, 'agg1', null], [id2, 'agg2', 'zone-b']]);

    // update: name and zone
    const upd = await k.nova('PUT', `/v2.1/os-aggregates/${id}`, { body: { aggregate: { name: 'agg1-renamed', availability_zone: 'zone-a' } } });
    assert.equal(upd.status, 200);
    assert.deepEqual([upd.body.aggregate.name, upd.body.aggregate.availability_zone, upd.body.aggregate.metadata], ['agg1-renamed', 'zone-a', { availability_zone: 'zone-a' }]);
    assert.match(upd.body.aggregate.updated_at, MICRO);
    assert.equal((await k.nova('PUT', `/v2.1/os-aggregates/${id}`, { body: { aggregate: { name: 'agg2' } } })).status, 409);
    assert.equal((await k.nova('PUT', `/v2.1/os-aggregates/${id}`, { body: { aggregate: {} } })).status, 400);

    // hosts
    const act = (aid: number, body: unknown) => k.nova('POST', `/v2.1/os-aggregates/${aid}/action`, { body });
    assert.equal((await k.nova('POST', `/v2.1/os-aggregates/${id}/action`, { token: k.a.member, body: { add_host: { host: 'compute1' } } })).status, 403);
    assert.equal((await act(id, { add_host: { host: 'nohost' } })).status, 404);
    assert.equal((await act(987654, { add_host: { host: 'compute1' } })).status, 404);
    const added = await act(id, { add_host: { host: 'compute1' } });
    assert.equal(added.status, 200);
    assert.deepEqual(added.body.aggregate.hosts, ['compute1']);
    assert.equal((await act(id, { add_host: { host: 'compute1' } })).status, 409, 'already a member');
    const clash = await act(id2, { add_host: { host: 'compute1' } });
    assert.equal(clash.status, 409, 'a host is in one zone only');
    assert.match(clash.body.conflictingRequest.message, /already in availability zone\(s\) \['zone-a'\]/);
    // the host's zone follows the aggregate
    const svc = (await k.nova('GET', '/v2.1/os-services?host=compute1&binary=nova-compute')).body.services[0];
    assert.equal(svc.zone, 'zone-a');
    const zones = await k.nova('GET', '/v2.1/os-availability-zone', { token: k.a.member });
    assert.deepEqual(sorted(zones.body.availabilityZoneInfo.map((z: any) => z.zoneName)), ['nova', 'zone-a']);
    // a server in zone-a lands on compute1; then the zone cannot change under it
    const s = await k.boot(k.a.member, { name: 'az-vm', availability_zone: 'zone-a' });
    assert.equal(s['OS-EXT-AZ:availability_zone'], 'zone-a');
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}`)).body.server['OS-EXT-SRV-ATTR:host'], 'compute1');
    const move = await k.nova('PUT', `/v2.1/os-aggregates/${id}`, { body: { aggregate: { availability_zone: 'zone-c' } } });
    assert.equal(move.status, 400);
    assert.match(move.body.badRequest.message, /contain instances/);
    assert.equal((await act(id, { set_metadata: { metadata: { availability_zone: 'zone-c' } } })).status, 400);
    await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member });
    await k.waitFor(k.a.member, s.id, 'DELETED');

    // metadata
    const meta = await act(id, { set_metadata: { metadata: { ssd: 'true', gpu: 'no' } } });
    assert.deepEqual(meta.body.aggregate.metadata, { availability_zone: 'zone-a', gpu: 'no', ssd: 'true' });
    const unset = await act(id, { set_metadata: { metadata: { gpu: null } } });
    assert.deepEqual(unset.body.aggregate.metadata, { availability_zone: 'zone-a', ssd: 'true' });
    assert.equal((await act(id, { set_metadata: { metadata: { k: 5 } } })).status, 400);
    assert.equal((await act(id, { set_metadata: { metadata: { availability_zone: '' } } })).status, 400);
    assert.equal((await act(id, { explode: {} })).status, 400);

    // delete needs an empty aggregate
    const notEmpty = await k.nova('DELETE', `/v2.1/os-aggregates/${id}`);
    assert.equal(notEmpty.status, 400);
    assert.match(notEmpty.body.badRequest.message, /not empty/);
    assert.equal((await act(id, { remove_host: { host: 'compute1-2' } })).status, 404, 'not a member');
    const removed = await act(id, { remove_host: { host: 'compute1' } });
    assert.deepEqual(removed.body.aggregate.hosts, []);
    assert.equal((await k.nova('GET', '/v2.1/os-services?host=compute1&binary=nova-compute')).body.services[0].zone, 'nova');
    for (const aid of [id, id2]) {
      const del = await k.nova('DELETE', `/v2.1/os-aggregates/${aid}`);
      assert.equal(del.status, 200);
    }
    assert.equal((await k.nova('GET', `/v2.1/os-aggregates/${id}`)).status, 404);
    assert.deepEqual((await k.nova('GET', '/v2.1/os-aggregates')).body.aggregates, []);
  });

  it('os-server-groups: policies per microversion, rules, scoping, members and quota', async () => {
    const v21 = await k.nova('POST', '/v2.1/os-server-groups', { token: k.a.member, body: { server_group: { name: 'g1', policies: ['anti-affinity'] } } });
    assert.equal(v21.status, 200);
    assert.deepEqual(Object.keys(v21.body.server_group).sort(), ['id', 'members', 'metadata', 'name', 'policies']);
    assert.deepEqual([v21.body.server_group.policies, v21.body.server_group.members, v21.body.server_group.metadata], [['anti-affinity'], [], {}]);
    const g1 = v21.body.server_group.id;
    const v213 = await k.nova('GET', `/v2.1/os-server-groups/${g1}`, { token: k.a.reader, version: '2.13' });
    assert.equal(v213.body.server_group.project_id, k.a.id);
    assert.equal(typeof v213.body.server_group.user_id, 'string');
    const v264 = await k.nova('POST', '/v2.1/os-server-groups', { token: k.a.member, version: '2.64', body: { server_group: { name: 'g2', policy: 'anti-affinity', rules: { max_server_per_host: '2' } } } });
    assert.equal(v264.status, 200);
    assert.deepEqual(Object.keys(v264.body.server_group).sort(), ['id', 'members', 'name', 'policy', 'project_id', 'rules', 'user_id']);
    assert.deepEqual(v264.body.server_group.rules, { max_server_per_host: 2 });
    const g2 = v264.body.server_group.id;
    const old = await k.nova('GET', `/v2.1/os-server-groups/${g2}`, { token: k.a.member });
    assert.deepEqual(old.body.server_group.policies, ['anti-affinity']);

    const bad: [string, unknown][] = [
      ['2.1', { name: 'x', policies: ['bogus'] }],
      ['2.1', { name: 'x', policies: ['affinity', 'anti-affinity'] }],
      ['2.1', { name: 'x', policies: [] }],
      ['2.1', { name: '', policies: ['affinity'] }],
      ['2.14', { name: 'x', policies: ['soft-affinity'] }],
      ['2.1', { name: 'x', policy: 'affinity' }],
      ['2.64', { name: 'x', policies: ['affinity'] }],
      ['2.64', { name: 'x', policy: 'affinity', rules: { max_server_per_host: 2 } }],
      ['2.64', { name: 'x', policy: 'anti-affinity', rules: { max_server_per_host: 0 } }],
      ['2.64', { name: 'x', policy: 'anti-affinity', rules: { other: 1 } }],
    ];
    for (const [version, g] of bad) {
      const r = await k.nova('POST', '/v2.1/os-server-groups', { token: k.a.member, version, body: { server_group: g } });
      assert.equal(r.status, 400, `${version} ${JSON.stringify(g)} -> ${r.status}`);
    }
    const soft = await k.nova('POST', '/v2.1/os-server-groups', { token: k.a.member, version: '2.15', body: { server_group: { name: 'soft', policies: ['soft-affinity'] } } });
    assert.equal(soft.status, 200);
    assert.equal((await k.nova('POST', '/v2.1/os-server-groups', { token: k.a.reader, body: { server_group: { name: 'r', policies: ['affinity'] } } })).status, 403);

    // scoping: B does not see A's groups; admins with all_projects do
    const bList = await k.nova('GET', '/v2.1/os-server-groups', { token: k.b.member });
    assert.deepEqual(bList.body.server_groups, []);
    assert.equal((await k.nova('GET', `/v2.1/os-server-groups/${g1}`, { token: k.b.member })).status, 403);
    assert.equal((await k.nova('DELETE', `/v2.1/os-server-groups/${g1}`, { token: k.b.member })).status, 403);
    assert.equal((await k.nova('GET', '/v2.1/os-server-groups?all_projects=True', { token: k.b.member })).status, 403);
    const aList = await k.nova('GET', '/v2.1/os-server-groups', { token: k.a.reader });
    assert.deepEqual(sorted(aList.body.server_groups.map((g: any) => g.id)), sorted([g1, g2, soft.body.server_group.id]));
    const paged = await k.nova('GET', '/v2.1/os-server-groups?limit=1&offset=1', { token: k.a.reader });
    assert.deepEqual(paged.body.server_groups.map((g: any) => g.id), [aList.body.server_groups[1].id]);
    await k.nova('POST', '/v2.1/os-server-groups', { token: k.b.member, body: { server_group: { name: 'gb', policies: ['affinity'] } } });
    const all = await k.nova('GET', '/v2.1/os-server-groups?all_projects=True');
    assert.ok(all.body.server_groups.some((g: any) => g.id === g1) && all.body.server_groups.some((g: any) => g.name === 'gb'));
    assert.equal((await k.nova('GET', '/v2.1/os-server-groups?bogus=1', { token: k.a.reader, version: '2.75' })).status, 400);

    // members: a server booted into the group; the scheduler's view of the group
    const created = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'grouped', imageRef: k.imageId, flavorRef: '1' }, 'os:scheduler_hints': { group: g1 } } });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const s = await k.waitFor(k.a.member, created.body.server.id, 'ACTIVE');
    const shown = await k.nova('GET', `/v2.1/os-server-groups/${g1}`, { token: k.a.member });
    assert.deepEqual(shown.body.server_group.members, [s.id]);
    const view = await groupMembersHosts(cx, g1);
    assert.equal(view.policy, 'anti-affinity');
    assert.equal(view.hosts.length, 1);
    assert.ok(['compute1', 'compute1-2'].includes(view.hosts[0]));
    assert.deepEqual((await groupMembersHosts(cx, g2)).rules, { max_server_per_host: 2 });

    // quotas: server_group_members for addGroupMember, server_groups for create
    await cx.db.insertInto('quota').values([
      { project_id: k.a.id, user_id: '', resource: 'server_group_members', hard_limit: 1 },
      { project_id: k.a.id, user_id: '', resource: 'server_groups', hard_limit: 3 },
    ]).execute();
    try {
      await addGroupMember(cx, g1, s.id); // already a member: no change, no error
      await assert.rejects(addGroupMember(cx, g1, randomUUID()), (e: any) => e.status === 403 && /too many servers in group/.test(e.message));
      const over = await k.nova('POST', '/v2.1/os-server-groups', { token: k.a.member, body: { server_group: { name: 'g4', policies: ['affinity'] } } });
      assert.equal(over.status, 403);
      assert.match(over.body.forbidden.message, /Quota exceeded, too many server groups/);
    } finally {
      await cx.db.deleteFrom('quota').where('project_id', '=', k.a.id).execute();
    }
    await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member });
    await k.waitFor(k.a.member, s.id, 'DELETED');
    assert.deepEqual((await k.nova('GET', `/v2.1/os-server-groups/${g1}`, { token: k.a.member })).body.server_group.members, [], 'deleted servers leave');
    assert.equal((await k.nova('DELETE', `/v2.1/os-server-groups/${g1}`, { token: k.a.member })).status, 204);
    assert.equal((await k.nova('GET', `/v2.1/os-server-groups/${g1}`, { token: k.a.member })).status, 404);
    assert.equal((await k.nova('DELETE', `/v2.1/os-server-groups/${g1}`, { token: k.a.member })).status, 404);
  });

  it('os-simple-tenant-usage: totals per project, server usages, terminated servers, paging since 2.40', async () => {
    const s1 = await k.boot(k.a.member, { name: 'use-1' });
    const s2 = await k.boot(k.a.member, { name: 'use-2', flavorRef: '2' });
    await k.nova('DELETE', `/v2.1/servers/${s2.id}`, { token: k.a.member });
    await k.waitFor(k.a.member, s2.id, 'DELETED');
    const fmt = (d: Date) => d.toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000');
    const start = fmt(new Date(Date.now() - 86400_000));
    const end = fmt(new Date(Date.now() + 86400_000));
    const qs = `start=${start}&end=${end}`;

    assert.equal((await k.nova('GET', `/v2.1/os-simple-tenant-usage?${qs}`, { token: k.a.member })).status, 403);
    const list = await k.nova('GET', `/v2.1/os-simple-tenant-usage?${qs}&detailed=1`);
    assert.equal(list.status, 200);
    const a = list.body.tenant_usages.find((t: any) => t.tenant_id === k.a.id);
    assert.equal(Object.keys(a).length, 8);
    assert.match(a.start, MICRO);
    assert.ok(a.stop <= fmt(new Date()), 'the period ends now at the latest');
    const u1 = a.server_usages.find((u: any) => u.instance_id === s1.id);
    const u2 = a.server_usages.find((u: any) => u.instance_id === s2.id);
    assert.deepEqual([u1.name, u1.state, u1.ended_at, u1.vcpus, u1.flavor], ['use-1', 'active', null, 1, 'm1.tiny']);
    assert.equal(u2.state, 'terminated');
    assert.match(u2.ended_at, MICRO);
    assert.ok(u1.hours > 0 && u1.hours < 0.1);
    assert.ok(Number.isInteger(u1.uptime));
    const sum = a.server_usages.reduce((n: number, u: any) => n + u.hours, 0);
    assert.ok(Math.abs(a.total_hours - sum) < 1e-9);
    const vcpuHours = a.server_usages.reduce((n: number, u: any) => n + u.hours * u.vcpus, 0);
    assert.ok(Math.abs(a.total_vcpus_usage - vcpuHours) < 1e-9);
    const brief = await k.nova('GET', `/v2.1/os-simple-tenant-usage?${qs}`);
    assert.equal(brief.body.tenant_usages.find((t: any) => t.tenant_id === k.a.id).server_usages, undefined);

    const mineR = await k.nova('GET', `/v2.1/os-simple-tenant-usage/${k.a.id}?${qs}`, { token: k.a.reader });
    assert.equal(mineR.status, 200);
    assert.equal(Object.keys(mineR.body.tenant_usage).length, 8);
    assert.deepEqual(sorted(mineR.body.tenant_usage.server_usages.map((u: any) => u.instance_id)).filter((x: string) => [s1.id, s2.id].includes(x)), sorted([s1.id, s2.id]));
    assert.equal((await k.nova('GET', `/v2.1/os-simple-tenant-usage/${k.a.id}?${qs}`, { token: k.b.member })).status, 403);
    assert.deepEqual((await k.nova('GET', `/v2.1/os-simple-tenant-usage/${k.b.id}?${qs}`, { token: k.b.member })).body, { tenant_usage: {} });
    assert.equal((await k.nova('GET', `/v2.1/os-simple-tenant-usage/${k.a.id}?start=${end}&end=${start}`)).status, 400);
    assert.equal((await k.nova('GET', `/v2.1/os-simple-tenant-usage/${k.a.id}?start=last-week`)).status, 400);
    // a period before the servers launched has none of them
    const early = await k.nova('GET', `/v2.1/os-simple-tenant-usage/${k.a.id}?start=2001-01-01T00:00:00&end=2001-01-02T00:00:00`);
    assert.deepEqual(early.body, { tenant_usage: {} });

    const page = await k.nova('GET', `/v2.1/os-simple-tenant-usage/${k.a.id}?${qs}&limit=1`, { version: '2.40' });
    assert.equal(page.body.tenant_usage.server_usages.length, 1);
    const next = new URL(page.body.tenant_usage_links[0].href);
    assert.equal(next.searchParams.get('marker'), page.body.tenant_usage.server_usages[0].instance_id);
    const page2 = await k.nova('GET', `${next.pathname}${next.search}`, { version: '2.40' });
    assert.equal(page2.status, 200);
    assert.notEqual(page2.body.tenant_usage.server_usages[0].instance_id, page.body.tenant_usage.server_usages[0].instance_id);
    assert.equal((await k.nova('GET', `/v2.1/os-simple-tenant-usage?${qs}&marker=${randomUUID()}`, { version: '2.40' })).status, 400);
    await k.nova('DELETE', `/v2.1/servers/${s1.id}`, { token: k.a.member });
    await k.waitFor(k.a.member, s1.id, 'DELETED');
  });

  it('os-migrations: filters, fields per microversion, paging since 2.59', async () => {
    assert.equal((await k.nova('GET', '/v2.1/os-migrations', { token: k.a.member })).status, 403);
    const base = { source_node: 'compute1', dest_node: 'compute1-2', project_id: k.a.id, user_id: 'u1' };
    const rows = [
      { id: 1, uuid: randomUUID(), instance_uuid: randomUUID(), migration_type: 'resize', status: 'finished', source_compute: 'compute1', dest_compute: 'compute1', old_flavorid: '1', new_flavorid: '2', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:01:00.000Z' },
      { id: 2, uuid: randomUUID(), instance_uuid: randomUUID(), migration_type: 'live-migration', status: 'running', source_compute: 'compute1', dest_compute: 'compute1-2', old_flavorid: '1', new_flavorid: '1', created_at: '2024-01-02T00:00:00.000Z', updated_at: '2024-01-02T00:01:00.000Z' },
      { id: 3, uuid: randomUUID(), instance_uuid: randomUUID(), migration_type: 'migration', status: 'error', source_compute: 'compute1-2', dest_compute: 'compute1', old_flavorid: 'custom', new_flavorid: 'custom', created_at: '2024-01-03T00:00:00.000Z', updated_at: '2024-01-03T00:01:00.000Z' },
    ];
    await cx.db.insertInto('migration').values(rows.map((r) => ({ ...base, ...r }))).execute();
    try {
      const v21 = await k.nova('GET', '/v2.1/os-migrations');
      assert.equal(v21.status, 200);
      assert.deepEqual(v21.body.migrations.map((m: any) => m.id), [1, 2, 3]);
      const m1 = v21.body.migrations[0];
      assert.deepEqual(Object.keys(m1).sort(), ['created_at', 'dest_compute', 'dest_host', 'dest_node', 'id', 'instance_uuid', 'new_instance_type_id', 'old_instance_type_id', 'source_compute', 'source_node', 'status', 'updated_at']);
      assert.deepEqual([m1.old_instance_type_id, m1.new_instance_type_id, m1.created_at], [1, 2, '2024-01-01T00:00:00.000000']);
      assert.equal(v21.body.migrations[2].old_instance_type_id, null);
      assert.deepEqual((await k.nova('GET', '/v2.1/os-migrations?status=running')).body.migrations.map((m: any) => m.id), [2]);
      assert.deepEqual((await k.nova('GET', '/v2.1/os-migrations?host=compute1-2')).body.migrations.map((m: any) => m.id), [2, 3]);
      assert.deepEqual((await k.nova('GET', '/v2.1/os-migrations?source_compute=compute1')).body.migrations.map((m: any) => m.id), [1, 2]);
      assert.deepEqual((await k.nova('GET', `/v2.1/os-migrations?instance_uuid=${rows[2].instance_uuid}`)).body.migrations.map((m: any) => m.id), [3]);
      const v223 = await k.nova('GET', '/v2.1/os-migrations?migration_type=live-migration', { version: '2.23' });
      assert.equal(v223.body.migrations.length, 1);
      assert.equal(v223.body.migrations[0].migration_type, 'live-migration');
      assert.match(v223.body.migrations[0].links[0].href, new RegExp(`/v2.1/servers/${rows[1].instance_uuid}/migrations/2$`));
      assert.equal((await k.nova('GET', '/v2.1/os-migrations?migration_type=resize', { version: '2.23' })).body.migrations[0].links, undefined);
      const v259 = await k.nova('GET', '/v2.1/os-migrations?limit=2', { version: '2.59' });
      assert.deepEqual(v259.body.migrations.map((m: any) => m.id), [3, 2], 'newest first');
      assert.equal(v259.body.migrations[0].uuid, rows[2].uuid);
      assert.match(v259.body.migrations_links[0].href, new RegExp(`marker=${rows[1].uuid}`));
      const rest = await k.nova('GET', `/v2.1/os-migrations?limit=2&marker=${rows[1].uuid}`, { version: '2.59' });
      assert.deepEqual(rest.body.migrations.map((m: any) => m.id), [1]);
      assert.equal((await k.nova('GET', `/v2.1/os-migrations?marker=${randomUUID()}`, { version: '2.59' })).status, 400);
      const since = await k.nova('GET', '/v2.1/os-migrations?changes-since=2024-01-02T00:00:30Z', { version: '2.59' });
      assert.deepEqual(since.body.migrations.map((m: any) => m.id), [3, 2]);
      const v280 = await k.nova('GET', `/v2.1/os-migrations?project_id=${k.a.id}&user_id=u1`, { version: '2.80' });
      assert.equal(v280.body.migrations.length, 3);
      assert.equal(v280.body.migrations[0].project_id, k.a.id);
    } finally {
      await cx.db.deleteFrom('migration').execute();
    }
  });

  it('DELETE os-services: refuses a host with servers, removes an idle one with its hypervisor', async () => {
    const s = await k.boot(k.a.member, { name: 'pin' });
    const host = (await k.nova('GET', `/v2.1/servers/${s.id}`)).body.server['OS-EXT-SRV-ATTR:host'];
    const services = (await k.nova('GET', '/v2.1/os-services', { version: '2.53' })).body.services;
    const busy = services.find((x: any) => x.host === host && x.binary === 'nova-compute');
    const idle = services.find((x: any) => x.binary === 'nova-compute' && x.host !== host);
    const r = await k.nova('DELETE', `/v2.1/os-services/${busy.id}`, { version: '2.53' });
    assert.equal(r.status, 409);
    assert.match(r.body.conflictingRequest.message, /hosting instances/);
    assert.equal((await k.nova('DELETE', '/v2.1/os-services/not-a-uuid', { version: '2.53' })).status, 400);
    assert.equal((await k.nova('DELETE', `/v2.1/os-services/${randomUUID()}`, { version: '2.53' })).status, 404);
    assert.equal((await k.nova('DELETE', '/v2.1/os-services/abc')).status, 400, 'integer ids before 2.53');
    assert.equal((await k.nova('DELETE', `/v2.1/os-services/${idle.id}`, { version: '2.53', token: k.a.member })).status, 403);
    assert.equal((await k.nova('DELETE', `/v2.1/os-services/${idle.id}`, { version: '2.53' })).status, 204);
    const hyps = (await k.nova('GET', '/v2.1/os-hypervisors')).body.hypervisors;
    assert.deepEqual(hyps.map((h: any) => h.hypervisor_hostname), [host]);
    // the internal service by its integer id (before 2.53)
    const conductor = (await k.nova('GET', '/v2.1/os-services?binary=nova-conductor&host=ctl1')).body.services[0];
    assert.equal((await k.nova('DELETE', `/v2.1/os-services/${conductor.id}`)).status, 204);
    const left = (await k.nova('GET', '/v2.1/os-services', { version: '2.53' })).body.services;
    assert.deepEqual(left.filter((x: any) => x.binary === 'nova-compute').map((x: any) => x.id), [busy.id]);
    assert.ok(!left.some((x: any) => x.id === conductorId));
    await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member });
    await k.waitFor(k.a.member, s.id, 'DELETED');
  });
});
