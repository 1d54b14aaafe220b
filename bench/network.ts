// Network benchmark, in this process, through the Networking API.
//
//   npm run bench:network
//   node dist/bench/network.js [--ports N] [--setups N] [--driver fake|linux] [--json FILE]
//
// Prints: port create latency (p50/p99, one at a time) and throughput (16 in flight); network
// create+delete latency (median; Neutron's anchor 0.37 s); and the time to set up a tenant
// topology: network + subnet + router with a gateway + router interface (median), and with
// --driver linux (root) also until the dataplane has built it (namespaces, dnsmasq, NAT).
// The fake driver records the dataplane state only (it says so). On SQLite unless
// NUBO_TEST_DATABASE is set. Never fails on a time.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startTestCloud } from '../test/helpers/cloud.js';
import type { NetworkServiceModule } from '../src/network/network-service.js';

const { values: args } = parseArgs({ options: {
  ports: { type: 'string', default: '500' }, setups: { type: 'string', default: '20' }, driver: { type: 'string', default: 'fake' }, json: { type: 'string' },
} });
const PORTS = Number(args.ports);
const SETUPS = Number(args.setups);
const driver = args.driver === 'linux' ? 'linux' : 'fake';
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const ms = (x: number) => Math.round(x * 10) / 10;

const tc = await startTestCloud({
  services: ['identity', 'network'],
  network: { driver, namespacePrefix: 'nbench-', externalCidr: '172.31.251.0/24', externalHostAddress: '172.31.251.1' },
  dataDir: driver === 'linux' ? '/tmp/nubo-bench-net' : undefined,
});
const results: Record<string, unknown> = { driver, database: process.env.NUBO_TEST_DATABASE ? 'postgres' : 'sqlite' };
try {
  if (driver === 'fake') console.log('dataplane driver: FAKE (the state is recorded, nothing is wired); --driver linux as root wires it for real');
  const token = await tc.adminToken();
  const m = tc.cloud.modules.find((x) => x.name === 'network') as NetworkServiceModule;
  // no quota in the way of the benchmark project
  const me = (await tc.request('GET', '/v3/auth/projects', { token })).body.projects.find((p: any) => p.name === 'admin').id;
  await tc.request('PUT', `/v2.0/quotas/${me}`, { token, service: 'network', body: { quota: { port: -1, network: -1, subnet: -1, router: -1 } } });
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await tc.request(method, path, { token, body, service: 'network' });
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const timed = async <T>(f: () => Promise<T>): Promise<[number, T]> => { const t = performance.now(); const v = await f(); return [performance.now() - t, v]; };

  // 1. ports
  const net = (await api('POST', '/v2.0/networks', { network: { name: 'bench' } })).network.id;
  await api('POST', '/v2.0/subnets', { subnet: { network_id: net, cidr: '10.128.0.0/20', ip_version: 4 } });
  const lat: number[] = [];
  for (let i = 0; i < PORTS; i++) lat.push((await timed(() => api('POST', '/v2.0/ports', { port: { network_id: net } })))[0]);
  const [burst] = await timed(async () => {
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => { while (next++ < PORTS) await api('POST', '/v2.0/ports', { port: { network_id: net } }); }));
  });
  results.port_create = { n: PORTS, p50_ms: ms(pct(lat, 50)), p99_ms: ms(pct(lat, 99)), per_s_16_in_flight: Math.round(PORTS / (burst / 1000)) };
  console.log(`port create (one at a time, ${PORTS}): p50 ${ms(pct(lat, 50))} ms, p99 ${ms(pct(lat, 99))} ms; 16 in flight: ${Math.round(PORTS / (burst / 1000))} ports/s`);

  // 2. network create + delete
  const cd: number[] = [];
  for (let i = 0; i < SETUPS; i++) {
    cd.push((await timed(async () => {
      const id = (await api('POST', '/v2.0/networks', { network: { name: `cd-${i}` } })).network.id;
      await api('DELETE', `/v2.0/networks/${id}`);
    }))[0]);
  }
  results.network_create_delete = { n: SETUPS, median_ms: ms(pct(cd, 50)) };
  console.log(`network create+delete (${SETUPS}): median ${ms(pct(cd, 50))} ms (Neutron anchor: 370 ms)`);

  // 3. topology: network + subnet + router with gateway + interface (+ the dataplane)
  const pub = (await api('GET', '/v2.0/networks?router:external=true')).networks[0].id;
  const apiT: number[] = [];
  const wired: number[] = [];
  for (let i = 0; i < SETUPS; i++) {
    const t0 = performance.now();
    const n = (await api('POST', '/v2.0/networks', { network: { name: `topo-${i}` } })).network.id;
    const s = (await api('POST', '/v2.0/subnets', { subnet: { network_id: n, cidr: `10.129.${i}.0/24`, ip_version: 4 } })).subnet.id;
    const r = (await api('POST', '/v2.0/routers', { router: { name: `topo-${i}`, external_gateway_info: { network_id: pub } } })).router.id;
    await api('PUT', `/v2.0/routers/${r}/add_router_interface`, { subnet_id: s });
    apiT.push(performance.now() - t0);
    await m.agent()!.syncNow();
    wired.push(performance.now() - t0);
  }
  results.topology_setup = { n: SETUPS, api_median_ms: ms(pct(apiT, 50)), wired_median_ms: ms(pct(wired, 50)), wired_p99_ms: ms(pct(wired, 99)) };
  console.log(`network+subnet+router(gateway)+interface (${SETUPS}): API median ${ms(pct(apiT, 50))} ms; with the dataplane applied (${driver}) median ${ms(pct(wired, 50))} ms, p99 ${ms(pct(wired, 99))} ms`);
  // 4. one apply with nothing changed, over everything built above (the periodic resync's cost)
  const [noop] = await timed(() => m.agent()!.syncNow());
  results.resync_unchanged_ms = ms(noop);
  console.log(`dataplane re-apply with nothing changed (${SETUPS + 2} networks, ${SETUPS + 1} routers, ${driver}): ${ms(noop)} ms`);
  if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
} finally {
  const m = tc.cloud.modules.find((x) => x.name === 'network') as NetworkServiceModule | undefined;
  const agent = m?.agent();
  await tc.stop();
  // the linux run leaves nothing behind
  if (driver === 'linux' && agent) await agent.driver.teardown();
}
