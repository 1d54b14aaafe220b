import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';
import { BUILTIN_NETWORK } from '../../../src/compute/network/builtin-network.js';

describe('compute misc APIs: os-fixed-ips, os-server-password, os-server-external-events, usage, security group quotas, aggregate ids', () => {
  let k: ComputeCloud;
  let server: any;
  before(async () => {
    k = await startComputeCloud();
    server = await k.boot(k.a.member);
  });
  after(async () => { await k?.stop(); });

  const fixedAddress = (s: any): string => {
    for (const ips of Object.values(s.addresses) as any[]) for (const ip of ips) if (ip['OS-EXT-IPS:type'] === 'fixed') return ip.addr;
    throw new Error('no fixed ip');
  };

  it('os-fixed-ips shows the fixed IP of a server, with its host and hostname', async () => {
    const addr = fixedAddress(server);
    const r = await k.nova('GET', `/v2.1/os-fixed-ips/${addr}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { fixed_ip: { address: addr, cidr: BUILTIN_NETWORK.cidr, host: 'compute1', hostname: server['OS-EXT-SRV-ATTR:hostname'] ?? r.body.fixed_ip.hostname } });
    assert.equal(typeof r.body.fixed_ip.hostname, 'string');
    // 2.4 adds the reserved flag
    const v24 = await k.nova('GET', `/v2.1/os-fixed-ips/${addr}`, { version: '2.4' });
    assert.equal(v24.body.fixed_ip.reserved, false);
  });

  it('os-fixed-ips reserve/unreserve answer 202 and flip the reserved flag', async () => {
    const addr = fixedAddress(server);
    const res = await k.nova('POST', `/v2.1/os-fixed-ips/${addr}/action`, { body: { reserve: null } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await k.nova('GET', `/v2.1/os-fixed-ips/${addr}`, { version: '2.4' })).body.fixed_ip.reserved, true);
    const un = await k.nova('POST', `/v2.1/os-fixed-ips/${addr}/action`, { body: { unreserve: 'None' } });
    assert.equal(un.status, 202);
    assert.equal((await k.nova('GET', `/v2.1/os-fixed-ips/${addr}`, { version: '2.4' })).body.fixed_ip.reserved, false);
  });

  it('os-fixed-ips errors: non-admin 403, invalid address 400, outside the network 404, unknown action 400, gone at 2.36', async () => {
    const addr = fixedAddress(server);
    assert.equal((await k.nova('GET', `/v2.1/os-fixed-ips/${addr}`, { token: k.a.member })).status, 403);
    assert.equal((await k.nova('POST', `/v2.1/os-fixed-ips/${addr}/action`, { token: k.a.member, body: { reserve: null } })).status, 403);
    assert.equal((await k.nova('POST', `/v2.1/os-fixed-ips/${addr}/action`, { token: k.a.member, body: { unreserve: null } })).status, 403);
    const bad = await k.nova('POST', '/v2.1/os-fixed-ips/my.invalid.ip/action', { body: { reserve: null } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.badRequest.message, 'Fixed IP my.invalid.ip not valid');
    const badShow = await k.nova('GET', '/v2.1/os-fixed-ips/my.invalid.ip');
    assert.equal(badShow.status, 400);
    const outside = await k.nova('GET', '/v2.1/os-fixed-ips/203.0.113.9');
    assert.equal(outside.status, 404);
    assert.equal(outside.body.itemNotFound.message, 'Fixed IP not found for address 203.0.113.9.');
    const act = await k.nova('POST', `/v2.1/os-fixed-ips/${addr}/action`, { body: { invalid_action: null } });
    assert.equal(act.status, 400);
    assert.equal(act.body.badRequest.message, 'There is no such action: invalid_action');
    assert.equal((await k.nova('GET', `/v2.1/os-fixed-ips/${addr}`, { version: '2.36' })).status, 404);
    assert.equal((await k.nova('POST', `/v2.1/os-fixed-ips/${addr}/action`, { version: '2.36', body: { reserve: null } })).status, 404);
  });

  it('os-server-password: empty password, clear answers 204, other projects get 404', async () => {
    const r = await k.nova('GET', `/v2.1/servers/${server.id}/os-server-password`, { token: k.a.member });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { password: '' });
    assert.equal((await k.nova('GET', `/v2.1/servers/${server.id}/os-server-password`, { token: k.a.reader })).status, 200);
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${server.id}/os-server-password`, { token: k.a.reader })).status, 403);
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${server.id}/os-server-password`, { token: k.a.member })).status, 204);
    assert.equal((await k.nova('GET', `/v2.1/servers/${server.id}/os-server-password`, { token: k.b.member })).status, 404);
    assert.equal((await k.nova('GET', `/v2.1/servers/${randomUUID()}/os-server-password`)).status, 404);
  });

  it('os-server-external-events: 200 when all are accepted, 207 with per-event codes otherwise, admin only, schema checked', async () => {
    const ok = await k.nova('POST', '/v2.1/os-server-external-events', { body: { events: [{ name: 'network-changed', server_uuid: server.id }] } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body, { events: [{ name: 'network-changed', server_uuid: server.id, status: 'completed', code: 200 }] });
    const missing = randomUUID();
    const mixed = await k.nova('POST', '/v2.1/os-server-external-events', {
      body: { events: [{ name: 'network-vif-plugged', server_uuid: server.id, tag: 'port1', status: 'completed' }, { name: 'network-changed', server_uuid: missing }] },
    });
    assert.equal(mixed.status, 207);
    assert.deepEqual(mixed.body.events, [
      { name: 'network-vif-plugged', server_uuid: server.id, tag: 'port1', status: 'completed', code: 200 },
      { name: 'network-changed', server_uuid: missing, status: 'failed', code: 404 },
    ]);
    // volume-extended needs a tag (2.51+)
    const untagged = await k.nova('POST', '/v2.1/os-server-external-events', { version: '2.51', body: { events: [{ name: 'volume-extended', server_uuid: server.id }] } });
    assert.equal(untagged.status, 207);
    assert.equal(untagged.body.events[0].code, 400);
    assert.equal((await k.nova('POST', '/v2.1/os-server-external-events', { body: { events: [{ name: 'volume-extended', server_uuid: server.id }] } })).status, 400);
    assert.equal((await k.nova('POST', '/v2.1/os-server-external-events', { body: { events: [] } })).status, 400);
    assert.equal((await k.nova('POST', '/v2.1/os-server-external-events', { body: { events: [{ name: 'network-changed', server_uuid: 'nope' }] } })).status, 400);
    assert.equal((await k.nova('POST', '/v2.1/os-server-external-events', { token: k.a.member, body: { events: [{ name: 'network-changed', server_uuid: server.id }] } })).status, 403);
  });

  it('os-simple-tenant-usage/ (an empty tenant id) is 404, as Nova routes it', async () => {
    const r = await k.nova('GET', '/v2.1/os-simple-tenant-usage/?start=2020-01-01T00:00:00&end=2020-01-02T00:00:00');
    assert.equal(r.status, 404);
    assert.equal((await k.nova('GET', '/v2.1/os-simple-tenant-usage/')).status, 404);
    assert.equal((await k.nova('GET', '/v2.1/os-simple-tenant-usage')).status, 200);
  });

  it('security_groups quota: creating beyond it is 403', async () => {
    const token = k.b.member;
    const list = await k.nova('GET', '/v2.1/os-security-groups', { token });
    const used = list.body.security_groups.length;
    assert.equal((await k.nova('PUT', `/v2.1/os-quota-sets/${k.b.id}`, { body: { quota_set: { security_groups: used } } })).status, 200);
    const over = await k.nova('POST', '/v2.1/os-security-groups', { token, body: { security_group: { name: 'sg-overlimit', description: 'd' } } });
    assert.equal(over.status, 403, JSON.stringify(over.body));
    assert.equal(over.body.forbidden.message, 'Quota exceeded, too many security groups.');
    assert.equal((await k.nova('PUT', `/v2.1/os-quota-sets/${k.b.id}`, { body: { quota_set: { security_groups: used + 1 } } })).status, 200);
    const fits = await k.nova('POST', '/v2.1/os-security-groups', { token, body: { security_group: { name: 'sg-fits', description: 'd' } } });
    assert.equal(fits.status, 200, JSON.stringify(fits.body));
    assert.equal((await k.nova('DELETE', `/v2.1/os-quota-sets/${k.b.id}`)).status, 202);
  });

  it('security_group_rules quota counts the rules of one group: beyond it is 403', async () => {
    const token = k.b.member;
    const g = await k.nova('POST', '/v2.1/os-security-groups', { token, body: { security_group: { name: `sg-${randomUUID().slice(0, 6)}`, description: 'd' } } });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    const gid = g.body.security_group.id;
    assert.equal((await k.nova('PUT', `/v2.1/os-quota-sets/${k.b.id}`, { body: { quota_set: { security_group_rules: 1 } } })).status, 200);
    const rule = (port: number) => k.nova('POST', '/v2.1/os-security-group-rules', { token, body: { security_group_rule: { parent_group_id: gid, ip_protocol: 'tcp', from_port: port, to_port: port } } });
    assert.equal((await rule(1025)).status, 200);
    const over = await rule(1026);
    assert.equal(over.status, 403, JSON.stringify(over.body));
    assert.equal(over.body.forbidden.message, 'Quota exceeded, too many security group rules.');
    assert.equal((await k.nova('PUT', `/v2.1/os-quota-sets/${k.b.id}`, { body: { quota_set: { security_group_rules: 0 } } })).status, 200);
    const g2 = await k.nova('POST', '/v2.1/os-security-groups', { token, body: { security_group: { name: `sg-${randomUUID().slice(0, 6)}`, description: 'd' } } });
    const r0 = await k.nova('POST', '/v2.1/os-security-group-rules', { token, body: { security_group_rule: { parent_group_id: g2.body.security_group.id, ip_protocol: 'tcp', from_port: 1, to_port: 2 } } });
    assert.equal(r0.status, 403);
    assert.equal((await k.nova('DELETE', `/v2.1/os-quota-sets/${k.b.id}`)).status, 202);
  });

  it('aggregate ids are never reused, so a stale delete cannot remove a newer aggregate', async () => {
    const create = async (name: string) => {
      const r = await k.nova('POST', '/v2.1/os-aggregates', { body: { aggregate: { name } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.aggregate.id as number;
    };
    const first = await create(`agg-${randomUUID().slice(0, 8)}`);
    assert.equal((await k.nova('DELETE', `/v2.1/os-aggregates/${first}`)).status, 200);
    const second = await create(`agg-${randomUUID().slice(0, 8)}`);
    assert.ok(second > first, `${second} > ${first}`);
    // a cleanup deleting the first id again finds nothing, and the second survives
    assert.equal((await k.nova('DELETE', `/v2.1/os-aggregates/${first}`)).status, 404);
    assert.equal((await k.nova('GET', `/v2.1/os-aggregates/${second}`)).status, 200);
    // the deleted one shows nowhere and its name is free again
    const list = await k.nova('GET', '/v2.1/os-aggregates');
    assert.ok(!list.body.aggregates.some((a: any) => a.id === first));
    assert.ok(list.body.aggregates.every((a: any) => !a.name.includes('deleted:')));
    const third = await create(`agg-third-${randomUUID().slice(0, 4)}`);
    assert.ok(third > second);
    assert.equal((await k.nova('DELETE', `/v2.1/os-aggregates/${second}`)).status, 200);
    assert.equal((await k.nova('DELETE', `/v2.1/os-aggregates/${third}`)).status, 200);
    const fourth = await create(`agg-${randomUUID().slice(0, 8)}`);
    assert.ok(fourth > third);
    assert.equal((await k.nova('DELETE', `/v2.1/os-aggregates/${fourth}`)).status, 200);
  });

  it('keeps the instance actions of a deleted server readable from 2.21', async () => {
    const s = await k.boot(k.a.member, { name: 'gone' });
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member })).status, 204);
    await k.waitFor(k.a.member, s.id, 'DELETED');
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member })).status, 404);
    const r = await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member, version: '2.21' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.instanceActions.map((a: any) => a.action), ['delete', 'create']);
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.b.member, version: '2.21' })).status, 404, 'not for other projects');
  });
});
