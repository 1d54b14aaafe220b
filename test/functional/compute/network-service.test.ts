import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('compute with the network service (Nova with Neutron)', () => {
  let k: ComputeCloud;
  let netId = '';
  let extId = '';
  const neutron = (method: string, path: string, token: string, body?: unknown) => k.c.request(method, path, { token, body, service: 'network' });
  const portsOf = async (serverId: string) => (await neutron('GET', `/v2.0/ports?device_id=${serverId}`, k.admin)).body.ports as any[];

  before(async () => {
    k = await startComputeCloud({}, { services: ['identity', 'placement', 'image', 'network', 'compute'] });
    const ext = await neutron('POST', '/v2.0/networks', k.admin, { network: { name: 'ext', 'router:external': true } });
    assert.equal(ext.status, 201, JSON.stringify(ext.body));
    extId = ext.body.network.id;
    assert.equal((await neutron('POST', '/v2.0/subnets', k.admin, { subnet: { network_id: extId, cidr: '203.0.113.0/24', ip_version: 4, enable_dhcp: false } })).status, 201);
    const net = await neutron('POST', '/v2.0/networks', k.a.member, { network: { name: 'net-a' } });
    assert.equal(net.status, 201, JSON.stringify(net.body));
    netId = net.body.network.id;
    const sub = await neutron('POST', '/v2.0/subnets', k.a.member, { subnet: { network_id: netId, cidr: '10.10.0.0/24', ip_version: 4 } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const router = await neutron('POST', '/v2.0/routers', k.a.member, { router: { name: 'r', external_gateway_info: { network_id: extId } } });
    assert.equal(router.status, 201, JSON.stringify(router.body));
    const itf = await neutron('PUT', `/v2.0/routers/${router.body.router.id}/add_router_interface`, k.a.member, { subnet_id: sub.body.subnet.id });
    assert.equal(itf.status, 200, JSON.stringify(itf.body));
  });
  after(async () => { await k?.stop(); });

  it('boots on a network: the port exists, bound to the server and its host', async () => {
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    const ports = await portsOf(s.id);
    assert.equal(ports.length, 1);
    assert.equal(ports[0].device_owner, 'compute:nova');
    assert.ok(ports[0]['binding:host_id']);
    assert.deepEqual(Object.keys(s.addresses), ['net-a']);
    assert.equal(s.addresses['net-a'][0].addr, ports[0].fixed_ips[0].ip_address);
    assert.equal(s.addresses['net-a'][0]['OS-EXT-IPS:type'], 'fixed');
  });

  it('a server without networks (before 2.37) boots with the only network the project has', async () => {
    const s = await k.boot(k.a.member);
    assert.equal((await portsOf(s.id)).length, 1);
    // a project with no network at all gets a server without interfaces, as Nova does
    const t = await k.boot(k.b.member);
    assert.deepEqual(t.addresses, {});
  });

  it('os-interface: attach on a network and a user port, list from the network service, detach', async () => {
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    const url = `/v2.1/servers/${s.id}/os-interface`;
    const a1 = await k.nova('POST', url, { token: k.a.member, body: { interfaceAttachment: { net_id: netId } } });
    assert.equal(a1.status, 200, JSON.stringify(a1.body));
    const made = a1.body.interfaceAttachment;
    assert.match(made.port_id, UUID);
    assert.equal(made.net_id, netId);
    assert.equal(made.port_state, 'ACTIVE');
    const own = await neutron('POST', '/v2.0/ports', k.a.member, { port: { network_id: netId } });
    assert.equal(own.status, 201);
    const a2 = await k.nova('POST', url, { token: k.a.member, body: { interfaceAttachment: { port_id: own.body.port.id } } });
    assert.equal(a2.status, 200, JSON.stringify(a2.body));
    const both = await k.nova('POST', url, { token: k.a.member, body: { interfaceAttachment: { port_id: own.body.port.id, net_id: netId } } });
    assert.equal(both.status, 400);
    const inUse = await k.nova('POST', url, { token: k.a.member, body: { interfaceAttachment: { port_id: own.body.port.id } } });
    assert.equal(inUse.status, 409);

    const list = await k.nova('GET', url, { token: k.a.member });
    assert.equal(list.status, 200);
    assert.equal(list.body.interfaceAttachments.length, 3);
    assert.equal((await portsOf(s.id)).length, 3);
    const show = await k.nova('GET', `${url}/${made.port_id}`, { token: k.a.member });
    assert.deepEqual(show.body.interfaceAttachment, made);
    const server = (await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member })).body.server;
    assert.equal(server.addresses['net-a'].length, 3);
    const actions = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member })).body.instanceActions.map((x: any) => x.action);
    assert.ok(actions.includes('attach_interface'));

    assert.equal((await k.nova('DELETE', `${url}/${made.port_id}`, { token: k.a.member })).status, 202);
    assert.equal((await neutron('GET', `/v2.0/ports/${made.port_id}`, k.admin)).status, 404, 'a port compute made is deleted');
    assert.equal((await k.nova('DELETE', `${url}/${own.body.port.id}`, { token: k.a.member })).status, 202);
    const kept = await neutron('GET', `/v2.0/ports/${own.body.port.id}`, k.admin);
    assert.equal(kept.status, 200, 'the user port stays');
    assert.equal(kept.body.port.device_id, '');
    assert.equal((await k.nova('GET', url, { token: k.a.member })).body.interfaceAttachments.length, 1);
    assert.equal((await k.nova('DELETE', `${url}/${made.port_id}`, { token: k.a.member })).status, 404);
  });

  it('security groups are Neutron groups, shown in Nova format with UUID ids; add/remove changes the ports', async () => {
    const g = await k.nova('POST', '/v2.1/os-security-groups', { token: k.a.member, body: { security_group: { name: 'web', description: 'w' } } });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    const group = g.body.security_group;
    assert.match(group.id, UUID);
    assert.deepEqual(group.rules, [], 'Nova shows ingress rules only');
    assert.equal((await neutron('GET', `/v2.0/security-groups/${group.id}`, k.a.member)).status, 200);
    const r = await k.nova('POST', '/v2.1/os-security-group-rules', { token: k.a.member, body: { security_group_rule: { parent_group_id: group.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/8' } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual({ ...r.body.security_group_rule, id: 'x' }, { id: 'x', parent_group_id: group.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, group: {}, ip_range: { cidr: '10.0.0.0/8' } });
    const nr = await neutron('GET', `/v2.0/security-group-rules/${r.body.security_group_rule.id}`, k.a.member);
    assert.equal(nr.body.security_group_rule.direction, 'ingress');
    const dup = await k.nova('POST', '/v2.1/os-security-group-rules', { token: k.a.member, body: { security_group_rule: { parent_group_id: group.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/8' } } });
    assert.equal(dup.status, 400);
    assert.equal((await k.nova('GET', '/v2.1/os-security-groups/not-a-uuid', { token: k.a.member })).status, 400);
    assert.equal((await k.nova('GET', `/v2.1/os-security-groups/${group.id}`, { token: k.b.member })).status, 404);
    const def = (await k.nova('GET', '/v2.1/os-security-groups', { token: k.a.member })).body.security_groups.find((x: any) => x.name === 'default');
    assert.equal((await k.nova('DELETE', `/v2.1/os-security-groups/${def.id}`, { token: k.a.member })).status, 400);

    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    const add = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { addSecurityGroup: { name: 'web' } } });
    assert.equal(add.status, 202, JSON.stringify(add.body));
    assert.ok((await portsOf(s.id))[0].security_groups.includes(group.id));
    const shown = (await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member })).body.server.security_groups.map((x: any) => x.name).sort();
    assert.deepEqual(shown, ['default', 'web']);
    const sg = await k.nova('GET', `/v2.1/servers/${s.id}/os-security-groups`, { token: k.a.member });
    assert.deepEqual(sg.body.security_groups.map((x: any) => x.name).sort(), ['default', 'web']);
    assert.equal((await k.nova('DELETE', `/v2.1/os-security-groups/${group.id}`, { token: k.a.member })).status, 400, 'in use');
    const rm = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { removeSecurityGroup: { name: 'web' } } });
    assert.equal(rm.status, 202, JSON.stringify(rm.body));
    assert.ok(!(await portsOf(s.id))[0].security_groups.includes(group.id));
    const again = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { removeSecurityGroup: { name: 'web' } } });
    assert.equal(again.status, 400);
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { addSecurityGroup: { name: 'nope' } } })).status, 404);
    assert.equal((await k.nova('DELETE', `/v2.1/os-security-groups/${group.id}`, { token: k.a.member })).status, 202);
  });

  it('a floating IP on a port shows in the server addresses (show, detail and ips)', async () => {
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    const [port] = await portsOf(s.id);
    const fip = await neutron('POST', '/v2.0/floatingips', k.a.member, { floatingip: { floating_network_id: extId, port_id: port.id } });
    assert.equal(fip.status, 201, JSON.stringify(fip.body));
    const addr = fip.body.floatingip.floating_ip_address;
    const want = { version: 4, addr, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': port.mac_address };
    const show = (await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member })).body.server;
    assert.deepEqual(show.addresses['net-a'][1], want);
    const detail = (await k.nova('GET', '/v2.1/servers/detail', { token: k.a.member })).body.servers.find((x: any) => x.id === s.id);
    assert.deepEqual(detail.addresses['net-a'][1], want);
    const ips = (await k.nova('GET', `/v2.1/servers/${s.id}/ips`, { token: k.a.member })).body.addresses;
    assert.deepEqual(ips['net-a'][1], { version: 4, addr });
  });

  it('os-floating-ips, os-floating-ip-pools and add/removeFloatingIp proxy Neutron floating IPs', async () => {
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    const t = await k.boot(k.a.member, { networks: [{ uuid: netId }] });
    const pools = await k.nova('GET', '/v2.1/os-floating-ip-pools', { token: k.a.member });
    assert.ok(pools.body.floating_ip_pools.some((p: any) => p.name === 'ext'), JSON.stringify(pools.body));
    assert.equal((await k.nova('POST', '/v2.1/os-floating-ips', { token: k.a.member, body: { pool: 'no-such-pool' } })).status, 404);
    const made = await k.nova('POST', '/v2.1/os-floating-ips', { token: k.a.member, body: { pool: 'ext' } });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const fip = made.body.floating_ip;
    assert.deepEqual({ ...fip, id: 'x', ip: 'y' }, { id: 'x', ip: 'y', pool: 'ext', fixed_ip: null, instance_id: null });
    const act = (server: string, body: unknown) => k.nova('POST', `/v2.1/servers/${server}/action`, { token: k.a.member, body });
    assert.equal((await act(s.id, { addFloatingIp: { address: fip.ip } })).status, 202);
    const shown = (await k.nova('GET', `/v2.1/os-floating-ips/${fip.id}`, { token: k.a.member })).body.floating_ip;
    assert.equal(shown.instance_id, s.id);
    assert.equal(shown.fixed_ip, s.addresses['net-a'][0].addr);
    // a second floating IP on the same port: Neutron refuses, Nova says 400
    const other = (await k.nova('POST', '/v2.1/os-floating-ips', { token: k.a.member, body: { pool: 'ext' } })).body.floating_ip;
    assert.equal((await act(s.id, { addFloatingIp: { address: other.ip } })).status, 400);
    // re-association moves it
    assert.equal((await act(t.id, { addFloatingIp: { address: fip.ip } })).status, 202);
    assert.equal((await act(s.id, { removeFloatingIp: { address: fip.ip } })).status, 409);
    assert.equal((await act(t.id, { removeFloatingIp: { address: fip.ip } })).status, 202);
    assert.equal((await act(t.id, { addFloatingIp: { address: '0.0.0.77' } })).status, 404);
    assert.equal((await k.nova('GET', '/v2.1/os-floating-ips', { token: k.a.member, version: '2.36' })).status, 404);
    const list = (await k.nova('GET', '/v2.1/os-floating-ips', { token: k.a.member })).body.floating_ips;
    assert.ok([fip.id, other.id].every((id) => list.some((f: any) => f.id === id)));
    assert.equal((await k.nova('DELETE', `/v2.1/os-floating-ips/${fip.id}`, { token: k.a.member })).status, 202);
    assert.equal((await k.nova('DELETE', `/v2.1/os-floating-ips/${other.id}`, { token: k.a.member })).status, 202);
    assert.equal((await k.nova('GET', `/v2.1/os-floating-ips/${fip.id}`, { token: k.a.member })).status, 404);
  });

  it("networks 'auto' (2.37) makes the project a network when it has none", async () => {
    const def = await neutron('PUT', `/v2.0/networks/${extId}`, k.admin, { network: { is_default: true } });
    assert.equal(def.status, 200, JSON.stringify(def.body));
    const r = await k.nova('POST', '/v2.1/servers', { token: k.b.member, version: '2.37', body: { server: { name: 'auto', imageRef: k.imageId, flavorRef: '1', networks: 'auto' } } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const s = await k.waitFor(k.b.member, r.body.server.id, 'ACTIVE');
    assert.deepEqual(Object.keys(s.addresses), ['auto_allocated_network']);
  });

  it('os-networks and os-tenant-networks list the Neutron networks the project sees', async () => {
    const t = await k.nova('GET', '/v2.1/os-tenant-networks', { token: k.a.member });
    assert.equal(t.status, 200);
    const mine = t.body.networks.find((n: any) => n.id === netId);
    assert.deepEqual(mine, { id: netId, cidr: '10.10.0.0/24', label: 'net-a' });
    assert.ok(!(await k.nova('GET', '/v2.1/os-tenant-networks', { token: k.b.member })).body.networks.some((n: any) => n.id === netId));
    const one = await k.nova('GET', `/v2.1/os-networks/${netId}`, { token: k.a.member });
    assert.equal(one.status, 200);
    assert.equal(one.body.network.label, 'net-a');
    assert.equal((await k.nova('POST', '/v2.1/os-tenant-networks', { token: k.a.member, body: { network: { label: 'x' } } })).status, 410);
  });

  it('deleting a server frees the ports compute made and unbinds a port the user gave', async () => {
    const own = await neutron('POST', '/v2.0/ports', k.a.member, { port: { network_id: netId } });
    const s = await k.boot(k.a.member, { networks: [{ uuid: netId }, { port: own.body.port.id }] });
    assert.equal((await portsOf(s.id)).length, 2);
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member })).status, 204);
    await k.waitFor(k.a.member, s.id, 'DELETED');
    assert.equal((await portsOf(s.id)).length, 0);
    const kept = await neutron('GET', `/v2.0/ports/${own.body.port.id}`, k.admin);
    assert.equal(kept.status, 200);
    assert.equal(kept.body.port['binding:host_id'], '');
  });
});
