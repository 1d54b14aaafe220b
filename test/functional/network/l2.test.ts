import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { makeProject, type TestProject } from '../../helpers/image.js';

describe('network: subnets, ports, IPAM, subnet pools', () => {
  let c: TestCloud;
  let admin: string;
  let a: TestProject;
  let b: TestProject;
  before(async () => {
    c = await startTestCloud({ services: ['identity', 'network'] });
    admin = await c.adminToken();
    a = await makeProject(c, admin);
    b = await makeProject(c, admin);
  });
  after(async () => { await c?.stop(); });

  const api = (method: string, path: string, token: string, body?: unknown) => c.request(method, path, { token, body, service: 'network' });
  const ok = async (method: string, path: string, token: string, body?: unknown, status = method === 'POST' ? 201 : 200) => {
    const r = await api(method, path, token, body);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const network = async (token: string, extra: Record<string, unknown> = {}) => (await ok('POST', '/v2.0/networks', token, { network: { name: 'n', ...extra } })).network;
  const subnet = async (token: string, body: Record<string, unknown>) => (await ok('POST', '/v2.0/subnets', token, { subnet: { ip_version: 4, ...body } })).subnet;

  it('creates a subnet with Neutron defaults and a DHCP port on the pool start', async () => {
    const n = await network(a.member);
    const s = await subnet(a.member, { network_id: n.id, cidr: '10.1.0.0/24' });
    assert.equal(s.gateway_ip, '10.1.0.1');
    assert.deepEqual(s.allocation_pools, [{ start: '10.1.0.2', end: '10.1.0.254' }]);
    assert.equal(s.enable_dhcp, true);
    assert.equal(s.ipv6_ra_mode, null);
    assert.deepEqual(s.dns_nameservers, []);
    const ports = (await ok('GET', `/v2.0/ports?network_id=${n.id}`, a.member)).ports;
    assert.equal(ports.length, 1);
    assert.equal(ports[0].device_owner, 'network:dhcp');
    assert.equal(ports[0].device_id, `dhcp${n.id}`);
    assert.deepEqual(ports[0].fixed_ips, [{ subnet_id: s.id, ip_address: '10.1.0.2' }]);
    const shown = (await ok('GET', `/v2.0/networks/${n.id}`, a.member)).network;
    assert.deepEqual(shown.subnets, [s.id]);
  });

  it('validates CIDRs, gateways, pools, overlaps and IPv6 modes', async () => {
    const n = await network(a.member);
    const bad = async (body: Record<string, unknown>, status: number, text?: string) => {
      const r = await api('POST', '/v2.0/subnets', a.member, { subnet: { ip_version: 4, network_id: n.id, ...body } });
      assert.equal(r.status, status, JSON.stringify(r.body));
      if (text) assert.match(r.body.NeutronError.message, new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    };
    await bad({ cidr: '10.2.0.1/24' }, 400, "isn't a recognized IP subnet cidr, '10.2.0.0/24' is recommended");
    await bad({ cidr: 'nonsense' }, 400);
    await bad({ cidr: '10.2.0.0/24', gateway_ip: '10.2.0.0' }, 400);
    await bad({ cidr: '10.2.0.0/24', allocation_pools: [{ start: '10.2.1.1', end: '10.2.1.5' }] }, 400, 'spans beyond the subnet cidr');
    await bad({ cidr: '10.2.0.0/24', allocation_pools: [{ start: '10.2.0.10', end: '10.2.0.20' }, { start: '10.2.0.15', end: '10.2.0.30' }] }, 400, 'overlapping allocation pools');
    await bad({ cidr: '10.2.0.0/24', allocation_pools: [{ start: '10.2.0.1', end: '10.2.0.20' }] }, 409, 'conflicts with allocation pool');
    await bad({ ip_version: 6, cidr: '2001:db8::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'dhcpv6-stateful' }, 400, 'must be the same value');
    await bad({ cidr: '10.2.0.0/24', ipv6_address_mode: 'slaac' }, 400);
    await bad({ ip_version: 6, cidr: '2001:db8::/80', ipv6_address_mode: 'slaac' }, 400, 'requires the prefix to be /64');
    await bad({}, 400, 'a subnetpool must be specified in the absence of a cidr');
    const s = await subnet(a.member, { network_id: n.id, cidr: '10.2.0.0/24', gateway_ip: null, dns_nameservers: ['8.8.8.8'], host_routes: [{ destination: '10.9.0.0/16', nexthop: '10.2.0.9' }] });
    assert.equal(s.gateway_ip, null);
    assert.deepEqual(s.allocation_pools, [{ start: '10.2.0.1', end: '10.2.0.254' }]);
    await bad({ cidr: '10.2.0.128/25' }, 400, `Requested subnet with cidr: 10.2.0.128/25 for network: ${n.id} overlaps with another subnet.`);
    const v6 = await subnet(a.member, { network_id: n.id, ip_version: 6, cidr: '2001:DB8:0:1::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
    assert.equal(v6.cidr, '2001:db8:0:1::/64');
    assert.equal(v6.gateway_ip, '2001:db8:0:1::1');
    assert.deepEqual(v6.allocation_pools, [{ start: '2001:db8:0:1::2', end: '2001:db8:0:1:ffff:ffff:ffff:ffff' }]);
  });

  it('gives ports one IPv4 address and their EUI-64 address on SLAAC subnets; filters by fixed_ips', async () => {
    const n = await network(a.member);
    const s4 = await subnet(a.member, { network_id: n.id, cidr: '10.3.0.0/24' });
    const s6 = await subnet(a.member, { network_id: n.id, ip_version: 6, cidr: '2001:db8:3::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' });
    const p = (await ok('POST', '/v2.0/ports', a.member, { port: { network_id: n.id, mac_address: 'fa:16:3e:11:22:33' } })).port;
    assert.deepEqual(p.fixed_ips, [{ subnet_id: s4.id, ip_address: '10.3.0.3' }, { subnet_id: s6.id, ip_address: '2001:db8:3:0:f816:3eff:fe11:2233' }]);
    assert.equal(p.status, 'DOWN');
    assert.equal(p.admin_state_up, true);
    assert.equal(p['binding:vnic_type'], 'normal');
    assert.equal(p['binding:vif_type'], undefined, 'binding details are admin-only');
    const byIp = (await ok('GET', '/v2.0/ports?fixed_ips=ip_address%3D10.3.0.3', a.member)).ports;
    assert.deepEqual(byIp.map((x: any) => x.id), [p.id]);
    const bySubnet = (await ok('GET', `/v2.0/ports?fixed_ips=subnet_id%3D${s6.id}&device_owner=`, a.member)).ports;
    assert.deepEqual(bySubnet.map((x: any) => x.id), [p.id]);
    const substr = (await ok('GET', '/v2.0/ports?fixed_ips=ip_address_substr%3D10.3.0.', a.member)).ports;
    assert.equal(substr.length, 2);
    // the second project sees neither the port nor the network's DHCP port
    assert.equal((await ok('GET', '/v2.0/ports', b.member)).ports.filter((x: any) => x.network_id === n.id).length, 0);
    assert.equal((await api('GET', `/v2.0/ports/${p.id}`, b.member)).status, 404);
    const dup = await api('POST', '/v2.0/ports', a.member, { port: { network_id: n.id, mac_address: 'fa:16:3e:11:22:33' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.NeutronError.type, 'MacAddressInUse');
  });

  it('updates fixed_ips (keeps, releases, allocates), binds with a host and frees addresses on delete', async () => {
    const n = await network(a.member);
    const s1 = await subnet(a.member, { network_id: n.id, cidr: '10.4.0.0/24' });
    const s2 = await subnet(a.member, { network_id: n.id, cidr: '10.5.0.0/24' });
    const p = (await ok('POST', '/v2.0/ports', a.member, { port: { network_id: n.id, fixed_ips: [{ subnet_id: s1.id }, { subnet_id: s2.id, ip_address: '10.5.0.50' }] } })).port;
    assert.deepEqual(p.fixed_ips.map((f: any) => f.ip_address), ['10.4.0.3', '10.5.0.50']);
    const taken = await api('POST', '/v2.0/ports', a.member, { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.5.0.50' }] } });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.NeutronError.type, 'IpAddressAlreadyAllocated');
    const u = (await ok('PUT', `/v2.0/ports/${p.id}`, a.member, { port: { fixed_ips: [{ subnet_id: s1.id, ip_address: '10.4.0.3' }, { ip_address: '10.4.0.77' }] } })).port;
    assert.deepEqual(u.fixed_ips.map((f: any) => f.ip_address).sort(), ['10.4.0.3', '10.4.0.77']);
    const again = (await ok('POST', '/v2.0/ports', a.member, { port: { network_id: n.id, fixed_ips: [{ ip_address: '10.5.0.50' }] } })).port;
    assert.equal(again.fixed_ips[0].ip_address, '10.5.0.50');
    const bound = (await ok('PUT', `/v2.0/ports/${p.id}`, admin, { port: { 'binding:host_id': 'compute1' } })).port;
    assert.equal(bound['binding:vif_type'], 'bridge');
    assert.equal(bound.status, 'ACTIVE');
    const forbidden = await api('PUT', `/v2.0/ports/${p.id}`, a.member, { port: { 'binding:host_id': 'x' } });
    assert.equal(forbidden.status, 403);
    // a subnet with ports on it cannot go; the DHCP port alone does not count
    const inUse = await api('DELETE', `/v2.0/subnets/${s1.id}`, a.member);
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.NeutronError.type, 'SubnetInUse');
    await ok('DELETE', `/v2.0/ports/${p.id}`, a.member, undefined, 204);
    await ok('DELETE', `/v2.0/subnets/${s1.id}`, a.member, undefined, 204);
    const dhcp = (await ok('GET', `/v2.0/ports?network_id=${n.id}&device_owner=network:dhcp`, a.member)).ports;
    assert.deepEqual(dhcp[0].fixed_ips.map((f: any) => f.subnet_id), [s2.id]);
    const avail = (await ok('GET', `/v2.0/network-ip-availabilities/${n.id}`, admin)).network_ip_availability;
    assert.equal(avail.total_ips, 253);
    assert.equal(avail.used_ips, 2);
    assert.equal((await api('GET', `/v2.0/network-ip-availabilities/${n.id}`, a.member)).status, 403);
  });

  it('allowed address pairs, extra DHCP options and port security', async () => {
    const n = await network(a.member);
    await subnet(a.member, { network_id: n.id, cidr: '10.6.0.0/24' });
    const p = (await ok('POST', '/v2.0/ports', a.member, {
      port: { network_id: n.id, allowed_address_pairs: [{ ip_address: '10.6.0.200' }, { ip_address: '10.7.0.0/24', mac_address: 'fa:16:3e:aa:bb:cc' }],
        extra_dhcp_opts: [{ opt_name: 'bootfile-name', opt_value: 'pxelinux.0' }] },
    })).port;
    assert.deepEqual(p.allowed_address_pairs, [{ ip_address: '10.6.0.200', mac_address: p.mac_address }, { ip_address: '10.7.0.0/24', mac_address: 'fa:16:3e:aa:bb:cc' }]);
    assert.deepEqual(p.extra_dhcp_opts, [{ opt_name: 'bootfile-name', opt_value: 'pxelinux.0', ip_version: 4 }]);
    const u = (await ok('PUT', `/v2.0/ports/${p.id}`, a.member, { port: { extra_dhcp_opts: [{ opt_name: 'bootfile-name', opt_value: null }, { opt_name: 'tftp-server', opt_value: '10.6.0.9' }] } })).port;
    assert.deepEqual(u.extra_dhcp_opts, [{ opt_name: 'tftp-server', opt_value: '10.6.0.9', ip_version: 4 }]);
    const off = await api('PUT', `/v2.0/ports/${p.id}`, a.member, { port: { port_security_enabled: false } });
    assert.equal(off.status, 409);
    const cleared = (await ok('PUT', `/v2.0/ports/${p.id}`, a.member, { port: { port_security_enabled: false, security_groups: [], allowed_address_pairs: [] } })).port;
    assert.equal(cleared.port_security_enabled, false);
    assert.deepEqual(cleared.security_groups, []);
  });

  it('allocates subnets from a subnet pool', async () => {
    const pool = (await ok('POST', '/v2.0/subnetpools', a.member, { subnetpool: { name: 'p', prefixes: ['10.100.0.0/16'], default_prefixlen: 24, min_prefixlen: 16 } })).subnetpool;
    assert.equal(pool.min_prefixlen, 16);
    assert.equal(pool.max_prefixlen, 32);
    assert.equal(pool.ip_version, 4);
    const n = await network(a.member);
    const s1 = await subnet(a.member, { network_id: n.id, subnetpool_id: pool.id });
    const s2 = await subnet(a.member, { network_id: n.id, subnetpool_id: pool.id, prefixlen: 26 });
    const s3 = await subnet(a.member, { network_id: n.id, subnetpool_id: pool.id, prefixlen: 26 });
    assert.deepEqual([s1.cidr, s2.cidr, s3.cidr], ['10.100.0.0/24', '10.100.1.0/26', '10.100.1.64/26']);
    assert.equal(s1.subnetpool_id, pool.id);
    const tooBig = await api('POST', '/v2.0/subnets', a.member, { subnet: { ip_version: 4, network_id: n.id, subnetpool_id: pool.id, prefixlen: 4 } });
    assert.equal(tooBig.status, 400);
    const inUse = await api('DELETE', `/v2.0/subnetpools/${pool.id}`, a.member);
    assert.equal(inUse.status, 409);
    const upd = (await ok('PUT', `/v2.0/subnetpools/${pool.id}`, a.member, { subnetpool: { prefixes: ['10.100.0.0/16', '10.200.0.0/16'], name: 'q' } })).subnetpool;
    assert.deepEqual(upd.prefixes, ['10.100.0.0/16', '10.200.0.0/16']);
    assert.equal((await api('GET', `/v2.0/subnetpools/${pool.id}`, b.member)).status, 404);
  });

  it('hands out each address of a /28 once under 50 parallel port creates', async () => {
    const n = await network(a.member);
    const s = await subnet(a.member, { network_id: n.id, cidr: '10.9.0.0/28' });
    const results = await Promise.all(Array.from({ length: 50 }, () => api('POST', '/v2.0/ports', a.member, { port: { network_id: n.id } })));
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    // 14 hosts minus the gateway minus the DHCP port
    assert.equal(created.length, 12, JSON.stringify(refused[0]?.body));
    for (const r of refused) {
      assert.equal(r.status, 409);
      assert.equal(r.body.NeutronError.type, 'IpAddressGenerationFailure');
    }
    const ips = created.map((r) => r.body.port.fixed_ips[0].ip_address);
    assert.equal(new Set(ips).size, ips.length, 'no address twice');
    const all = (await ok('GET', `/v2.0/ports?network_id=${n.id}`, a.member)).ports.flatMap((p: any) => p.fixed_ips.map((f: any) => f.ip_address));
    assert.equal(all.length, 13);
    assert.equal(new Set(all).size, 13);
    const avail = (await ok('GET', `/v2.0/network-ip-availabilities/${n.id}`, admin)).network_ip_availability;
    assert.deepEqual([avail.total_ips, avail.used_ips], [13, 13]);
    void s;
  });

  it("puts ports in the project's default security group and refuses another project's group", async () => {
    const n = await network(b.member);
    await subnet(b.member, { network_id: n.id, cidr: '10.30.0.0/24' });
    const p = (await ok('POST', '/v2.0/ports', b.member, { port: { network_id: n.id } })).port;
    const groups = (await ok('GET', '/v2.0/security-groups?name=default', b.member)).security_groups;
    assert.deepEqual(p.security_groups, [groups.find((g: any) => g.project_id === b.id).id]);
    const foreign = (await ok('POST', '/v2.0/security-groups', a.member, { security_group: { name: 'a-only' } })).security_group;
    const r = await api('POST', '/v2.0/ports', b.member, { port: { network_id: n.id, security_groups: [foreign.id] } });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    const none = (await ok('POST', '/v2.0/ports', b.member, { port: { network_id: n.id, security_groups: [] } })).port;
    assert.deepEqual(none.security_groups, []);
  });

  it('bulk creates ports and subnets', async () => {
    const n1 = await network(a.member);
    const n2 = await network(a.member);
    const subs = (await ok('POST', '/v2.0/subnets', a.member, { subnets: [
      { network_id: n1.id, ip_version: 4, cidr: '10.20.0.0/24' }, { network_id: n2.id, ip_version: 4, cidr: '10.21.0.0/24' },
    ] })).subnets;
    assert.equal(subs.length, 2);
    const ports = (await ok('POST', '/v2.0/ports', a.member, { ports: [{ network_id: n1.id }, { network_id: n2.id }] })).ports;
    assert.deepEqual(ports.map((p: any) => p.network_id), [n1.id, n2.id]);
    const del = await api('DELETE', `/v2.0/networks/${n1.id}`, a.member);
    assert.equal(del.status, 409);
  });
});
