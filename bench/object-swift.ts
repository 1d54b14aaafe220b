// Object storage (Swift v1) benchmark through a real `nubo up --services identity,object` on
// 127.0.0.1, with the real Swift 2.30 numbers from issue 6 (same machine class) beside ours.
//
//   npm run bench:object      (builds, then runs dist/bench/object-swift.js)
//   node dist/bench/object-swift.js [--size-mib N] [--ops N] [--json FILE]
//   node dist/bench/object-swift.js --account URL --token T   (any running Swift, e.g. the
//     reference one: the same load against its account URL; RSS is then not sampled)
//   --swift FILE   compare with a --json FILE of such a run (made just before, on this machine)
//     instead of the issue's figures; --small-only skips the 1 GiB object and the listing
//
// Prints: 4 KiB PUT/GET/HEAD ops/s with p50/p99 latency at concurrency 1, 8 and 32 (each
// level a bounded number of requests, --ops, over a node:http keep-alive agent with that many
// sockets); 1 GiB PUT and GET in MB/s (10^6 B/s; generated on the fly, read and dropped) next
// to the disk's own 1 MiB writes + fsync into the same data directory; the latency of a JSON
// listing (limit 10000) of a 10,000-object container; and the server's RSS (VmRSS). Never
// fails on a time: the exit status is non-zero only when the benchmark cannot run.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freeBasePort, NuboProcess, rssMiB } from '../test/helpers/process.js';
import { BLOCK, diskWrite, download, generated, mbps, request, sampled } from './common.js';

const { values: args } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '1024' }, ops: { type: 'string', default: '2000' }, json: { type: 'string' }, account: { type: 'string' }, token: { type: 'string' }, 'small-only': { type: 'boolean' }, swift: { type: 'string' } },
});
const SIZE = Number(args['size-mib']) * BLOCK;
const OPS = Number(args.ops);
const LEVELS = [1, 8, 32] as const;
const SMALL = 4096;
const LISTED = 10_000;
const OBJECT_OFFSET = 6;

