// Compute benchmark, in this process with the FAKE driver (guests are simulated; see README).
//
//   npm run bench:compute
//   node dist/bench/compute.js [--servers N] [--hosts N] [--placements N] [--json FILE]
//
// Prints: time to create --servers servers through the API (32 requests in flight) until every
// one is ACTIVE; GET /servers/detail latency (p50/p99) with them all listed; and scheduler
// throughput (placement candidates + filters + weighers + claim) with --hosts simulated hosts
// registered in placement and as compute nodes. On SQLite unless NUBO_TEST_DATABASE is set.
// Never fails on a time: the exit status is non-zero only when the benchmark cannot run.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startComputeCloud } from '../test/helpers/compute.js';
import type { ComputeServiceModule } from '../src/compute/compute-service.js';
import { selectDestination } from '../src/compute/scheduler/scheduler.js';
import { nowIso } from '../src/core/ids.js';

const { values: args } = parseArgs({ options: {
  servers: { type: 'string', default: '1000' }, hosts: { type: 'string', default: '10000' }, placements: { type: 'string', default: '2000' }, json: { type: 'string' },
} });
const SERVERS = Number(args.servers);
const HOSTS = Number(args.hosts);
const PLACEMENTS = Number(args.placements);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const r1 = (x: number) => Math.round(x * 10) / 10;

const k = await startComputeCloud({ fakeHostResources: { vcpus: 4096, memoryMb: 4 * 1024 * 1024, diskGb: 100_000 } });
const results: Record<string, unknown> = { driver: 'fake', database: process.env.NUBO_TEST_DATABASE ? 'postgres' : 'sqlite' };
try {
  const c = (k.c.cloud.modules.find((m) => m.name === 'compute') as ComputeServiceModule).context;
  // no quota in the way of the benchmark project
  await c.db.insertInto('quota_class').values(['instances', 'cores', 'ram'].map((resource) => ({ class_name: 'default', resource, hard_limit: -1 }))).execute();

  // 1. create N servers, 32 requests in flight, until all ACTIVE
  const t0 = performance.now();
  let next = 0;
  const ids: string[] = [];
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < SERVERS) {
      const i = next++;
      const r = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: `bench-${i}`, imageRef: k.imageId, flavorRef: '1' } } });
      if (r.status !== 202) throw new Error(`create ${i}: ${r.status} ${JSON.stringify(r.body)}`);
      ids.push(r.body.server.id);
    }
  }));
  const accepted = performance.now() - t0;
  for (;;) {
    const building = await c.db.selectFrom('instance').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', k.a.id).where('vm_state', '!=', 'active').executeTakeFirstOrThrow();
    if (Number(building.n) === 0) break;
    if (performance.now() - t0 > 600_000) throw new Error(`${building.n} servers not ACTIVE after 10 minutes`);
    await new Promise((res) => setTimeout(res, 20));
  }
  const active = performance.now() - t0;
  results.create = { servers: SERVERS, accepted_s: r1(accepted / 1000), all_active_s: r1(active / 1000), per_s: Math.round(SERVERS / (active / 1000)) };
  console.log(`create ${SERVERS} servers (fake driver, 32 in flight): all accepted in ${r1(accepted / 1000)} s, all ACTIVE in ${r1(active / 1000)} s (${Math.round(SERVERS / (active / 1000))}/s; goal < 10 s)`);

  // 2. GET /servers/detail with them all
  const lat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    const r = await k.nova('GET', '/v2.1/servers/detail?limit=1000', { token: k.a.member });
    lat.push(performance.now() - t);
    if (r.body.servers.length !== Math.min(SERVERS, 1000)) throw new Error(`detail listed ${r.body.servers.length}`);
  }
  lat.sort((a, b) => a - b);
  results.detail = { servers: Math.min(SERVERS, 1000), p50_ms: r1(pct(lat, 50)), p99_ms: r1(pct(lat, 99)) };
  console.log(`GET /servers/detail with ${Math.min(SERVERS, 1000)} servers: p50 ${r1(pct(lat, 50))} ms, p99 ${r1(pct(lat, 99))} ms (20 requests)`);

  // 3. scheduler throughput with HOSTS simulated hosts
  const tReg = performance.now();
  const now = nowIso();
  const rows = [];
  for (let i = 0; i < HOSTS; i++) {
    const uuid = randomUUID();
    await c.placement.ensureProvider(uuid, `sim-${i}`);
    await c.placement.setInventory(uuid, { VCPU: { total: 64, allocation_ratio: 16 }, MEMORY_MB: { total: 262144, reserved: 512, allocation_ratio: 1.5 }, DISK_GB: { total: 4096 } });
    rows.push({ uuid, id: 1000 + i, host: `sim-${i}`, hypervisor_hostname: `sim-${i}`, hypervisor_type: 'fake', hypervisor_version: 1000, vcpus: 64, memory_mb: 262144, local_gb: 4096, host_ip: '127.0.0.1', cpu_info: '{}', created_at: now, updated_at: now });
  }
  for (let i = 0; i < rows.length; i += 500) await c.db.insertInto('compute_node').values(rows.slice(i, i + 500)).execute();
  const regS = (performance.now() - tReg) / 1000;
  const flavor = { flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };
  const owner = { projectId: k.a.id, userId: 'bench' };
  const tS = performance.now();
  let done = 0;
  const deadline = tS + 60_000;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (done < PLACEMENTS && performance.now() < deadline) {
      done++;
      await selectDestination(c, { instanceUuid: randomUUID() }, flavor, owner);
    }
  }));
  const schedS = (performance.now() - tS) / 1000;
  results.scheduler = { hosts: HOSTS, register_s: r1(regS), placements: done, seconds: r1(schedS), per_s: Math.round(done / schedS) };
  console.log(`scheduler with ${HOSTS} hosts (registered in ${r1(regS)} s): ${done} placements in ${r1(schedS)} s = ${Math.round(done / schedS)}/s (8 in flight; goal >= 1000/s)`);
} finally {
  await k.stop();
}
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
