import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

const GROUP_KEYS = ['description', 'id', 'name', 'rules', 'tenant_id'];
const RULE_KEYS = ['from_port', 'group', 'id', 'ip_protocol', 'ip_range', 'parent_group_id', 'to_port'];

/** Tempest's schema for a group and its rules (additionalProperties false). */
function assertGroup(g: any) {
  assert.deepEqual(Object.keys(g).sort(), GROUP_KEYS, JSON.stringify(g));
  assert.equal(typeof g.id, 'number');
  assert.equal(typeof g.name, 'string');
  assert.equal(typeof g.description, 'string');
  assert.equal(typeof g.tenant_id, 'string');
  for (const r of g.rules) assertRule(r);
}
function assertRule(r: any) {
  assert.deepEqual(Object.keys(r).sort(), RULE_KEYS, JSON.stringify(r));
  for (const k of Object.keys(r.group)) assert.ok(['name', 'tenant_id'].includes(k));
  for (const k of Object.keys(r.ip_range)) assert.equal(k, 'cidr');
}

describe('compute: security groups proxy (os-security-groups, os-security-group-rules)', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  const create = async (token: string, name: string, description = 'a group') => {
    const r = await k.nova('POST', '/v2.1/os-security-groups', { token, body: { security_group: { name, description } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertGroup(r.body.security_group);
    return r.body.security_group;
  };
  const rule = (token: string, body: Record<string, unknown>) => k.nova('POST', '/v2.1/os-security-group-rules', { token, body: { security_group_rule: body } });

  it('lists the implicit default group, which cannot be deleted or changed', async () => {
    const l = await k.nova('GET', '/v2.1/os-security-groups', { token: k.a.member });
    assert.equal(l.status, 200);
    const def = l.body.security_groups.find((g: any) => g.name === 'default');
    assert.ok(def, JSON.stringify(l.body));
    assertGroup(def);
    assert.equal(def.tenant_id, k.a.id);
    assert.deepEqual(def.rules, []);
    const again = await k.nova('GET', '/v2.1/os-security-groups', { token: k.a.member });
    assert.equal(again.body.security_groups.filter((g: any) => g.name === 'default').length, 1, 'default is created once');
    const del = await k.nova('DELETE', `/v2.1/os-security-groups/${def.id}`, { token: k.a.member });
    assert.equal(del.status, 400);
    assert.equal(del.body.badRequest.message, 'Removing default security group not allowed');
    const upd = await k.nova('PUT', `/v2.1/os-security-groups/${def.id}`, { token: k.a.member, body: { security_group: { name: 'x', description: 'y' } } });
    assert.equal(upd.status, 400);
    const dup = await k.nova('POST', '/v2.1/os-security-groups', { token: k.a.member, body: { security_group: { name: 'default', description: 'd' } } });
    assert.equal(dup.status, 400);
  });

  it('creates, shows, lists, updates and deletes a group (names keep their spaces)', async () => {
    const g = await create(k.a.member, ' web servers ', 'for the web');
    assert.equal(g.name, ' web servers ');
    assert.equal(g.description, 'for the web');
    assert.equal(g.tenant_id, k.a.id);
    const shown = await k.nova('GET', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member });
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body.security_group, g);
    const list = await k.nova('GET', '/v2.1/os-security-groups', { token: k.a.member });
    assert.ok(list.body.security_groups.some((x: any) => JSON.stringify(x) === JSON.stringify(g)), 'the list shows the group as created');
    const upd = await k.nova('PUT', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member, body: { security_group: { name: 'web2', description: 'new' } } });
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    assertGroup(upd.body.security_group);
    const after = await k.nova('GET', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member });
    assert.equal(after.body.security_group.name, 'web2');
    assert.equal(after.body.security_group.description, 'new');
    const del = await k.nova('DELETE', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member });
    assert.equal(del.status, 202);
    const gone = await k.nova('GET', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.itemNotFound.message, `Security group ${g.id} not found.`);
  });

  it('rejects bad names, descriptions, duplicates and ids', async () => {
    for (const name of ['', ' ', 'securitygroup-'.padEnd(260, '0')]) {
      const r = await k.nova('POST', '/v2.1/os-security-groups', { token: k.a.member, body: { security_group: { name, description: 'd' } } });
      assert.equal(r.status, 400, `name ${JSON.stringify(name)}`);
    }
    const noName = await k.nova('POST', '/v2.1/os-security-groups', { token: k.a.member, body: { security_group: { description: 'd' } } });
    assert.equal(noName.status, 400);
    const longDesc = await k.nova('POST', '/v2.1/os-security-groups', { token: k.a.member, body: { security_group: { name: 'ok', description: 'description-'.padEnd(260, '0') } } });
    assert.equal(longDesc.status, 400);
    const noBody = await k.nova('POST', '/v2.1/os-security-groups', { token: k.a.member, body: { other: {} } });
    assert.equal(noBody.status, 400);
    const emptyDesc = await create(k.a.member, 'empty-desc', '');
    assert.equal(emptyDesc.description, '');

    await create(k.a.member, 'twice');
    const dup = await k.nova('POST', '/v2.1/os-security-groups', { token: k.a.member, body: { security_group: { name: 'twice', description: 'd' } } });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.badRequest.message, 'Security group twice already exists');

    const big = 999 + Math.floor(Math.random() * 1e15); // Tempest's rand_int_id(start=999)
    for (const [m, body] of [['GET', undefined], ['DELETE', undefined], ['PUT', { security_group: { name: 'n', description: 'd' } }]] as const) {
      const r = await k.nova(m, `/v2.1/os-security-groups/${big}`, { token: k.a.member, body });
      assert.equal(r.status, 404, `${m} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.itemNotFound.message, `Security group ${big} not found.`);
    }
    const notInt = await k.nova('PUT', '/v2.1/os-security-groups/sg-abc', { token: k.a.member, body: { security_group: { name: 'n', description: 'd' } } });
    assert.equal(notInt.status, 400);
    assert.equal(notInt.body.badRequest.message, 'Security group id should be integer');
    const showNotInt = await k.nova('GET', '/v2.1/os-security-groups/sg-abc', { token: k.a.member });
    assert.equal(showNotInt.status, 400);
    const noId = await k.nova('DELETE', '/v2.1/os-security-groups/', { token: k.a.member });
    assert.equal(noId.status, 404);

    const g = await create(k.a.member, 'to-update');
    const longName = await k.nova('PUT', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member, body: { security_group: { name: 'x'.repeat(260) } } });
    assert.equal(longName.status, 400);
    const longD = await k.nova('PUT', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member, body: { security_group: { description: 'x'.repeat(260) } } });
    assert.equal(longD.status, 400);
    const toDup = await k.nova('PUT', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member, body: { security_group: { name: 'twice' } } });
    assert.equal(toDup.status, 400);
  });

  it('adds rules (cidr, default cidr, source group, icmp) and shows them in the group', async () => {
    const g = await create(k.a.member, 'rules-1');
    const peer = await create(k.a.member, 'rules-peer');
    const tcp = await rule(k.a.member, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22 });
    assert.equal(tcp.status, 200, JSON.stringify(tcp.body));
    const r1 = tcp.body.security_group_rule;
    assertRule(r1);
    assert.deepEqual({ ...r1, id: 0 }, { id: 0, parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, group: {}, ip_range: { cidr: '0.0.0.0/0' } });
    const withCidr = await rule(k.a.member, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.2.3.124/24' });
    assert.equal(withCidr.status, 200);
    assert.deepEqual(withCidr.body.security_group_rule.ip_range, { cidr: '10.2.3.124/24' });
    const fromGroup = await rule(k.a.member, { parent_group_id: String(g.id), ip_protocol: 'tcp', from_port: 22, to_port: 22, group_id: peer.id });
    assert.equal(fromGroup.status, 200);
    assert.deepEqual(fromGroup.body.security_group_rule.group, { tenant_id: k.a.id, name: 'rules-peer' });
    assert.deepEqual(fromGroup.body.security_group_rule.ip_range, {});
    assert.equal(fromGroup.body.security_group_rule.parent_group_id, g.id);
    const icmp = await rule(k.a.member, { parent_group_id: g.id, ip_protocol: 'icmp', from_port: -1, to_port: -1 });
    assert.equal(icmp.status, 200);
    const v6 = await rule(k.a.member, { parent_group_id: g.id, ip_protocol: 'udp', from_port: 53, to_port: 53, cidr: '::/0' });
    assert.equal(v6.status, 200);

    const shown = await k.nova('GET', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member });
    assertGroup(shown.body.security_group);
    const ids = shown.body.security_group.rules.map((r: any) => r.id);
    assert.deepEqual(ids, [r1.id, withCidr.body.security_group_rule.id, fromGroup.body.security_group_rule.id, icmp.body.security_group_rule.id, v6.body.security_group_rule.id]);

    const del = await k.nova('DELETE', `/v2.1/os-security-group-rules/${icmp.body.security_group_rule.id}`, { token: k.a.member });
    assert.equal(del.status, 202);
    const again = await k.nova('DELETE', `/v2.1/os-security-group-rules/${icmp.body.security_group_rule.id}`, { token: k.a.member });
    assert.equal(again.status, 404);

    // Deleting the peer group takes the rules that name it with it.
    const delPeer = await k.nova('DELETE', `/v2.1/os-security-groups/${peer.id}`, { token: k.a.member });
    assert.equal(delPeer.status, 202);
    const left = await k.nova('GET', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member });
    assert.deepEqual(left.body.security_group.rules.map((r: any) => r.id), [r1.id, withCidr.body.security_group_rule.id, v6.body.security_group_rule.id]);
  });

  it('a source-group rule without protocol or ports allows everything; with a protocol it opens the full range', async () => {
    const g = await create(k.a.member, 'rules-open');
    const peer = await create(k.a.member, 'rules-open-peer');
    const all = await rule(k.a.member, { parent_group_id: g.id, group_id: peer.id });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.equal(all.body.security_group_rule.ip_protocol, null);
    assert.equal(all.body.security_group_rule.from_port, null);
    const tcp = await rule(k.a.member, { parent_group_id: g.id, group_id: peer.id, ip_protocol: 'tcp' });
    assert.equal(tcp.status, 200);
    assert.deepEqual([tcp.body.security_group_rule.from_port, tcp.body.security_group_rule.to_port], [1, 65535]);
  });

  it('rejects bad rules as nova-network did', async () => {
    const g = await create(k.a.member, 'rules-bad');
    const ok = { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22 };
    const cases: [Record<string, unknown>, number, string?][] = [
      [{ ...ok, parent_group_id: 999 + 123456789 }, 404, 'Security group 123457788 not found.'],
      [{ ...ok, parent_group_id: 9007199254740000 }, 404],
      [{ ...ok, parent_group_id: 'non_int_id-123' }, 400, 'Security group id should be integer'],
      [{ ...ok, ip_protocol: '999-abc' }, 400, 'Invalid IP protocol 999-abc.'],
      [{ ...ok, from_port: 65536 + 7 }, 400],
      [{ ...ok, to_port: 65536 + 7 }, 400, 'Invalid port range 22:65543. Valid TCP ports should be between 1-65535'],
      [{ ...ok, from_port: 22, to_port: 21 }, 400, 'Invalid port range 22:21. Former value cannot be greater than the later'],
      [{ ...ok, from_port: 0, to_port: 10 }, 400],
      [{ ...ok, ip_protocol: 'icmp', from_port: 256, to_port: 0 }, 400, 'Invalid port range 256:0. For ICMP, the type:code must be valid'],
      [{ ...ok, ip_protocol: 'icmp', from_port: -2, to_port: 0 }, 400],
      [{ ...ok, from_port: 'abc' }, 400, 'Invalid input received: To and From ports must be integers'],
      [{ ...ok, cidr: '10.0.0.300/24' }, 400, '10.0.0.300/24 is not a valid IP network.'],
      [{ ...ok, cidr: '10.0.0.0' }, 400],
      [{ ...ok, cidr: '10.0.0.0/0' }, 400, 'Bad prefix for network in cidr 10.0.0.0/0'],
      [{ parent_group_id: g.id }, 400, 'Not enough parameters to build a valid rule.'],
      [{ ...ok, group_id: 'x' }, 400],
      [{ ...ok, group_id: 2147000000 }, 404],
    ];
    for (const [body, status, message] of cases) {
      const r = await rule(k.a.member, body);
      assert.equal(r.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
      if (message) assert.equal((r.body.badRequest ?? r.body.itemNotFound).message, message);
    }
    const empty = await k.nova('POST', '/v2.1/os-security-group-rules', { token: k.a.member, body: {} });
    assert.equal(empty.status, 400);

    const first = await rule(k.a.member, ok);
    assert.equal(first.status, 200);
    const dup = await rule(k.a.member, ok);
    assert.equal(dup.status, 400);
    assert.equal(dup.body.badRequest.message, `This rule already exists in group ${g.id}`);
    const dupString = await rule(k.a.member, { ...ok, from_port: '22', to_port: '22', ip_protocol: 'TCP' });
    assert.equal(dupString.status, 400, 'ports as strings and protocol case compare the same');

    const badId = await k.nova('DELETE', '/v2.1/os-security-group-rules/abc', { token: k.a.member });
    assert.equal(badId.status, 400);
    const missing = await k.nova('DELETE', `/v2.1/os-security-group-rules/${999 + 77777777}`, { token: k.a.member });
    assert.equal(missing.status, 404);
  });

  it('keeps projects apart; an admin sees all with all_tenants; limit and offset page the list', async () => {
    const ga = await create(k.a.member, 'iso-a');
    const asB = await k.nova('GET', `/v2.1/os-security-groups/${ga.id}`, { token: k.b.member });
    assert.equal(asB.status, 404);
    const delB = await k.nova('DELETE', `/v2.1/os-security-groups/${ga.id}`, { token: k.b.member });
    assert.equal(delB.status, 404);
    const ruleB = await rule(k.b.member, { parent_group_id: ga.id, ip_protocol: 'tcp', from_port: 1, to_port: 2 });
    assert.equal(ruleB.status, 404);
    const ra = await rule(k.a.member, { parent_group_id: ga.id, ip_protocol: 'tcp', from_port: 1, to_port: 2 });
    const delRuleB = await k.nova('DELETE', `/v2.1/os-security-group-rules/${ra.body.security_group_rule.id}`, { token: k.b.member });
    assert.equal(delRuleB.status, 404);
    const gb = await create(k.b.member, 'iso-a'); // the same name in another project is fine
    assert.notEqual(gb.id, ga.id);
    const srcOther = await rule(k.b.member, { parent_group_id: gb.id, group_id: ga.id });
    assert.equal(srcOther.status, 404, 'another project\'s group is no source');

    const listB = await k.nova('GET', '/v2.1/os-security-groups', { token: k.b.member });
    assert.ok(listB.body.security_groups.every((g: any) => g.tenant_id === k.b.id));
    assert.ok(!listB.body.security_groups.some((g: any) => g.id === ga.id));
    const listBAll = await k.nova('GET', '/v2.1/os-security-groups?all_tenants=1', { token: k.b.member });
    assert.ok(listBAll.body.security_groups.every((g: any) => g.tenant_id === k.b.id), 'all_tenants is for admins only');

    const all = await k.nova('GET', '/v2.1/os-security-groups?all_tenants=1');
    assert.equal(all.status, 200);
    const tenants = new Set(all.body.security_groups.map((g: any) => g.tenant_id));
    assert.ok(tenants.has(k.a.id) && tenants.has(k.b.id));
    const sorted = [...all.body.security_groups].sort((x: any, y: any) => (x.tenant_id + '\0' + x.name < y.tenant_id + '\0' + y.name ? -1 : 1));
    assert.deepEqual(all.body.security_groups.map((g: any) => g.id), sorted.map((g: any) => g.id), 'sorted by tenant then name');
    const adminShow = await k.nova('GET', `/v2.1/os-security-groups/${ga.id}`);
    assert.equal(adminShow.status, 200);

    const full = await k.nova('GET', '/v2.1/os-security-groups', { token: k.a.member });
    const n = full.body.security_groups.length;
    assert.ok(n >= 3);
    const page = await k.nova('GET', '/v2.1/os-security-groups?limit=2&offset=1', { token: k.a.member });
    assert.equal(page.body.security_groups.length, 2);
    const badLimit = await k.nova('GET', '/v2.1/os-security-groups?limit=x', { token: k.a.member });
    assert.equal(badLimit.status, 400);
  });

  it('servers use groups: create with security_groups, add/remove actions, the server\'s list, in-use protection', async () => {
    const sg1 = await create(k.a.member, 'srv-1');
    const sg2 = await create(k.a.member, 'srv-2');
    const r = await rule(k.a.member, { parent_group_id: sg1.id, ip_protocol: 'tcp', from_port: 80, to_port: 80 });
    assert.equal(r.status, 200);

    const unknown = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'x', imageRef: k.imageId, flavorRef: '1', security_groups: [{ name: 'no-such-group' }] } } });
    assert.equal(unknown.status, 400);
    const otherProject = await k.nova('POST', '/v2.1/servers', { token: k.b.member, body: { server: { name: 'x', imageRef: k.imageId, flavorRef: '1', security_groups: [{ name: 'srv-1' }] } } });
    assert.equal(otherProject.status, 400, 'another project\'s group is unknown');

    const s = await k.boot(k.a.member, { security_groups: [{ name: 'srv-1' }] });
    assert.deepEqual(s.security_groups, [{ name: 'srv-1' }]);
    let groups = await k.nova('GET', `/v2.1/servers/${s.id}/os-security-groups`, { token: k.a.member });
    assert.equal(groups.status, 200);
    for (const g of groups.body.security_groups) assertGroup(g);
    assert.deepEqual(groups.body.security_groups.map((g: any) => g.id), [sg1.id]);
    assert.equal(groups.body.security_groups[0].rules[0].id, r.body.security_group_rule.id);

    const inUse = await k.nova('DELETE', `/v2.1/os-security-groups/${sg1.id}`, { token: k.a.member });
    assert.equal(inUse.status, 400);
    assert.equal(inUse.body.badRequest.message, 'Security group is still in use');

    const add = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { addSecurityGroup: { name: 'srv-2' } } });
    assert.equal(add.status, 202, JSON.stringify(add.body));
    const addUnknown = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { addSecurityGroup: { name: 'nope' } } });
    assert.equal(addUnknown.status, 404);
    const addDefault = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { addSecurityGroup: { name: 'default' } } });
    assert.equal(addDefault.status, 202);
    groups = await k.nova('GET', `/v2.1/servers/${s.id}/os-security-groups`, { token: k.a.member });
    assert.deepEqual(groups.body.security_groups.map((g: any) => g.name), ['default', 'srv-1', 'srv-2']);
    assert.equal((await k.nova('DELETE', `/v2.1/os-security-groups/${sg2.id}`, { token: k.a.member })).status, 400);

    // A renamed group stays attached to its servers.
    const ren = await k.nova('PUT', `/v2.1/os-security-groups/${sg2.id}`, { token: k.a.member, body: { security_group: { name: 'srv-2b', description: 'renamed' } } });
    assert.equal(ren.status, 200);
    groups = await k.nova('GET', `/v2.1/servers/${s.id}/os-security-groups`, { token: k.a.member });
    assert.deepEqual(groups.body.security_groups.map((g: any) => g.name), ['default', 'srv-1', 'srv-2b']);
    assert.equal((await k.nova('DELETE', `/v2.1/os-security-groups/${sg2.id}`, { token: k.a.member })).status, 400);

    const rm = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { removeSecurityGroup: { name: 'srv-2b' } } });
    assert.equal(rm.status, 202, JSON.stringify(rm.body));
    assert.equal((await k.nova('DELETE', `/v2.1/os-security-groups/${sg2.id}`, { token: k.a.member })).status, 202);

    // The server's list is not a proxy API: it stays at 2.36 and later.
    const late = await k.nova('GET', `/v2.1/servers/${s.id}/os-security-groups`, { token: k.a.member, version: '2.90' });
    assert.equal(late.status, 200);
    const otherSees = await k.nova('GET', `/v2.1/servers/${s.id}/os-security-groups`, { token: k.b.member });
    assert.equal(otherSees.status, 404);

    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member })).status, 204);
    await k.waitFor(k.a.member, s.id, 'DELETED');
    assert.equal((await k.nova('DELETE', `/v2.1/os-security-groups/${sg1.id}`, { token: k.a.member })).status, 202, 'free once the server is gone');
  });

  it('answers 404 from microversion 2.36 on, as Nova', async () => {
    const g = await create(k.a.member, 'versions');
    const at235 = await k.nova('GET', '/v2.1/os-security-groups', { token: k.a.member, version: '2.35' });
    assert.equal(at235.status, 200);
    const calls: [string, string, unknown][] = [
      ['GET', '/v2.1/os-security-groups', undefined],
      ['POST', '/v2.1/os-security-groups', { security_group: { name: 'late', description: 'd' } }],
      ['GET', `/v2.1/os-security-groups/${g.id}`, undefined],
      ['PUT', `/v2.1/os-security-groups/${g.id}`, { security_group: { name: 'late', description: 'd' } }],
      ['DELETE', `/v2.1/os-security-groups/${g.id}`, undefined],
      ['POST', '/v2.1/os-security-group-rules', { security_group_rule: { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 1, to_port: 1 } }],
      ['DELETE', '/v2.1/os-security-group-rules/1', undefined],
    ];
    for (const [m, p, body] of calls) {
      const r = await k.nova(m, p, { token: k.a.member, body, version: '2.36' });
      assert.equal(r.status, 404, `${m} ${p}`);
      assert.equal(r.body.itemNotFound.message, 'API version 2.36 is not supported on this method.');
    }
    const still = await k.nova('GET', `/v2.1/os-security-groups/${g.id}`, { token: k.a.member });
    assert.equal(still.status, 200, 'nothing changed at 2.36');
    assert.equal(still.body.security_group.name, 'versions');
  });
});