type Small = Record<'PUT' | 'GET' | 'HEAD', Record<number, { ops: number; p50: number; p99: number }>>;
/** The real Swift 2.30 on the same machine (issue 6), or ops/s from a run against it (--swift). */
const SWIFT = {
  PUT: { 1: 122, 8: 251, 32: 176 } as Record<number, number>,
  GET: { 1: 269, 8: 465, 32: 367 } as Record<number, number>,
  HEAD: {} as Record<number, number>,
  list_ms: 195, up_mb_s: 188, down_mb_s: 257,
};
if (args.swift) {
  const measured = (JSON.parse(readFileSync(args.swift, 'utf8')) as { small_4k: Small }).small_4k;
  for (const op of ['PUT', 'GET', 'HEAD'] as const) SWIFT[op] = Object.fromEntries(Object.entries(measured[op]).map(([c, v]) => [c, v.ops]));
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms1 = (x: number) => Math.round(x * 100) / 100;

/** `total` requests, `concurrency` at a time; ops/s and latency percentiles (ms). */
async function load(concurrency: number, total: number, one: (i: number) => Promise<number>, expect: number): Promise<{ ops: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      const s = performance.now();
      const status = await one(i);
      lat.push(performance.now() - s);
      if (status !== expect) throw new Error(`request ${i}: HTTP ${status}, expected ${expect}`);
    }
  }));
  const elapsed = performance.now() - t0;
  lat.sort((a, b) => a - b);
  return { ops: Math.round(total / (elapsed / 1000)), p50: ms1(pct(lat, 50)), p99: ms1(pct(lat, 99)) };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nubo-bench-object-'));
  const external = args.account !== undefined;
  const nubo = external ? undefined : new NuboProcess(dataDir, await freeBasePort([0, OBJECT_OFFSET]));
  try {
    await nubo?.start(60_000);
    // RSS of our server only (-1: no process to sample, RSS reads as 0).
    const pid = nubo ? nubo.child!.pid! : -1;
    const { token, account } = nubo ? await nubo.adminSwift(OBJECT_OFFSET) : { token: args.token ?? '', account: args.account!.replace(/\/$/, '') };
    const auth = { 'x-auth-token': token };
    for (const c of ['small', 'large', 'listed']) {
      const r = await request('PUT', `${account}/${c}`, auth);
      if (r.status !== 201 && r.status !== 202) throw new Error(`PUT container ${c}: HTTP ${r.status}`);
    }
    const body = randomBytes(SMALL);
    const putHeaders = { ...auth, 'content-length': String(SMALL), 'content-type': 'application/octet-stream' };

    // Warm-up (JIT, connections), not measured.
    const warm = new http.Agent({ keepAlive: true, maxSockets: 8 });
    await load(8, 200, (i) => request('PUT', `${account}/small/warm-${i}`, putHeaders, body, warm).then((r) => r.status), 201);
    await load(8, 200, (i) => request('GET', `${account}/small/warm-${i}`, auth, undefined, warm).then((r) => r.status), 200);
    warm.destroy();
    const rssIdle = rssMiB(pid) ?? 0;

    const small: Small = { PUT: {}, GET: {}, HEAD: {} };
    let peakSmall = rssIdle;
    for (const c of LEVELS) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: c });
      const name = (i: number) => `${account}/small/c${c}-${i}`;
      const run = await sampled(pid, async () => {
        small.PUT[c] = await load(c, OPS, (i) => request('PUT', name(i), putHeaders, body, agent).then((r) => r.status), 201);
        small.GET[c] = await load(c, OPS, (i) => request('GET', name(i), auth, undefined, agent).then((r) => r.status), 200);
        small.HEAD[c] = await load(c, OPS, (i) => request('HEAD', name(i), auth, undefined, agent).then((r) => r.status), 200);
      });
      peakSmall = Math.max(peakSmall, run.peak);
      agent.destroy();
    }

    const col = (x: number | string, w = 8) => String(x).padStart(w);
    console.log(external ? `object storage (Swift v1) at ${account}` : `object storage (Swift v1), nubo up (identity,object) on 127.0.0.1, file store in ${dataDir}`);
    console.log(`4 KiB objects, ${OPS} requests per op and level, keep-alive agent (sockets = concurrency):`);
    console.log(`  op    conc    ops/s   p50 ms   p99 ms | real Swift 2.30 ops/s   nubo/Swift${args.swift ? `   (Swift: ${args.swift})` : ''}`);
    for (const op of ['PUT', 'GET', 'HEAD'] as const) {
      for (const c of LEVELS) {
        const s = small[op][c];
        const ref = SWIFT[op][c];
        console.log(`  ${op.padEnd(4)} ${col(c, 5)} ${col(s.ops)} ${col(s.p50)} ${col(s.p99)} | ${col(ref ?? '-', 21)}   ${ref ? `${(s.ops / ref).toFixed(1)}x` : '-'}`);
      }
    }
    const r: Record<string, unknown> = { small_4k: small, rss_mib: { idle: rssIdle, peak_small: peakSmall }, swift_reference: SWIFT };
    if (!args['small-only']) Object.assign(r, await largeAndListing(account, token, auth, pid, dataDir, r.rss_mib as Record<string, number>));
    console.log(JSON.stringify(r));
    if (args.json) writeFileSync(args.json, JSON.stringify(r, null, 2));
  } finally {
    await nubo?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** 1 GiB up and down next to the disk's own speed, then the listing of a 10,000-object container. */
async function largeAndListing(account: string, token: string, auth: Record<string, string>, pid: number, dataDir: string, rss: Record<string, number>): Promise<Record<string, unknown>> {
  // 1 GiB up and down, and the disk's own speed.
  const diskMs = await diskWrite(dataDir, SIZE);
  const upT0 = performance.now();
  const up = await sampled(pid, () => request('PUT', `${account}/large/one`, { ...auth, 'content-length': String(SIZE), 'content-type': 'application/octet-stream' }, generated(SIZE)));
  const upMs = performance.now() - upT0;
  if (up.result.status !== 201) throw new Error(`1 GiB PUT: HTTP ${up.result.status} ${up.result.text}`);
  const downT0 = performance.now();
  const down = await sampled(pid, () => download(`${account}/large/one`, token));
  const downMs = performance.now() - downT0;
  if (down.result !== SIZE) throw new Error(`1 GiB GET returned ${down.result} of ${SIZE} bytes`);

  // A container of 10,000 objects (empty bodies, 32 at a time), listed in one JSON page.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const fillT0 = performance.now();
  await load(32, LISTED, (i) => request('PUT', `${account}/listed/object-${String(i).padStart(5, '0')}`, { ...auth, 'content-length': '0' }, '', agent).then((r) => r.status), 201);
  const fillS = (performance.now() - fillT0) / 1000;
  const listTimes: number[] = [];
  let listPeak = 0;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    const r = await sampled(pid, () => request('GET', `${account}/listed?format=json&limit=${LISTED}`, auth, undefined, agent));
    const took = performance.now() - t;
    if (r.result.status !== 200) throw new Error(`listing: HTTP ${r.result.status}`);
    const n = (JSON.parse(r.result.text) as unknown[]).length;
    if (n !== LISTED) throw new Error(`listing returned ${n} of ${LISTED} objects`);
    if (i > 0) listTimes.push(took); // the first one warms the caches
    listPeak = Math.max(listPeak, r.peak);
  }
  agent.destroy();
  listTimes.sort((a, b) => a - b);
  const rssEnd = rssMiB(pid) ?? 0;
  Object.assign(rss, { peak_put: up.peak, peak_get: down.peak, peak_listing: listPeak, end: rssEnd });

  const r = {
    large: { size_mib: SIZE / BLOCK, put_mb_s: mbps(SIZE, upMs), get_mb_s: mbps(SIZE, downMs), disk_write_fsync_mb_s: mbps(SIZE, diskMs), put_vs_disk_pct: Math.round((diskMs / upMs) * 100) },
    listing_10k_ms: { median: ms1(pct(listTimes, 50)), min: ms1(listTimes[0]), fill_s: Math.round(fillS * 10) / 10 },
  };
  const col = (x: number | string, w = 8) => String(x).padStart(w);
  console.log(`${SIZE / BLOCK} MiB object:`);
  console.log(`  PUT  ${col(r.large.put_mb_s)} MB/s  (${(upMs / 1000).toFixed(2)} s)  | real Swift ${SWIFT.up_mb_s} MB/s   = ${r.large.put_vs_disk_pct}% of the disk`);
  console.log(`  GET  ${col(r.large.get_mb_s)} MB/s  (${(downMs / 1000).toFixed(2)} s)  | real Swift ${SWIFT.down_mb_s} MB/s`);
  console.log(`  disk ${col(r.large.disk_write_fsync_mb_s)} MB/s  (1 MiB writes + fsync by node into the data directory, ${(diskMs / 1000).toFixed(2)} s)`);
  console.log(`listing of a ${LISTED}-object container (JSON, limit ${LISTED}): median ${r.listing_10k_ms.median} ms, min ${r.listing_10k_ms.min} ms of 5 | real Swift ${SWIFT.list_ms} ms  (filled in ${r.listing_10k_ms.fill_s} s)`);
  if (pid > 0) console.log(`server RSS MiB: idle ${rss.idle}, peak small ${rss.peak_small}, peak 1 GiB PUT ${up.peak}, peak 1 GiB GET ${down.peak}, peak listing ${listPeak}, end ${rssEnd}`);
  return r;
}

main().catch((e: Error) => {
  console.error(`object benchmark could not run: ${e.message}`);
  process.exit(1);
});
