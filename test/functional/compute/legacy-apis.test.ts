import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';
import type { ComputeServiceModule } from '../../../src/compute/compute-service.js';
import type { ComputeContext } from '../../../src/compute/service/context.js';
import { BUILTIN_NETWORK } from '../../../src/compute/network/builtin-network.js';
import { lastCompletedAuditPeriod, parseAuditTimestamp } from '../../../src/compute/api/routes/legacy.js';

const sorted = (xs: string[]) => [...xs].sort();
const PY_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

describe('compute legacy APIs: os-hosts, extensions, os-networks, os-tenant-networks, audit log, version documents', () => {
  let k: ComputeCloud;
  let cx: ComputeContext;
  let flavor: { vcpus: number; ram: number; disk: number };
  const booted: any[] = [];
  before(async () => {
    k = await startComputeCloud();
    cx = (k.c.cloud.modules.find((m) => m.name === 'compute') as ComputeServiceModule).context;
    booted.push(await k.boot(k.a.member), await k.boot(k.a.member), await k.boot(k.b.member));
    const f = await k.nova('GET', '/v2.1/flavors/1');
    assert.equal(f.status, 200);
    flavor = f.body.flavor;
  });
  after(async () => { await k?.stop(); });

  /** A compute host whose node is a QEMU one (what the qemu driver registers), for the 501 answers. */
  async function withQemuHost(fn: (host: string) => Promise<void>) {
    const host = `qemu-${randomUUID().slice(0, 8)}`;
    const now = new Date().toISOString();
    const serviceId = randomUUID();
    const nodeUuid = randomUUID();
    await cx.db.insertInto('service').values({
      id: serviceId, host, binary: 'nova-compute', topic: 'compute', zone: 'nova', disabled: 0, disabled_reason: null,
      forced_down: 0, last_seen_up: now, created_at: now, updated_at: now,
    }).execute();
    await cx.db.insertInto('compute_node').values({
      uuid: nodeUuid, id: 900_000 + Math.floor(Math.random() * 1000), host, hypervisor_hostname: host, hypervisor_type: 'QEMU', hypervisor_version: 8002000,
      vcpus: 4, memory_mb: 8192, local_gb: 100, host_ip: '127.0.0.1', cpu_info: '{}', created_at: now, updated_at: now,
    }).execute();
    try {
      await fn(host);
    } finally {
      await cx.db.deleteFrom('compute_node').where('uuid', '=', nodeUuid).execute();
      await cx.db.deleteFrom('service').where('id', '=', serviceId).execute();
    }
  }

  describe('os-hosts', () => {
    it('lists the enabled non-API services per host, filtered by zone; admin only; gone at 2.43', async () => {
      const all = await k.nova('GET', '/v2.1/os-hosts');
      assert.equal(all.status, 200);
      const hosts: any[] = all.body.hosts;
      assert.ok(hosts.length >= 2, JSON.stringify(hosts));
      for (const h of hosts) assert.deepEqual(Object.keys(h).sort(), ['host_name', 'service', 'zone']);
      assert.deepEqual(hosts.filter((h) => h.service === 'compute'), [{ host_name: 'compute1', service: 'compute', zone: 'nova' }]);
      assert.deepEqual(sorted(hosts.filter((h) => h.zone === 'internal').map((h) => h.service)), ['conductor', 'scheduler']);

      const nova = await k.nova('GET', '/v2.1/os-hosts?zone=nova');
      assert.deepEqual(nova.body.hosts, [{ host_name: 'compute1', service: 'compute', zone: 'nova' }]);
      const internal = await k.nova('GET', '/v2.1/os-hosts?zone=internal');
      assert.deepEqual(sorted(internal.body.hosts.map((h: any) => h.service)), ['conductor', 'scheduler']);
      assert.deepEqual((await k.nova('GET', '/v2.1/os-hosts?zone=xxx')).body, { hosts: [] });
      assert.deepEqual((await k.nova('GET', '/v2.1/os-hosts?zone=')).body, all.body, 'a blank zone lists all');

      // a disabled service is not listed
      await cx.db.updateTable('service').set({ disabled: 1 }).where('host', '=', 'compute1').where('binary', '=', 'nova-scheduler').execute();
      try {
        const less = await k.nova('GET', '/v2.1/os-hosts');
        assert.equal(less.body.hosts.length, hosts.length - 1);
        assert.ok(!less.body.hosts.some((h: any) => h.service === 'scheduler'));
      } finally {
        await cx.db.updateTable('service').set({ disabled: 0 }).where('host', '=', 'compute1').where('binary', '=', 'nova-scheduler').execute();
      }

      assert.equal((await k.nova('GET', '/v2.1/os-hosts', { token: k.a.member })).status, 403);
      assert.equal((await k.nova('GET', '/v2.1/os-hosts', { version: '2.42' })).status, 200);
      assert.equal((await k.nova('GET', '/v2.1/os-hosts', { version: '2.43' })).status, 404);
      assert.equal((await k.nova('GET', '/v2.1/os-hosts', { version: '2.43', token: k.a.member })).status, 404, 'the route is gone before the policy');
      assert.equal((await k.nova('GET', '/v2.1/os-hosts/compute1', { version: '2.43' })).status, 404);
    });

    it('shows a compute host\'s resources: total, used now, used max and per project', async () => {
      const r = await k.nova('GET', '/v2.1/os-hosts/compute1');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const res = r.body.host.map((x: any) => x.resource);
      for (const x of r.body.host) assert.deepEqual(Object.keys(x), ['resource']);
      for (const x of res) {
        assert.deepEqual(Object.keys(x).sort(), ['cpu', 'disk_gb', 'host', 'memory_mb', 'project']);
        assert.equal(x.host, 'compute1');
      }
      const by = Object.fromEntries(res.map((x: any) => [x.project, x]));
      assert.deepEqual(sorted(Object.keys(by)), sorted(['(total)', '(used_now)', '(used_max)', k.a.id, k.b.id]));
      assert.deepEqual(res.slice(0, 3).map((x: any) => x.project), ['(total)', '(used_now)', '(used_max)']);

      const hv = (await k.nova('GET', '/v2.1/os-hypervisors/detail')).body.hypervisors.find((h: any) => h.hypervisor_hostname === 'compute1');
      assert.deepEqual([by['(total)'].cpu, by['(total)'].memory_mb, by['(total)'].disk_gb], [hv.vcpus, hv.memory_mb, hv.local_gb]);
      assert.deepEqual([by['(used_now)'].cpu, by['(used_now)'].memory_mb, by['(used_now)'].disk_gb], [hv.vcpus_used, hv.memory_mb_used, hv.local_gb_used]);
      const n = booted.length;
      assert.deepEqual([by['(used_max)'].cpu, by['(used_max)'].memory_mb, by['(used_max)'].disk_gb], [n * flavor.vcpus, n * flavor.ram, n * flavor.disk]);
      assert.deepEqual([by[k.a.id].cpu, by[k.a.id].memory_mb, by[k.a.id].disk_gb], [2 * flavor.vcpus, 2 * flavor.ram, 2 * flavor.disk]);
      assert.deepEqual([by[k.b.id].cpu, by[k.b.id].memory_mb, by[k.b.id].disk_gb], [flavor.vcpus, flavor.ram, flavor.disk]);

      const missing = await k.nova('GET', '/v2.1/os-hosts/nonexistent_hostname');
      assert.equal(missing.status, 404);
      assert.match(JSON.stringify(missing.body), /itemNotFound/);
      assert.equal((await k.nova('GET', '/v2.1/os-hosts/compute1', { token: k.a.member })).status, 403);
    });

    it('updates status and maintenance mode as the fake driver answers; validates the body first', async () => {
      const on = await k.nova('PUT', '/v2.1/os-hosts/compute1', { body: { status: 'enable', maintenance_mode: 'enable' } });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.deepEqual(on.body, { host: 'compute1', status: 'enabled', maintenance_mode: 'on_maintenance' });
      const off = await k.nova('PUT', '/v2.1/os-hosts/compute1', { body: { status: 'DISABLE' } });
      assert.deepEqual(off.body, { host: 'compute1', status: 'disabled' });
      const m = await k.nova('PUT', '/v2.1/os-hosts/compute1', { body: { maintenance_mode: 'Disable' } });
      assert.deepEqual(m.body, { host: 'compute1', maintenance_mode: 'off_maintenance' });

      // what Tempest sends without parameters, invalid values, unknown keys, nothing at all
      for (const body of [{ status: null, maintenance_mode: null }, { status: 'invalid', maintenance_mode: 'enable' }, { status: 'enable', maintenance_mode: 'invalid' }, {}, { status: 'enable', foo: 1 }, 'x']) {
        const r = await k.nova('PUT', '/v2.1/os-hosts/compute1', { body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(JSON.stringify(r.body), /badRequest/);
      }
      assert.equal((await k.nova('PUT', '/v2.1/os-hosts/nonexistent_hostname', { body: { status: 'enable', maintenance_mode: 'enable' } })).status, 404);
      assert.equal((await k.nova('PUT', '/v2.1/os-hosts/compute1', { token: k.a.member, body: { status: 'enable', maintenance_mode: 'enable' } })).status, 403);
      assert.equal((await k.nova('PUT', '/v2.1/os-hosts/compute1', { version: '2.43', body: { status: 'enable' } })).status, 404);
      // nothing changed in the service: Nova's driver call does not touch it
      const svc = await cx.db.selectFrom('service').selectAll().where('host', '=', 'compute1').where('binary', '=', 'nova-compute').executeTakeFirstOrThrow();
      assert.equal(svc.disabled, 0);
    });

    it('power actions: the fake driver echoes them; 404 for unknown hosts; admin only', async () => {
      for (const action of ['startup', 'shutdown', 'reboot']) {
        const r = await k.nova('GET', `/v2.1/os-hosts/compute1/${action}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body, { host: 'compute1', power_action: action });
        assert.equal((await k.nova('GET', `/v2.1/os-hosts/nonexistent_hostname/${action}`)).status, 404);
        assert.equal((await k.nova('GET', `/v2.1/os-hosts/compute1/${action}`, { token: k.a.member })).status, 403);
        assert.equal((await k.nova('GET', `/v2.1/os-hosts/compute1/${action}`, { version: '2.43' })).status, 404);
      }
      // an internal service's host is no compute host
      assert.equal((await k.nova('GET', '/v2.1/os-hosts/nonexistent_hostname')).status, 404);
    });

    it('a QEMU host does not implement the host operations (501, as libvirt)', async () => {
      await withQemuHost(async (host) => {
        for (const body of [{ status: 'enable' }, { maintenance_mode: 'enable' }]) {
          const r = await k.nova('PUT', `/v2.1/os-hosts/${host}`, { body });
          assert.equal(r.status, 501, JSON.stringify(r.body));
          assert.match(JSON.stringify(r.body), /not supported/);
        }
        for (const action of ['startup', 'shutdown', 'reboot']) assert.equal((await k.nova('GET', `/v2.1/os-hosts/${host}/${action}`)).status, 501);
        // its resources show all the same (no servers on it)
        const show = await k.nova('GET', `/v2.1/os-hosts/${host}`);
        assert.equal(show.status, 200);
        assert.deepEqual(show.body.host.map((x: any) => [x.resource.project, x.resource.cpu, x.resource.memory_mb, x.resource.disk_gb]), [
          ['(total)', 4, 8192, 100], ['(used_now)', 0, show.body.host[1].resource.memory_mb, 0], ['(used_max)', 0, 0, 0],
        ]);
      });
    });
  });

  describe('extensions', () => {
    it('lists Nova\'s extension aliases (any user) and shows one; 404 for an unknown alias', async () => {
      const r = await k.nova('GET', '/v2.1/extensions', { token: k.a.reader });
      assert.equal(r.status, 200);
      const exts: any[] = r.body.extensions;
      assert.equal(exts.length, 99);
      for (const e of exts) {
        assert.deepEqual(Object.keys(e).sort(), ['alias', 'description', 'links', 'name', 'namespace', 'updated']);
        assert.deepEqual(e.links, []);
        assert.equal(e.updated, '2014-12-03T00:00:00Z');
        assert.equal(e.namespace, 'http://docs.openstack.org/compute/ext/fake_xml');
      }
      assert.ok(exts.some((e) => e.name === 'Hosts' && e.alias === 'os-hosts'));
      const aliases = exts.map((e) => e.alias);
      assert.equal(new Set(aliases).size, aliases.length);

      const one = await k.nova('GET', '/v2.1/extensions/os-consoles', { token: k.a.member });
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, { extension: exts.find((e) => e.alias === 'os-consoles') });
      assert.equal(one.body.extension.name, 'Consoles');
      assert.equal((await k.nova('GET', '/v2.1/extensions/os-nope')).status, 404);
    });
  });

  describe('os-networks and os-tenant-networks (before 2.36)', () => {
    it('os-networks lists and shows the built-in network; the operator fields for admins only', async () => {
      const member = await k.nova('GET', '/v2.1/os-networks', { token: k.a.member });
      assert.equal(member.status, 200);
      assert.equal(member.body.networks.length, 1);
      const net = member.body.networks[0];
      assert.deepEqual(Object.keys(net).sort(), sorted(['id', 'cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6', 'gateway_v6', 'label', 'netmask_v6']));
      assert.equal(net.id, BUILTIN_NETWORK.id);
      assert.equal(net.label, BUILTIN_NETWORK.name);
      assert.equal(net.cidr, BUILTIN_NETWORK.cidr);
      assert.equal(net.gateway, BUILTIN_NETWORK.gateway);
      const bits = Number(BUILTIN_NETWORK.cidr.split('/')[1]);
      if (bits === 24) {
        assert.equal(net.netmask, '255.255.255.0');
        assert.equal(net.broadcast, BUILTIN_NETWORK.cidr.replace(/\.0\/24$/, '.255'));
      }

      const admin = await k.nova('GET', '/v2.1/os-networks');
      const a = admin.body.networks[0];
      for (const f of ['created_at', 'dhcp_start', 'enable_dhcp', 'mtu', 'project_id', 'vlan', 'share_address']) assert.ok(f in a, f);
      assert.equal(a.dhcp_start, BUILTIN_NETWORK.address);

      const show = await k.nova('GET', `/v2.1/os-networks/${BUILTIN_NETWORK.id}`, { token: k.b.reader });
      assert.equal(show.status, 200);
      assert.deepEqual(show.body, { network: net });
      const missing = await k.nova('GET', `/v2.1/os-networks/${randomUUID()}`);
      assert.equal(missing.status, 404);
      assert.match(JSON.stringify(missing.body), /Network not found/);

      assert.equal((await k.nova('GET', '/v2.1/os-networks', { version: '2.35' })).status, 200);
      assert.equal((await k.nova('GET', '/v2.1/os-networks', { version: '2.36' })).status, 404);
      assert.equal((await k.nova('GET', `/v2.1/os-networks/${BUILTIN_NETWORK.id}`, { version: '2.36' })).status, 404);
    });

    it('the nova-network operations are gone (410)', async () => {
      const gone = [
        ['POST', '/v2.1/os-networks', { network: { label: 'x', cidr: '10.0.0.0/24' } }],
        ['POST', '/v2.1/os-networks/add', { id: BUILTIN_NETWORK.id }],
        ['POST', `/v2.1/os-networks/${BUILTIN_NETWORK.id}/action`, { disassociate: null }],
        ['DELETE', `/v2.1/os-networks/${BUILTIN_NETWORK.id}`, undefined],
        ['POST', '/v2.1/os-tenant-networks', { network: { label: 'x', cidr: '10.0.0.0/24' } }],
        ['DELETE', `/v2.1/os-tenant-networks/${BUILTIN_NETWORK.id}`, undefined],
      ] as const;
      for (const [method, path, body] of gone) {
        const r = await k.nova(method, path, { body });
        assert.equal(r.status, 410, `${method} ${path}`);
      }
      // and the network is still there
      assert.equal((await k.nova('GET', `/v2.1/os-networks/${BUILTIN_NETWORK.id}`)).status, 200);
    });

    it('os-tenant-networks lists and shows it as id, cidr and label', async () => {
      const list = await k.nova('GET', '/v2.1/os-tenant-networks', { token: k.a.member });
      assert.equal(list.status, 200);
      const expected = { id: BUILTIN_NETWORK.id, cidr: BUILTIN_NETWORK.cidr, label: BUILTIN_NETWORK.name };
      assert.deepEqual(list.body, { networks: [expected] });
      const show = await k.nova('GET', `/v2.1/os-tenant-networks/${BUILTIN_NETWORK.id}`, { token: k.b.member });
      assert.deepEqual(show.body, { network: expected });
      assert.equal((await k.nova('GET', `/v2.1/os-tenant-networks/${randomUUID()}`)).status, 404);
      assert.equal((await k.nova('GET', '/v2.1/os-tenant-networks', { version: '2.36' })).status, 404);
      assert.equal((await k.nova('GET', `/v2.1/os-tenant-networks/${BUILTIN_NETWORK.id}`, { version: '2.36' })).status, 404);
    });
  });

  describe('os-instance_usage_audit_log', () => {
    it('audit periods as Nova computes them (the last whole month) and its timestamp formats', () => {
      const p = (s: string) => lastCompletedAuditPeriod(new Date(s));
      assert.deepEqual(p('2024-05-17T10:00:00Z'), { begin: new Date('2024-04-01T00:00:00Z'), end: new Date('2024-05-01T00:00:00Z') });
      assert.deepEqual(p('2024-05-01T00:00:00Z'), { begin: new Date('2024-03-01T00:00:00Z'), end: new Date('2024-04-01T00:00:00Z') }, 'a period ending now is not complete');
      assert.deepEqual(p('2024-05-01T00:00:00.001Z'), { begin: new Date('2024-04-01T00:00:00Z'), end: new Date('2024-05-01T00:00:00Z') });
      assert.deepEqual(p('2024-01-10T00:00:00Z'), { begin: new Date('2023-12-01T00:00:00Z'), end: new Date('2024-01-01T00:00:00Z') });
      assert.deepEqual(p('2024-02-10T00:00:00Z'), { begin: new Date('2024-01-01T00:00:00Z'), end: new Date('2024-02-01T00:00:00Z') });

      assert.equal(parseAuditTimestamp('2024-02-03 04:05:06').toISOString(), '2024-02-03T04:05:06.000Z');
      assert.equal(parseAuditTimestamp('2024-2-3 4:5:6').toISOString(), '2024-02-03T04:05:06.000Z');
      assert.equal(parseAuditTimestamp('2024-02-03 04:05:06.123456').toISOString(), '2024-02-03T04:05:06.123Z');
      for (const bad of ['invalid_time', '2024-02-03', '2024-02-03T04:05:06', '2024-02-30 00:00:00', '2024-02-03 24:00:00', '2024-02-03 04:05:06.', '2024-02-03 04:05:06.1234567']) {
        assert.throws(() => parseAuditTimestamp(bad), (e: any) => e.status === 400, bad);
      }
    });

    const SHAPE = ['hosts_not_run', 'log', 'num_hosts', 'num_hosts_done', 'num_hosts_not_run', 'num_hosts_running', 'overall_status', 'period_beginning', 'period_ending', 'total_errors', 'total_instances'];

    it('lists the last completed period\'s audit of every compute host; admin only', async () => {
      const r = await k.nova('GET', '/v2.1/os-instance_usage_audit_log');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const log = r.body.instance_usage_audit_logs;
      assert.deepEqual(Object.keys(r.body), ['instance_usage_audit_logs']);
      assert.deepEqual(Object.keys(log).sort(), SHAPE);
      const { begin, end } = lastCompletedAuditPeriod(new Date());
      assert.equal(log.period_beginning, begin.toISOString().slice(0, 19).replace('T', ' '));
      assert.equal(log.period_ending, end.toISOString().slice(0, 19).replace('T', ' '));
      assert.match(log.period_beginning, PY_TIME);
      // the servers were launched after that period ended
      assert.deepEqual({ ...log, period_beginning: 0, period_ending: 0 }, {
        period_beginning: 0, period_ending: 0, num_hosts: 1, num_hosts_done: 1, num_hosts_running: 0, num_hosts_not_run: 0, hosts_not_run: [],
        total_instances: 0, total_errors: 0, overall_status: 'ALL hosts done. 0 errors.',
        log: { compute1: { state: 'DONE', instances: 0, errors: 0, message: 'Instance usage audit ran for host compute1, 0 instances in 0 seconds.' } },
      });
      assert.equal((await k.nova('GET', '/v2.1/os-instance_usage_audit_log', { token: k.a.member })).status, 403);
    });

    it('shows the period before a timestamp, counting the servers active in it; 400 for a bad timestamp', async () => {
      // a timestamp in the middle of next month: the completed period is this month, when the servers run
      const now = new Date();
      const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 15, 12, 0, 0));
      const stamp = next.toISOString().slice(0, 19).replace('T', ' ');
      const r = await k.nova('GET', `/v2.1/os-instance_usage_audit_log/${encodeURIComponent(stamp)}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const log = r.body.instance_usage_audit_log;
      assert.deepEqual(Object.keys(r.body), ['instance_usage_audit_log']);
      assert.deepEqual(Object.keys(log).sort(), SHAPE);
      const thisMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      assert.equal(log.period_beginning, thisMonth.toISOString().slice(0, 19).replace('T', ' '));
      assert.equal(log.total_instances, booted.length);
      assert.equal(log.log.compute1.instances, booted.length);
      assert.equal(log.total_errors, 0);

      // a server deleted now was still active during this month
      const extra = await k.boot(k.b.member);
      assert.equal((await k.nova('DELETE', `/v2.1/servers/${extra.id}`, { token: k.b.member })).status, 204);
      await k.waitFor(k.b.member, extra.id, 'DELETED');
      const again = await k.nova('GET', `/v2.1/os-instance_usage_audit_log/${encodeURIComponent(stamp)}`);
      assert.equal(again.body.instance_usage_audit_log.total_instances, booted.length + 1);

      // long ago: nothing ran; with microseconds as Tempest may send them
      const old = await k.nova('GET', `/v2.1/os-instance_usage_audit_log/${encodeURIComponent('2000-01-15 10:00:00.250000')}`);
      assert.equal(old.status, 200);
      assert.equal(old.body.instance_usage_audit_log.period_beginning, '1999-12-01 00:00:00');
      assert.equal(old.body.instance_usage_audit_log.period_ending, '2000-01-01 00:00:00');
      assert.equal(old.body.instance_usage_audit_log.total_instances, 0);

      const bad = await k.nova('GET', '/v2.1/os-instance_usage_audit_log/invalid_time');
      assert.equal(bad.status, 400);
      assert.match(JSON.stringify(bad.body), /Invalid timestamp for date invalid_time/);
      assert.equal((await k.nova('GET', `/v2.1/os-instance_usage_audit_log/${encodeURIComponent(stamp)}`, { token: k.a.member })).status, 403);
    });
  });

  describe('version documents', () => {
    it('every version listed at / is followable: its document has the same self link', async () => {
      const list = await k.nova('GET', '/');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.versions.map((v: any) => v.id), ['v2.0', 'v2.1']);
      for (const v of list.body.versions) {
        const self = v.links.filter((l: any) => l.rel === 'self');
        assert.equal(self.length, 1);
        const doc = await k.nova('GET', new URL(self[0].href).pathname);
        assert.equal(doc.status, 200, self[0].href);
        assert.deepEqual(Object.keys(doc.body), ['version']);
        assert.equal(doc.body.version.id, v.id);
        assert.deepEqual(doc.body.version.links.filter((l: any) => l.rel === 'self'), self);
        assert.ok(Array.isArray(doc.body.version['media-types']));
        assert.equal(doc.body.version.updated, v.updated);
      }
      const v2 = await k.nova('GET', '/v2');
      assert.deepEqual(v2.body.version['media-types'], [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }]);
      assert.equal(v2.body.version.status, 'SUPPORTED');
      const v21 = await k.nova('GET', '/v2.1/');
      assert.equal(v21.body.version.status, 'CURRENT');
      assert.equal(v21.body.version.version, list.body.versions[1].version);
    });
  });
});
