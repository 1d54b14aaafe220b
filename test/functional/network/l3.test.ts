import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { makeProject, type TestProject } from '../../helpers/image.js';

describe('network: routers, floating IPs, port forwardings, auto-allocated topology', () => {
  let c: TestCloud;
  let admin: string;
  let a: TestProject;
  let b: TestProject;
  let ext: { id: string };
  let extSubnet: { id: string };
  before(async () => {
    c = await startTestCloud({ services: ['identity', 'network'] });
    admin = await c.adminToken();
    a = await makeProject(c, admin);
    b = await makeProject(c, admin);
    ext = await network(admin, { 'router:external': true, is_default: true, 'provider:network_type': 'flat', 'provider:physical_network': 'public' });
    extSubnet = await subnet(admin, { network_id: ext.id, cidr: '203.0.113.0/24', enable_dhcp: false });
  });
  after(async () => { await c?.stop(); });

  const api = (method: string, path: string, token: string, body?: unknown) => c.request(method, path, { token, body, service: 'network' });
  const ok = async (method: string, path: string, token: string, body?: unknown, status = method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200) => {
    const r = await api(method, path, token, body);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const fails = async (method: string, path: string, token: string, body: unknown, status: number, type?: string) => {
    const r = await api(method, path, token, body);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    if (type) assert.equal(r.body.NeutronError.type, type);
  };
  async function network(token: string, extra: Record<string, unknown> = {}) { return (await ok('POST', '/v2.0/networks', token, { network: { name: 'n', ...extra } })).network; }
  async function subnet(token: string, body: Record<string, unknown>) { return (await ok('POST', '/v2.0/subnets', token, { subnet: { ip_version: 4, ...body } })).subnet; }
  const router = async (token: string, body: Record<string, unknown> = {}) => (await ok('POST', '/v2.0/routers', token, { router: { name: 'r', ...body } })).router;
  const addIf = (token: string, r: string, body: Record<string, unknown>) => ok('PUT', `/v2.0/routers/${r}/add_router_interface`, token, body);
  const removeIf = (token: string, r: string, body: Record<string, unknown>) => ok('PUT', `/v2.0/routers/${r}/remove_router_interface`, token, body);
  const port = async (token: string, body: Record<string, unknown>) => (await ok('POST', '/v2.0/ports', token, { port: body })).port;
  const fip = async (token: string, body: Record<string, unknown> = {}) => (await ok('POST', '/v2.0/floatingips', token, { floatingip: { floating_network_id: ext.id, ...body } })).floatingip;

  /** A project network with a subnet behind a router that has a gateway on `ext`. */
  const topology = async (p: TestProject, cidr: string) => {
    const n = await network(p.member);
    const s = await subnet(p.member, { network_id: n.id, cidr });
    const r = await router(p.member, { external_gateway_info: { network_id: ext.id } });
    await addIf(p.member, r.id, { subnet_id: s.id });
    return { n, s, r };
  };

  it('creates, shows, lists, updates and deletes a router with a gateway', async () => {
    const r = await router(a.member, { admin_state_up: false, external_gateway_info: { network_id: ext.id } });
    assert.equal(r.admin_state_up, false);
    assert.equal(r.status, 'ACTIVE');
    assert.equal(r.external_gateway_info.network_id, ext.id);
    assert.equal(r.external_gateway_info.enable_snat, true);
    assert.equal(r.external_gateway_info.external_fixed_ips[0].subnet_id, extSubnet.id);
    assert.deepEqual(r.routes, []);
    assert.equal('distributed' in r, false, 'admin-only attribute hidden');
    const gw = (await ok('GET', `/v2.0/ports?device_id=${r.id}&device_owner=network:router_gateway`, admin)).ports;
    assert.equal(gw.length, 1);
    assert.equal(gw[0].project_id, '');
    assert.deepEqual((await ok('GET', `/v2.0/routers/${r.id}`, a.member)).router.external_gateway_info, r.external_gateway_info);
    await fails('GET', `/v2.0/routers/${r.id}`, b.member, undefined, 404, 'RouterNotFound');
    assert.ok((await ok('GET', '/v2.0/routers', a.member)).routers.some((x: { id: string }) => x.id === r.id));
    assert.ok(!(await ok('GET', '/v2.0/routers', b.member)).routers.some((x: { id: string }) => x.id === r.id));
    const u = (await ok('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { name: 'r2', admin_state_up: true } })).router;
    assert.equal(u.name, 'r2');
    assert.equal(u.admin_state_up, true);
    // enable_snat is admin-only
    await fails('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { external_gateway_info: { network_id: ext.id, enable_snat: false } } }, 403);
    const s = (await ok('PUT', `/v2.0/routers/${r.id}`, admin, { router: { external_gateway_info: { network_id: ext.id, enable_snat: false } } })).router;
    assert.equal(s.external_gateway_info.enable_snat, false);
    assert.deepEqual(s.external_gateway_info.external_fixed_ips, r.external_gateway_info.external_fixed_ips, 'same port kept');
    const cleared = (await ok('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { external_gateway_info: {} } })).router;
    assert.equal(cleared.external_gateway_info, null);
    assert.equal((await ok('GET', `/v2.0/ports?device_id=${r.id}`, admin)).ports.length, 0);
    await ok('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { external_gateway_info: { network_id: ext.id } } });
    await ok('DELETE', `/v2.0/routers/${r.id}`, a.member);
    assert.equal((await ok('GET', `/v2.0/ports?device_id=${r.id}`, admin)).ports.length, 0, 'gateway port removed with the router');
    await fails('DELETE', `/v2.0/routers/${r.id}`, a.member, undefined, 404);
  });

  it('validates gateways', async () => {
    const priv = await network(a.member);
    await fails('POST', '/v2.0/routers', a.member, { router: { external_gateway_info: { network_id: priv.id } } }, 400);
    await fails('POST', '/v2.0/routers', a.member, { router: { external_gateway_info: { network_id: '5b1e6f9e-0000-4000-8000-000000000000' } } }, 404, 'NetworkNotFound');
    await fails('POST', '/v2.0/routers', a.member, { router: { distributed: true } }, 403);
    const taken = await port(admin, { network_id: ext.id });
    await fails('POST', '/v2.0/routers', admin, { router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [taken.fixed_ips[0]] } } }, 409);
    const want = { subnet_id: extSubnet.id, ip_address: '203.0.113.200' };
    const r = await router(admin, { external_gateway_info: { network_id: ext.id, external_fixed_ips: [want] } });
    assert.deepEqual(r.external_gateway_info.external_fixed_ips, [want]);
    await ok('DELETE', `/v2.0/routers/${r.id}`, admin);
  });

  it('adds and removes interfaces by subnet and by port', async () => {
    const r = await router(a.member);
    const n = await network(a.member);
    const s = await subnet(a.member, { network_id: n.id, cidr: '10.50.0.0/24' });
    const info = await addIf(a.member, r.id, { subnet_id: s.id });
    assert.deepEqual(Object.keys(info).sort(), ['id', 'network_id', 'port_id', 'project_id', 'subnet_id', 'subnet_ids', 'tenant_id']);
    assert.equal(info.id, r.id);
    assert.equal(info.subnet_id, s.id);
    assert.deepEqual(info.subnet_ids, [s.id]);
    assert.equal(info.network_id, n.id);
    const p = (await ok('GET', `/v2.0/ports/${info.port_id}`, a.member)).port;
    assert.equal(p.device_id, r.id);
    assert.equal(p.device_owner, 'network:router_interface');
    assert.deepEqual(p.fixed_ips, [{ subnet_id: s.id, ip_address: '10.50.0.1' }]);
    // the router's ports show up filtered by device_id
    assert.deepEqual((await ok('GET', `/v2.0/ports?device_id=${r.id}`, a.member)).ports.map((x: { id: string }) => x.id), [info.port_id]);
    // overlapping subnet, same subnet, no gateway
    const n2 = await network(a.member);
    const s2 = await subnet(a.member, { network_id: n2.id, cidr: '10.50.0.0/25' });
    await fails('PUT', `/v2.0/routers/${r.id}/add_router_interface`, a.member, { subnet_id: s2.id }, 400);
    await fails('PUT', `/v2.0/routers/${r.id}/add_router_interface`, a.member, { subnet_id: s.id }, 400);
    const n3 = await network(a.member);
    const s3 = await subnet(a.member, { network_id: n3.id, cidr: '10.51.0.0/24', gateway_ip: null });
    await fails('PUT', `/v2.0/routers/${r.id}/add_router_interface`, a.member, { subnet_id: s3.id }, 400);
    // gateway address already taken
    const n4 = await network(a.member);
    const s4 = await subnet(a.member, { network_id: n4.id, cidr: '10.52.0.0/24' });
    await port(a.member, { network_id: n4.id, fixed_ips: [{ subnet_id: s4.id, ip_address: '10.52.0.1' }] });
    await fails('PUT', `/v2.0/routers/${r.id}/add_router_interface`, a.member, { subnet_id: s4.id }, 409);
    // deleting the router or the interface port directly is refused while attached
    await fails('DELETE', `/v2.0/routers/${r.id}`, a.member, undefined, 409, 'RouterInUse');
    await fails('DELETE', `/v2.0/ports/${info.port_id}`, a.member, undefined, 409);
    // by port
    const free = await port(a.member, { network_id: n3.id });
    const byPort = await addIf(a.member, r.id, { port_id: free.id });
    assert.equal(byPort.port_id, free.id);
    assert.equal(byPort.subnet_id, s3.id);
    const shown = (await ok('GET', `/v2.0/ports/${free.id}`, a.member)).port;
    assert.equal(shown.device_id, r.id);
    assert.equal(shown.device_owner, 'network:router_interface');
    await fails('PUT', `/v2.0/routers/${r.id}/add_router_interface`, a.member, { port_id: free.id }, 409);
    await removeIf(a.member, r.id, { port_id: free.id });
    await fails('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, a.member, { port_id: free.id }, 404);
    const removed = await removeIf(a.member, r.id, { subnet_id: s.id });
    assert.equal(removed.port_id, info.port_id);
    await fails('GET', `/v2.0/ports/${info.port_id}`, a.member, undefined, 404);
    await fails('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, a.member, { subnet_id: s.id }, 404);
    await fails('PUT', `/v2.0/routers/${r.id}/add_router_interface`, b.member, { subnet_id: s.id }, 404);
    await ok('DELETE', `/v2.0/routers/${r.id}`, a.member);
  });

  it('keeps extra routes whose next hop is on a connected subnet', async () => {
    const { r, s } = await topology(a, '10.60.0.0/24');
    await fails('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { routes: [{ destination: '192.168.9.0/24', nexthop: '10.61.0.5' }] } }, 400, 'InvalidRoutes');
    const routes = [{ destination: '192.168.9.0/24', nexthop: '10.60.0.5' }, { destination: '192.168.10.0/24', nexthop: '10.60.0.6' }];
    const u = (await ok('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { routes } })).router;
    assert.deepEqual(u.routes, routes);
    await fails('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, a.member, { subnet_id: s.id }, 409, 'RouterInterfaceInUseByRoute');
    const added = (await ok('PUT', `/v2.0/routers/${r.id}/add_extraroutes`, a.member, { router: { routes: [{ destination: '192.168.11.0/24', nexthop: '10.60.0.7' }] } })).router;
    assert.equal(added.routes.length, 3);
    const left = (await ok('PUT', `/v2.0/routers/${r.id}/remove_extraroutes`, a.member, { router: { routes: [routes[0]] } })).router;
    assert.equal(left.routes.length, 2);
    assert.deepEqual((await ok('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { routes: null } })).router.routes, []);
    await removeIf(a.member, r.id, { subnet_id: s.id });
    await ok('DELETE', `/v2.0/routers/${r.id}`, a.member);
  });

  it('associates, moves and disassociates floating IPs', async () => {
    const t = await topology(a, '10.70.0.0/24');
    const p1 = await port(a.member, { network_id: t.n.id });
    const f = await fip(a.member, { port_id: p1.id });
    assert.equal(f.port_id, p1.id);
    assert.equal(f.fixed_ip_address, p1.fixed_ips[0].ip_address);
    assert.equal(f.router_id, t.r.id);
    assert.equal(f.status, 'ACTIVE');
    assert.equal(f.floating_network_id, ext.id);
    assert.equal(f.port_details.network_id, t.n.id);
    const fport = (await ok('GET', `/v2.0/ports?device_id=${f.id}`, admin)).ports[0];
    assert.equal(fport.device_owner, 'network:floatingip');
    assert.equal(fport.fixed_ips[0].ip_address, f.floating_ip_address);
    await fails('DELETE', `/v2.0/ports/${fport.id}`, admin, undefined, 409);
    // one floating IP per fixed address
    await fails('POST', '/v2.0/floatingips', a.member, { floatingip: { floating_network_id: ext.id, port_id: p1.id } }, 409, 'FloatingIPPortAlreadyAssociated');
    // an interface a floating IP needs stays
    await fails('PUT', `/v2.0/routers/${t.r.id}/remove_router_interface`, a.member, { subnet_id: t.s.id }, 409, 'RouterInterfaceInUseByFloatingIP');
    // a second router and network: the floating IP moves
    const t2 = await topology(a, '10.71.0.0/24');
    const p2 = await port(a.member, { network_id: t2.n.id });
    const moved = (await ok('PUT', `/v2.0/floatingips/${f.id}`, a.member, { floatingip: { port_id: p2.id } })).floatingip;
    assert.equal(moved.router_id, t2.r.id);
    assert.equal(moved.fixed_ip_address, p2.fixed_ips[0].ip_address);
    const none = (await ok('PUT', `/v2.0/floatingips/${f.id}`, a.member, { floatingip: { port_id: null } })).floatingip;
    assert.equal(none.port_id, null);
    assert.equal(none.router_id, null);
    assert.equal(none.status, 'DOWN');
    // deleting the associated port disassociates
    await ok('PUT', `/v2.0/floatingips/${f.id}`, a.member, { floatingip: { port_id: p1.id } });
    await ok('DELETE', `/v2.0/ports/${p1.id}`, a.member);
    const after = (await ok('GET', `/v2.0/floatingips/${f.id}`, a.member)).floatingip;
    assert.equal(after.port_id, null);
    assert.equal(after.fixed_ip_address, null);
    // not visible to others; admin sees it
    await fails('GET', `/v2.0/floatingips/${f.id}`, b.member, undefined, 404);
    assert.ok((await ok('GET', '/v2.0/floatingips', admin)).floatingips.some((x: { id: string }) => x.id === f.id));
    await ok('DELETE', `/v2.0/floatingips/${f.id}`, a.member);
    assert.equal((await ok('GET', `/v2.0/ports?device_id=${f.id}`, admin)).ports.length, 0, 'floating port freed');
  });

  it('refuses floating IPs on private or unreachable networks', async () => {
    const n = await network(a.member);
    const s = await subnet(a.member, { network_id: n.id, cidr: '10.80.0.0/24' });
    const p = await port(a.member, { network_id: n.id });
    await fails('POST', '/v2.0/floatingips', a.member, { floatingip: { floating_network_id: n.id } }, 400);
    // a router without a gateway does not reach the external network
    const r = await router(a.member);
    await addIf(a.member, r.id, { subnet_id: s.id });
    await fails('POST', '/v2.0/floatingips', a.member, { floatingip: { floating_network_id: ext.id, port_id: p.id } }, 404, 'ExternalGatewayForFloatingIPNotFound');
    const f = await fip(a.member);
    assert.equal(f.status, 'DOWN');
    assert.equal(f.router_id, null);
    await fails('PUT', `/v2.0/floatingips/${f.id}`, a.member, { floatingip: { port_id: p.id } }, 404, 'ExternalGatewayForFloatingIPNotFound');
    // several addresses: the fixed address must be named
    await ok('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { external_gateway_info: { network_id: ext.id } } });
    const multi = await port(a.member, { network_id: n.id, fixed_ips: [{ subnet_id: s.id }, { subnet_id: s.id }] });
    await fails('PUT', `/v2.0/floatingips/${f.id}`, a.member, { floatingip: { port_id: multi.id } }, 400);
    const second = multi.fixed_ips[1].ip_address;
    const u = (await ok('PUT', `/v2.0/floatingips/${f.id}`, a.member, { floatingip: { port_id: multi.id, fixed_ip_address: second } })).floatingip;
    assert.equal(u.fixed_ip_address, second);
    // the gateway is needed by the floating IP
    await fails('PUT', `/v2.0/routers/${r.id}`, a.member, { router: { external_gateway_info: {} } }, 409);
    // admin-only floating_ip_address
    await fails('POST', '/v2.0/floatingips', a.member, { floatingip: { floating_network_id: ext.id, floating_ip_address: '203.0.113.77' } }, 403);
    const exact = await fip(admin, { floating_ip_address: '203.0.113.77' });
    assert.equal(exact.floating_ip_address, '203.0.113.77');
    await fails('POST', '/v2.0/floatingips', admin, { floatingip: { floating_network_id: ext.id, floating_ip_address: '203.0.113.77' } }, 409);
    await ok('DELETE', `/v2.0/floatingips/${exact.id}`, admin);
    await ok('DELETE', `/v2.0/floatingips/${f.id}`, a.member);
  });

  it('manages port forwardings on unassociated floating IPs', async () => {
    const t = await topology(b, '10.90.0.0/24');
    const p = await port(b.member, { network_id: t.n.id });
    const f = await fip(b.member);
    const base = `/v2.0/floatingips/${f.id}/port_forwardings`;
    const body = { internal_port_id: p.id, internal_ip_address: p.fixed_ips[0].ip_address, internal_port: 22, external_port: 2222, protocol: 'tcp' };
    const pf = (await ok('POST', base, b.member, { port_forwarding: body })).port_forwarding;
    assert.equal(pf.external_port, 2222);
    assert.equal(pf.internal_ip_address, p.fixed_ips[0].ip_address);
    assert.equal((await ok('GET', `/v2.0/floatingips/${f.id}`, b.member)).floatingip.router_id, t.r.id);
    await fails('POST', base, b.member, { port_forwarding: body }, 400);
    await fails('POST', base, b.member, { port_forwarding: { ...body, external_port: 70000 } }, 400);
    await fails('POST', base, b.member, { port_forwarding: { ...body, protocol: 'icmp' } }, 400);
    await fails('POST', base, a.member, { port_forwarding: { ...body, external_port: 2223 } }, 404);
    // a floating IP with port forwardings is not associated with a port
    await fails('PUT', `/v2.0/floatingips/${f.id}`, b.member, { floatingip: { port_id: p.id } }, 409);
    assert.equal((await ok('GET', base, b.member)).port_forwardings.length, 1);
    const u = (await ok('PUT', `${base}/${pf.id}`, b.member, { port_forwarding: { external_port: 2200 } })).port_forwarding;
    assert.equal(u.external_port, 2200);
    assert.equal((await ok('GET', `${base}/${pf.id}`, b.member)).port_forwarding.external_port, 2200);
    await ok('DELETE', `${base}/${pf.id}`, b.member);
    assert.equal((await ok('GET', `/v2.0/floatingips/${f.id}`, b.member)).floatingip.router_id, null);
    // and an associated floating IP gets no port forwardings
    await ok('PUT', `/v2.0/floatingips/${f.id}`, b.member, { floatingip: { port_id: p.id } });
    await fails('POST', base, b.member, { port_forwarding: body }, 409);
    await ok('PUT', `/v2.0/floatingips/${f.id}`, b.member, { floatingip: { port_id: null } });
    // deleting the internal port removes its forwardings
    await ok('POST', base, b.member, { port_forwarding: body });
    await ok('DELETE', `/v2.0/ports/${p.id}`, b.member);
    assert.equal((await ok('GET', base, b.member)).port_forwardings.length, 0);
  });

  it('deletes an external network with its unassociated floating IPs', async () => {
    const e = await network(admin, { 'router:external': true });
    await subnet(admin, { network_id: e.id, cidr: '198.51.100.0/24', enable_dhcp: false });
    const f = (await ok('POST', '/v2.0/floatingips', admin, { floatingip: { floating_network_id: e.id } })).floatingip;
    await ok('DELETE', `/v2.0/networks/${e.id}`, admin);
    await fails('GET', `/v2.0/floatingips/${f.id}`, admin, undefined, 404);
  });

  it('auto-allocates a topology per project, once', async () => {
    const dry = (await ok('GET', `/v2.0/auto-allocated-topology/${a.id}?fields=dry-run`, a.member)).auto_allocated_topology;
    assert.equal(dry.id, 'dry-run=pass');
    await fails('GET', `/v2.0/auto-allocated-topology/${a.id}`, b.member, undefined, 403);
    const [t1, t2] = await Promise.all([
      ok('GET', `/v2.0/auto-allocated-topology/${a.id}`, a.member),
      ok('GET', `/v2.0/auto-allocated-topology/${a.id}`, a.member),
    ]);
    const netId = t1.auto_allocated_topology.id;
    assert.equal(t2.auto_allocated_topology.id, netId);
    assert.equal(t1.auto_allocated_topology.project_id, a.id);
    const net = (await ok('GET', `/v2.0/networks/${netId}`, a.member)).network;
    assert.equal(net.subnets.length, 1);
    const routers = (await ok('GET', '/v2.0/routers?name=auto_allocated_router', a.member)).routers;
    assert.equal(routers.length, 1);
    assert.equal(routers[0].external_gateway_info.network_id, ext.id);
    const ifs = (await ok('GET', `/v2.0/ports?device_id=${routers[0].id}&device_owner=network:router_interface`, a.member)).ports;
    assert.equal(ifs[0].network_id, netId);
    await ok('DELETE', `/v2.0/auto-allocated-topology/${a.id}`, a.member);
    await fails('GET', `/v2.0/networks/${netId}`, a.member, undefined, 404);
    await fails('GET', `/v2.0/routers/${routers[0].id}`, a.member, undefined, 404);
    // without a default external network: 409
    await ok('PUT', `/v2.0/networks/${ext.id}`, admin, { network: { is_default: false } });
    await fails('GET', `/v2.0/auto-allocated-topology/${b.id}`, b.member, undefined, 409);
    await ok('PUT', `/v2.0/networks/${ext.id}`, admin, { network: { is_default: true } });
  });

  it('lists the extensions and floating IP pools', async () => {
    const aliases = (await ok('GET', '/v2.0/extensions', a.member)).extensions.map((e: { alias: string }) => e.alias);
    for (const x of ['router', 'ext-gw-mode', 'extraroute', 'extraroute-atomic', 'fip-port-details', 'floating-ip-port-forwarding', 'auto-allocated-topology']) assert.ok(aliases.includes(x), x);
    const pools = (await ok('GET', '/v2.0/floatingip_pools', a.member)).floatingip_pools;
    assert.ok(pools.some((p: { subnet_id: string }) => p.subnet_id === extSubnet.id));
  });
});
