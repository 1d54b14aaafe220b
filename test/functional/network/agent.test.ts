import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import type { NetworkServiceModule } from '../../../src/network/network-service.js';
import type { FakeDataplaneDriver } from '../../../src/network/drivers/fake-driver.js';
import { instanceFor } from '../../../src/network/agent/metadata-proxy.js';

/**
 * The agent's side of the network service on the FAKE dataplane driver (it records what it
 * would build): first-start networks, the desired state after API changes (DHCP hosts,
 * instance ports with firewall rules), compute's port allocation through the client, and the
 * metadata proxy's (network, source address) → instance lookup.
 */
describe('network agent: desired state, compute ports, metadata lookup (fake dataplane)', () => {
  let c: TestCloud;
  let admin: string;
  let m: NetworkServiceModule;
  const api = async (method: string, path: string, body?: unknown, want?: number) => {
    const r = await c.request(method, path, { token: admin, body, service: 'network' });
    if (want !== undefined) assert.equal(r.status, want, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const driver = () => m.agent()!.driver as FakeDataplaneDriver;

  before(async () => {
    c = await startTestCloud({ services: ['identity', 'network'], compute: { host: 'h1', fakeHosts: 2 } });
    admin = await c.adminToken();
    m = c.cloud.modules.find((x) => x.name === 'network') as NetworkServiceModule;
  });
  after(async () => { await c?.stop(); });

  it('creates public and private on first start and registers its agents', async () => {
    const nets = (await api('GET', '/v2.0/networks', undefined, 200)).networks;
    const pub = nets.find((n: any) => n.name === 'public');
    assert.equal(pub['router:external'], true);
    assert.equal(pub['provider:network_type'], 'flat');
    assert.ok(nets.some((n: any) => n.name === 'private' && n.subnets.length === 1));
    const agents = (await api('GET', '/v2.0/agents', undefined, 200)).agents;
    assert.deepEqual(agents.map((a: any) => `${a.agent_type}@${a.host}`).sort(),
      ['DHCP agent@h1', 'L3 agent@h1', 'Linux bridge agent@h1', 'Linux bridge agent@h1-2', 'Metadata agent@h1'].sort());
    assert.ok(agents.every((a: any) => a.alive));
  });

  it('allocates a server port through the client, wires it with its firewall rules, and frees it', async () => {
    const net = (await api('POST', '/v2.0/networks', { network: { name: 'agent-net' } }, 201)).network;
    const sub = (await api('POST', '/v2.0/subnets', { subnet: { network_id: net.id, cidr: '10.91.0.0/24', ip_version: 4 } }, 201)).subnet;
    const project = net.project_id as string;
    const uuid = '11111111-2222-3333-4444-555555555555';
    const got = await m.computeApi.allocate({ uuid, projectId: project, userId: 'u', host: 'h1-2', hostname: 'vm-a' }, [{ uuid: net.id }], ['default']);
    assert.equal(got.info.length, 1);
    const vif = got.info[0].vif!;
    assert.equal(vif.kind, 'tap');
    assert.equal(vif.tapName, `tap${got.info[0].port_id.slice(0, 11)}`);
    assert.equal(got.info[0].ips[0].address, '10.91.0.3');
    // allocate waits for the agent: the state it applied has the port and its DHCP host entry
    const state = driver().last!;
    const port = state.ports.find((p) => p.id === got.info[0].port_id)!;
    assert.ok(port, 'the port is in the applied state');
    assert.deepEqual(port.ips, ['10.91.0.3']);
    assert.ok(port.security, 'port security is on');
    // the default group: egress anywhere, ingress from the group's own members
    assert.ok(port.security!.rules.some((r) => r.direction === 'egress' && r.remote === null));
    assert.ok(port.security!.rules.some((r) => r.direction === 'ingress' && r.ethertype === 'IPv4' && r.remote?.includes('10.91.0.3/32')));
    const dhcp = state.dhcp.find((d) => d.networkId === net.id)!;
    assert.deepEqual(dhcp.hosts.map((h) => `${h.mac} ${h.ip} ${h.hostname}`), [`${port.mac} 10.91.0.3 vm-a`]);
    assert.equal(dhcp.subnets[0].id, sub.id);
    assert.equal(dhcp.metadata, true, 'an isolated network serves metadata from its DHCP namespace');
    const shown = (await api('GET', `/v2.0/ports/${port.id}`, undefined, 200)).port;
    assert.equal(shown.status, 'ACTIVE');
    assert.equal(shown['binding:host_id'], 'h1-2');
    assert.equal(shown['binding:vif_type'], 'bridge');
    // the metadata proxy finds the instance by (network, source address), and nothing by another network
    assert.equal(await instanceFor(m.context.db, '10.91.0.3', { networkId: net.id }), uuid);
    assert.equal(await instanceFor(m.context.db, '10.91.0.3', { networkId: (await api('GET', '/v2.0/networks?name=private')).networks[0].id }), undefined);
    await m.computeApi.deallocate(uuid);
    assert.equal((await api('GET', `/v2.0/ports/${port.id}`)).NeutronError?.type, 'PortNotFound');
    await m.agent()!.syncNow();
    assert.ok(!driver().last!.ports.some((p) => p.id === port.id));
  });

  it('rejects what compute asks for that does not exist, and unbinds (not deletes) a port the user gave', async () => {
    await assert.rejects(m.computeApi.validate('p', [{ uuid: '00000000-0000-0000-0000-000000000000' }]), /could not be found/);
    const net = (await api('GET', '/v2.0/networks?name=agent-net')).networks[0];
    const p = (await api('POST', '/v2.0/ports', { port: { network_id: net.id, name: 'mine' } }, 201)).port;
    const uuid = '66666666-2222-3333-4444-555555555555';
    await m.computeApi.allocate({ uuid, projectId: p.project_id, userId: 'u', host: 'h1', hostname: 'vm-b' }, [{ port: p.id }], []);
    assert.equal((await api('GET', `/v2.0/ports/${p.id}`)).port.device_id, uuid);
    await m.computeApi.deallocate(uuid);
    const after = (await api('GET', `/v2.0/ports/${p.id}`, undefined, 200)).port;
    assert.equal(after.device_id, '');
    assert.equal(after['binding:host_id'], '');
  });
});
