import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { makeProject, type TestProject } from '../../helpers/image.js';
import type { NetworkServiceModule } from '../../../src/network/network-service.js';
import { ensureDefaultSecurityGroup, rulesForPorts } from '../../../src/network/service/security-groups.js';

describe('network: security groups and rules', () => {
  let c: TestCloud;
  let admin: string;
  let a: TestProject;
  let b: TestProject;
  let net: NetworkServiceModule;
  before(async () => {
    c = await startTestCloud({ services: ['identity', 'network'] });
    admin = await c.adminToken();
    a = await makeProject(c, admin);
    b = await makeProject(c, admin);
    net = c.cloud.modules.find((m) => m.name === 'network') as unknown as NetworkServiceModule;
  });
  after(async () => { await c?.stop(); });

  const api = (method: string, path: string, token: string, body?: unknown) => c.request(method, path, { service: 'network', token, body });
  const group = async (token: string, name: string) => {
    const r = await api('POST', '/v2.0/security-groups', token, { security_group: { name } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.security_group;
  };
  const rule = (token: string, body: Record<string, unknown>) => api('POST', '/v2.0/security-group-rules', token, { security_group_rule: { direction: 'ingress', ...body } });

  it('creates one default group per project with Neutron default rules, even under racing lists', async () => {
    const lists = await Promise.all(Array.from({ length: 6 }, () => api('GET', '/v2.0/security-groups', a.member)));
    for (const l of lists) assert.equal(l.status, 200);
    const defaults = (await api('GET', '/v2.0/security-groups', a.member)).body.security_groups.filter((g: any) => g.name === 'default');
    assert.equal(defaults.length, 1);
    const d = defaults[0];
    assert.equal(d.project_id, a.id);
    assert.equal(d.stateful, true);
    const rules = d.security_group_rules.map((r: any) => `${r.direction} ${r.ethertype} ${r.remote_group_id === d.id ? 'self' : r.remote_group_id}`).sort();
    assert.deepEqual(rules, ['egress IPv4 null', 'egress IPv6 null', 'ingress IPv4 self', 'ingress IPv6 self']);
    // the same id from the exported helper, with the plain database and inside a transaction
    assert.equal(await ensureDefaultSecurityGroup(net.context, net.context.db, a.id), d.id);
    assert.equal(await net.context.db.transaction().execute((trx) => ensureDefaultSecurityGroup(net.context, trx, a.id)), d.id);
    // B does not see A's groups
    const bl = await api('GET', '/v2.0/security-groups', b.member);
    assert.ok(!bl.body.security_groups.some((g: any) => g.project_id === a.id));
    assert.equal((await api('GET', `/v2.0/security-groups/${d.id}`, b.member)).status, 404);
  });

  it('protects the default group and the name default', async () => {
    const d = (await api('GET', '/v2.0/security-groups?name=default', a.member)).body.security_groups[0];
    assert.equal((await api('POST', '/v2.0/security-groups', a.member, { security_group: { name: 'default' } })).status, 409);
    assert.equal((await api('PUT', `/v2.0/security-groups/${d.id}`, a.member, { security_group: { name: 'other' } })).status, 409);
    const desc = await api('PUT', `/v2.0/security-groups/${d.id}`, a.member, { security_group: { description: 'mine' } });
    assert.equal(desc.status, 200);
    assert.equal(desc.body.security_group.description, 'mine');
    const del = await api('DELETE', `/v2.0/security-groups/${d.id}`, a.member);
    assert.equal(del.status, 409);
    assert.equal(del.body.NeutronError.type, 'SecurityGroupCannotRemoveDefault');
    const g = await group(a.member, 'web');
    assert.deepEqual(g.security_group_rules.map((r: any) => `${r.direction} ${r.ethertype}`).sort(), ['egress IPv4', 'egress IPv6']);
    assert.equal((await api('PUT', `/v2.0/security-groups/${g.id}`, a.member, { security_group: { name: 'default' } })).status, 409);
    const renamed = await api('PUT', `/v2.0/security-groups/${g.id}`, a.member, { security_group: { name: 'web2' } });
    assert.equal(renamed.body.security_group.name, 'web2');
    assert.equal(renamed.body.security_group.revision_number, 2);
  });

  it('validates rules as Neutron does', async () => {
    const g = await group(a.member, 'rules');
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ethertype: 'IPv5' }, 400, 'ethertype'],
      [{ protocol: 'bogus' }, 400, 'protocol bogus not supported'],
      [{ protocol: 256 }, 400, 'not supported'],
      [{ protocol: 'tcp', port_range_min: -16, port_range_max: 80 }, 400, 'Invalid value for port -16'],
      [{ protocol: 'tcp', port_range_min: 80, port_range_max: 79 }, 400, 'port_range_min must be <= port_range_max'],
      [{ protocol: 'tcp', port_range_max: 6 }, 400, 'port_range_min must be <= port_range_max'],
      [{ protocol: 'tcp', port_range_min: 80, port_range_max: 65536 }, 400, 'Invalid value for port 65536'],
      [{ protocol: 'icmp', port_range_min: 1, port_range_max: 256 }, 400, 'Invalid value for ICMP code'],
      [{ protocol: 'icmp', port_range_min: 300, port_range_max: 1 }, 400, 'Invalid value for ICMP type'],
      [{ protocol: 'icmp', port_range_max: 6 }, 400, 'ICMP type (port-range-min) is missing'],
      [{ protocol: 'gre', port_range_min: 1, port_range_max: 2 }, 400, 'port range'],
      [{ port_range_min: 1, port_range_max: 2 }, 400, 'Must also specify protocol'],
      [{ remote_ip_prefix: '192.168.1.1/33' }, 400, 'not a valid IP subnet'],
      [{ remote_ip_prefix: '2001:db8::/64' }, 400, 'Conflicting value ethertype IPv4'],
      [{ remote_ip_prefix: '10.0.0.0/8', remote_group_id: g.id }, 400, 'Only remote_ip_prefix or remote_group_id'],
      [{ remote_group_id: 'nope' }, 404, 'nope'],
      [{ direction: 'sideways' }, 400, 'direction'],
      [{ protocol: 'ipv6-icmp', ethertype: 'IPv4' }, 400, 'ethertype'],
    ];
    for (const [body, status, text] of cases) {
      const r = await rule(a.member, { security_group_id: g.id, ...body });
      assert.equal(r.status, status, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
      assert.ok(r.body.NeutronError.message.includes(text), `${JSON.stringify(body)}: ${r.body.NeutronError.message}`);
    }
    const ok = await rule(a.member, { security_group_id: g.id, protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.1.2.3/16' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.security_group_rule.remote_ip_prefix, '10.1.2.3/16', 'Neutron keeps host bits');
    assert.equal(ok.body.security_group_rule.normalized_cidr, '10.1.0.0/16');
    assert.equal(ok.body.security_group_rule.project_id, a.id);
    const dup = await rule(a.member, { security_group_id: g.id, protocol: '6', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.1.0.0/16' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.NeutronError.type, 'SecurityGroupRuleExists');
    assert.ok(dup.body.NeutronError.message.includes(ok.body.security_group_rule.id));
    const num = await rule(a.member, { security_group_id: g.id, protocol: 17 });
    assert.equal(num.body.security_group_rule.protocol, '17');
    const icmp = await rule(a.member, { security_group_id: g.id, protocol: 'icmp', port_range_min: 8 });
    assert.equal(icmp.status, 201);
    assert.equal(icmp.body.security_group_rule.port_range_max, null);
    // other projects can neither add to nor see the group's rules
    assert.equal((await rule(b.member, { security_group_id: g.id, protocol: 'udp' })).status, 404);
    assert.equal((await api('GET', `/v2.0/security-group-rules/${ok.body.security_group_rule.id}`, b.member)).status, 404);
    assert.equal((await api('DELETE', `/v2.0/security-group-rules/${ok.body.security_group_rule.id}`, b.member)).status, 404);
    const shown = await api('GET', `/v2.0/security-group-rules/${ok.body.security_group_rule.id}`, a.member);
    assert.deepEqual(shown.body.security_group_rule, ok.body.security_group_rule);
    assert.equal((await api('DELETE', `/v2.0/security-group-rules/${ok.body.security_group_rule.id}`, a.member)).status, 204);
    const listed = await api('GET', `/v2.0/security-group-rules?security_group_id=${g.id}`, a.member);
    assert.equal(listed.body.security_group_rules.length, 4);
    // deleting the group takes its rules along
    assert.equal((await api('DELETE', `/v2.0/security-groups/${g.id}`, a.member)).status, 204);
    assert.equal((await api('GET', `/v2.0/security-group-rules?security_group_id=${g.id}`, a.member)).body.security_group_rules.length, 0);
  });

  it('refuses to delete a group in use, and expands remote groups for the dataplane', async () => {
    const n = await api('POST', '/v2.0/networks', a.member, { network: { name: 'sgnet' } });
    const s = await api('POST', '/v2.0/subnets', a.member, { subnet: { network_id: n.body.network.id, cidr: '10.9.0.0/24', ip_version: 4 } });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    const web = await group(a.member, 'web-tier');
    const db = await group(a.member, 'db-tier');
    assert.equal((await rule(a.member, { security_group_id: db.id, protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: web.id })).status, 201);
    const p1 = await api('POST', '/v2.0/ports', a.member, { port: { network_id: n.body.network.id, security_groups: [web.id] } });
    assert.equal(p1.status, 201, JSON.stringify(p1.body));
    const p2 = await api('POST', '/v2.0/ports', a.member, { port: { network_id: n.body.network.id, security_groups: [db.id] } });
    assert.equal(p2.status, 201, JSON.stringify(p2.body));
    const del = await api('DELETE', `/v2.0/security-groups/${web.id}`, a.member);
    assert.equal(del.status, 409);
    assert.equal(del.body.NeutronError.type, 'SecurityGroupInUse');

    const fw = await rulesForPorts(net.context.db, [p2.body.port.id, 'no-such-port']);
    const f = fw.get(p2.body.port.id)!;
    assert.deepEqual(f.securityGroupIds, [db.id]);
    assert.equal(f.stateful, true);
    const pg = f.rules.find((r) => r.portRangeMin === 5432)!;
    assert.equal(pg.protocol, 6);
    assert.deepEqual(pg.remote, [`${p1.body.port.fixed_ips[0].ip_address}/32`]);
    assert.ok(f.rules.some((r) => r.direction === 'egress' && r.remote === null && r.protocol === null));
    assert.deepEqual(fw.get('no-such-port')!.rules, []);
  });

  it('counts groups and rules against the project quotas', async () => {
    const p = await makeProject(c, admin);
    const q = await api('PUT', `/v2.0/quotas/${p.id}`, admin, { quota: { security_group: 2, security_group_rule: 7 } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    const g = await group(p.member, 'one'); // default (4 rules) + this (2 rules)
    const over = await api('POST', '/v2.0/security-groups', p.member, { security_group: { name: 'two' } });
    assert.equal(over.status, 409);
    assert.match(over.body.NeutronError.message, /Quota exceeded for resources: \['security_group'\]/);
    assert.equal((await rule(p.member, { security_group_id: g.id, protocol: 'tcp' })).status, 201);
    const r2 = await rule(p.member, { security_group_id: g.id, protocol: 'udp' });
    assert.equal(r2.status, 409);
    assert.match(r2.body.NeutronError.message, /security_group_rule/);
  });
});
