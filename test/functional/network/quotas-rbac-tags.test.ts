import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { makeProject, type TestProject } from '../../helpers/image.js';
import type { NetworkServiceModule } from '../../../src/network/network-service.js';

describe('network: quotas, RBAC policies, tags, agents, zones', () => {
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
  const network = async (token: string, extra: Record<string, unknown> = {}) => {
    const r = await api('POST', '/v2.0/networks', token, { network: { name: 'n', ...extra } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.network;
  };

  it('shows, sets, lists, details and resets quotas; only admins change them', async () => {
    const own = await api('GET', `/v2.0/quotas/${a.id}`, a.member);
    assert.equal(own.status, 200);
    assert.equal(own.body.quota.network, 100);
    assert.equal((await api('GET', `/v2.0/quotas/${b.id}`, a.member)).status, 403);
    assert.equal((await api('PUT', `/v2.0/quotas/${a.id}`, a.member, { quota: { network: 5 } })).status, 403);
    assert.equal((await api('GET', '/v2.0/quotas', a.member)).status, 403);
    for (const bad of [{ network: -2 }, { network: 'many' }, { network: 1.5 }, { widgets: 3 }]) {
      assert.equal((await api('PUT', `/v2.0/quotas/${a.id}`, admin, { quota: bad })).status, 400, JSON.stringify(bad));
    }
    const set = await api('PUT', `/v2.0/quotas/${a.id}`, admin, { quota: { network: 1, port: '-1' } });
    assert.equal(set.status, 200);
    assert.equal(set.body.quota.network, 1);
    assert.equal(set.body.quota.port, -1);
    const list = await api('GET', '/v2.0/quotas', admin);
    assert.ok(list.body.quotas.some((q: any) => q.project_id === a.id && q.network === 1));
    await network(a.member);
    const over = await api('POST', '/v2.0/networks', a.member, { network: { name: 'x' } });
    assert.equal(over.status, 409);
    assert.match(over.body.NeutronError.message, /Quota exceeded for resources: \['network'\]/);
    const details = await api('GET', `/v2.0/quotas/${a.id}/details.json`, a.member);
    assert.deepEqual(details.body.quota.network, { limit: 1, used: 1, reserved: 0 });
    assert.deepEqual((await api('GET', `/v2.0/quotas/${a.id}/details`, a.member)).body, details.body);
    assert.equal((await api('DELETE', `/v2.0/quotas/${a.id}`, admin)).status, 204);
    const def = await api('GET', `/v2.0/quotas/${a.id}/default`, a.member);
    assert.deepEqual((await api('GET', `/v2.0/quotas/${a.id}`, a.member)).body, def.body);
    assert.ok(!(await api('GET', '/v2.0/quotas', admin)).body.quotas.some((q: any) => q.project_id === a.id));
  });

  it('shares a network through RBAC and keeps shared in step', async () => {
    const n = await network(a.member);
    assert.equal((await api('GET', `/v2.0/networks/${n.id}`, b.member)).status, 404);
    const wild = await api('POST', '/v2.0/rbac-policies', a.member, { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: '*' } });
    assert.equal(wild.status, 403, 'only admins share with everyone');
    const p = await api('POST', '/v2.0/rbac-policies', a.member, { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: b.id } });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    assert.equal(p.body.rbac_policy.target_tenant, b.id);
    assert.equal(p.body.rbac_policy.project_id, a.id);
    const dup = await api('POST', '/v2.0/rbac-policies', a.member, { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: b.id } });
    assert.equal(dup.status, 409);
    assert.equal((await api('GET', `/v2.0/networks/${n.id}`, b.member)).status, 200);
    assert.equal((await api('GET', `/v2.0/rbac-policies/${p.body.rbac_policy.id}`, b.member)).status, 404);
    // B cannot share A's network, nor share with a bad object type or action
    assert.equal((await api('POST', '/v2.0/rbac-policies', b.member, { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: randomUUID() } })).status, 404);
    assert.equal((await api('POST', '/v2.0/rbac-policies', a.member, { rbac_policy: { object_type: 'router', object_id: n.id, action: 'access_as_shared', target_tenant: b.id } })).status, 400);
    assert.equal((await api('POST', '/v2.0/rbac-policies', a.member, { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_owner', target_tenant: b.id } })).status, 400);

    // B uses the network: the entry cannot go
    const port = await api('POST', '/v2.0/ports', b.member, { port: { network_id: n.id } });
    assert.equal(port.status, 201, JSON.stringify(port.body));
    const del = await api('DELETE', `/v2.0/rbac-policies/${p.body.rbac_policy.id}`, a.member);
    assert.equal(del.status, 409);
    assert.equal(del.body.NeutronError.type, 'RbacPolicyInUse');
    // a wildcard entry by the admin makes the network shared; B's port keeps the narrow entry deletable then
    const all = await api('POST', '/v2.0/rbac-policies', admin, { rbac_policy: { object_type: 'network', object_id: n.id, action: 'access_as_shared', target_tenant: '*', project_id: a.id } });
    assert.equal(all.status, 201, JSON.stringify(all.body));
    assert.equal((await api('GET', `/v2.0/networks/${n.id}`, a.member)).body.network.shared, true);
    assert.equal((await api('DELETE', `/v2.0/rbac-policies/${p.body.rbac_policy.id}`, a.member)).status, 204);
    assert.equal((await api('DELETE', `/v2.0/rbac-policies/${all.body.rbac_policy.id}`, admin)).status, 409, "B's port still needs the network");
    assert.equal((await api('DELETE', `/v2.0/ports/${port.body.port.id}`, b.member)).status, 204);
    assert.equal((await api('DELETE', `/v2.0/rbac-policies/${all.body.rbac_policy.id}`, admin)).status, 204);
    assert.equal((await api('GET', `/v2.0/networks/${n.id}`, a.member)).body.network.shared, false);
    assert.equal((await api('GET', `/v2.0/networks/${n.id}`, b.member)).status, 404);
    // shared=true on the network shows up as a wildcard entry
    await api('PUT', `/v2.0/networks/${n.id}`, admin, { network: { shared: true } });
    const entries = await api('GET', `/v2.0/rbac-policies?object_id=${n.id}`, admin);
    assert.deepEqual(entries.body.rbac_policies.map((e: any) => `${e.action} ${e.target_tenant}`), ['access_as_shared *']);
  });

  it('shares a security group through RBAC', async () => {
    const g = await api('POST', '/v2.0/security-groups', a.member, { security_group: { name: 'shared-sg' } });
    const id = g.body.security_group.id;
    assert.equal((await api('GET', `/v2.0/security-groups/${id}`, b.member)).status, 404);
    const p = await api('POST', '/v2.0/rbac-policies', a.member, { rbac_policy: { object_type: 'security_group', object_id: id, action: 'access_as_shared', target_tenant: b.id } });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const seen = await api('GET', `/v2.0/security-groups/${id}`, b.member);
    assert.equal(seen.status, 200);
    assert.equal(seen.body.security_group.shared, true);
    // seeing is not owning
    assert.equal((await api('PUT', `/v2.0/security-groups/${id}`, b.member, { security_group: { name: 'mine' } })).status, 403);
  });

  it('tags resources the caller sees, and only those', async () => {
    const n = await network(a.member);
    const base = `/v2.0/networks/${n.id}/tags`;
    assert.equal((await api('PUT', `${base}/red`, a.member)).status, 201);
    assert.equal((await api('GET', `${base}/red`, a.member)).status, 204);
    assert.equal((await api('GET', `${base}/blue`, a.member)).status, 404);
    const put = await api('PUT', base, a.member, { tags: ['x', 'y', 'z'] });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body.tags.sort(), ['x', 'y', 'z']);
    assert.equal((await api('PUT', base, a.member, { tags: 'x' })).status, 400);
    assert.equal((await api('PUT', base, a.member, { tags: ['a,b'] })).status, 400);
    assert.equal((await api('DELETE', `${base}/x`, a.member)).status, 204);
    assert.equal((await api('DELETE', `${base}/x`, a.member)).status, 404);
    assert.deepEqual((await api('GET', base, a.member)).body.tags, ['y', 'z']);
    assert.equal((await api('GET', `/v2.0/networks?tags=y`, a.member)).body.networks.length, 1);
    assert.equal((await api('GET', base, b.member)).status, 404);
    assert.equal((await api('PUT', `${base}/evil`, b.member)).status, 404);
    assert.equal((await api('DELETE', base, a.member)).status, 204);
    assert.deepEqual((await api('GET', base, a.member)).body.tags, []);
    assert.equal((await api('GET', `/v2.0/networks/${randomUUID()}/tags`, a.member)).status, 404);
    const g = await api('POST', '/v2.0/security-groups', a.member, { security_group: { name: 'tagged' } });
    assert.equal((await api('PUT', `/v2.0/security-groups/${g.body.security_group.id}/tags/blue`, a.member)).status, 201);
    assert.deepEqual((await api('GET', `/v2.0/security-groups/${g.body.security_group.id}`, a.member)).body.security_group.tags, ['blue']);
  });

  it('lists agents for admins only, with liveness from the heartbeat', async () => {
    const now = new Date();
    const old = new Date(now.getTime() - 120_000);
    const row = (type: string, beat: Date) => ({
      id: randomUUID(), agent_type: type, binary: 'nubo-network-agent', host: 'h1', topic: 'network-agent', availability_zone: 'nova',
      admin_state_up: 1, configurations: '{"bridge_mappings":{}}', description: null, created_at: now.toISOString(), started_at: now.toISOString(),
      heartbeat_timestamp: beat.toISOString(), tunnel_ip: null,
    });
    const live = row('Linux bridge agent', now);
    const dead = row('DHCP agent', old);
    await net.context.db.insertInto('agent').values([live, dead]).execute();
    assert.deepEqual((await api('GET', '/v2.0/agents', a.member)).body.agents, []);
    assert.equal((await api('GET', `/v2.0/agents/${live.id}`, a.member)).status, 403);
    const l = await api('GET', '/v2.0/agents?host=h1', admin);
    const byType = Object.fromEntries(l.body.agents.map((x: any) => [x.agent_type, x]));
    assert.equal(byType['Linux bridge agent'].alive, true);
    assert.equal(byType['DHCP agent'].alive, false);
    assert.deepEqual(byType['Linux bridge agent'].configurations, { bridge_mappings: {} });
    const u = await api('PUT', `/v2.0/agents/${live.id}`, admin, { agent: { admin_state_up: false, description: 'drained' } });
    assert.equal(u.status, 200);
    assert.equal(u.body.agent.admin_state_up, false);
    assert.equal(u.body.agent.description, 'drained');
    assert.equal((await api('PUT', `/v2.0/agents/${live.id}`, admin, { agent: { host: 'x' } })).status, 400);
    assert.equal((await api('DELETE', `/v2.0/agents/${dead.id}`, admin)).status, 204);
    assert.equal((await api('GET', `/v2.0/agents/${dead.id}`, admin)).status, 404);
  });

  it('lists availability zones, service providers and the new extensions', async () => {
    const z = await api('GET', '/v2.0/availability_zones', a.member);
    assert.deepEqual(z.body.availability_zones.map((x: any) => `${x.name} ${x.resource} ${x.state}`).sort(), ['nova network available', 'nova router available']);
    assert.deepEqual((await api('GET', '/v2.0/service-providers', a.member)).body, { service_providers: [] });
    const ext = (await api('GET', '/v2.0/extensions', a.member)).body.extensions.map((e: any) => e.alias);
    for (const alias of ['security-group', 'quotas', 'quota_details', 'rbac-policies', 'standard-attr-tag', 'agent']) assert.ok(ext.includes(alias), alias);
  });
});
