import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

describe('compute: addFixedIp / removeFixedIp (multinic, before 2.44) with the network service', () => {
  let k: ComputeCloud;
  let netId = '';
  let net2Id = '';
  const neutron = (method: string, path: string, token: string, body?: unknown) => k.c.request(method, path, { token, body, service: 'network' });
  const portsOf = async (serverId: string) => (await neutron('GET', `/v2.0/ports?device_id=${serverId}`, k.admin)).body.ports as any[];
  const act = (id: string, body: unknown, version = '2.43', token?: string) => k.nova('POST', `/v2.1/servers/${id}/action`, { token: token ?? k.a.member, body, version });
  const addresses = async (id: string) => (await k.nova('GET', `/v2.1/servers/${id}`, { token: k.a.member })).body.server.addresses as Record<string, { addr: string }[]>;

  before(async () => {
    k = await startComputeCloud({}, { services: ['identity', 'placement', 'image', 'network', 'compute'] });
    for (const [name, cidr] of [['mn-a', '10.20.0.0/24'], ['mn-b', '10.21.0.0/24']]) {
      const net = await neutron('POST', '/v2.0/networks', k.a.member, { network: { name } });
      assert.equal(net.status, 201, JSON.stringify(net.body));
      assert.equal((await neutron('POST', '/v2.0/subnets', k.a.member, { subnet: { network_id: net.body.network.id, cidr, ip_version: 4 } })).status, 201);
      if (name === 'mn-a') netId = net.body.network.id; else net2Id = net.body.network.id;
    }
  });
  after(async () => { await k?.stop(); });

  it('adds an address from the network to the server\'s port on it, and removes it again', async () => {
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    const [port] = await portsOf(s.id);
    const first = port.fixed_ips[0].ip_address;
    const r = await act(s.id, { addFixedIp: { networkId: netId } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const after1 = await portsOf(s.id);
    assert.equal(after1.length, 1);
    assert.equal(after1[0].fixed_ips.length, 2);
    const added = after1[0].fixed_ips.map((f: any) => f.ip_address).find((a: string) => a !== first);
    assert.deepEqual((await addresses(s.id))['mn-a'].map((a) => a.addr).sort(), [first, added].sort());
    // the guest's interface list (os-interface) shows both on the one port
    const ifs = (await k.nova('GET', `/v2.1/servers/${s.id}/os-interface`, { token: k.a.member })).body.interfaceAttachments;
    assert.equal(ifs.length, 1);
    assert.equal(ifs[0].fixed_ips.length, 2);
    const rm = await act(s.id, { removeFixedIp: { address: added } });
    assert.equal(rm.status, 202, JSON.stringify(rm.body));
    assert.deepEqual((await portsOf(s.id))[0].fixed_ips.map((f: any) => f.ip_address), [first]);
    assert.deepEqual((await addresses(s.id))['mn-a'].map((a) => a.addr), [first]);
  });

  it('a network the server has no port on gets a new port; its only address goes with its port', async () => {
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    assert.equal((await act(s.id, { addFixedIp: { networkId: net2Id } })).status, 202);
    const ports = await portsOf(s.id);
    assert.equal(ports.length, 2);
    const other = ports.find((p) => p.network_id === net2Id);
    assert.equal(other.device_owner, 'compute:nova');
    const addr = (await addresses(s.id))['mn-b'][0].addr;
    assert.equal(addr, other.fixed_ips[0].ip_address);
    const actions = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member })).body.instanceActions;
    assert.ok(actions.some((a: any) => a.action === 'add_fixed_ip'));
    assert.equal((await act(s.id, { removeFixedIp: { address: addr } })).status, 202);
    assert.deepEqual((await portsOf(s.id)).map((p) => p.network_id), [netId]);
    assert.deepEqual(Object.keys(await addresses(s.id)), ['mn-a']);
  });

  it('is gone from 2.44 (404); bad bodies 400; unknown address or network 400; other projects 404', async () => {
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    assert.equal((await act(s.id, { addFixedIp: { networkId: netId } }, '2.44')).status, 404);
    assert.equal((await act(s.id, { removeFixedIp: { address: '10.20.0.99' } }, '2.44')).status, 404);
    assert.equal((await act(s.id, { addFixedIp: {} })).status, 400);
    assert.equal((await act(s.id, { addFixedIp: { networkId: netId, extra: 1 } })).status, 400);
    assert.equal((await act(s.id, { removeFixedIp: { address: 'not-an-ip' } })).status, 400);
    assert.equal((await act(s.id, { removeFixedIp: { address: '10.20.0.250' } })).status, 400);
    assert.equal((await act(s.id, { addFixedIp: { networkId: '00000000-0000-4000-8000-000000000000' } })).status, 400);
    assert.equal((await act(s.id, { addFixedIp: { networkId: netId } }, '2.43', k.b.member)).status, 404);
    assert.equal((await portsOf(s.id))[0].fixed_ips.length, 1);
  });
});
