// Identity token benchmark: start-up to first token, idle memory, and token issue/validate
// latency and throughput of a real `nubo up` process on 127.0.0.1.
//
//   npm run bench            (builds, then runs dist/bench/identity-tokens.js)
//   node dist/bench/identity-tokens.js [--issue N] [--validate N] [--concurrency C] [--warm-restarts N] [--json FILE]
//
// Prints figures and never fails on a time: the exit status is non-zero only when the
// benchmark itself cannot run (the cloud does not start, no token can be had).
// Everything is bounded: a start-up waits at most 60 s, each load phase at most 120 s.
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { rssMiB } from '../test/helpers/process.js';

const { values: args } = parseArgs({
  options: {
    issue: { type: 'string', default: '200' },
    validate: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '8' },
    'warm-restarts': { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const N_ISSUE = Number(args.issue);
const N_VALIDATE = Number(args.validate);
const CONCURRENCY = Number(args.concurrency);
const WARM_RESTARTS = Number(args['warm-restarts']);
const START_LIMIT_MS = 60_000;
const PHASE_LIMIT_MS = 120_000;

// dist/bench/identity-tokens.js -> repo root
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(REPO, 'dist', 'src', 'cli', 'main.js');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

interface Creds { authUrl: string; password: string }

function readCreds(dataDir: string): Creds | undefined {
  const file = join(dataDir, 'clouds.yaml');
  if (!existsSync(file)) return undefined;
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { clouds?: Record<string, { auth?: { auth_url?: string; password?: string } }> };
    const a = doc?.clouds?.nubo?.auth;
    return a?.auth_url && a.password ? { authUrl: a.auth_url, password: a.password } : undefined;
  } catch {
    return undefined; // being written
  }
}

const issueBody = (password: string) => JSON.stringify({
  auth: {
    identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password } } },
    scope: { project: { name: 'admin', domain: { name: 'Default' } } },
  },
});

async function issueToken(authUrl: string, password: string, timeoutMs = 10_000): Promise<string> {
  const r = await fetch(`${authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: issueBody(password),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await r.arrayBuffer();
  const tok = r.headers.get('x-subject-token');
  if (r.status !== 201 || !tok) throw new Error(`POST /auth/tokens answered ${r.status}`);
  return tok;
}

interface Server { proc: ChildProcess; pid: number; log: string[]; exited: Promise<number | null> }

function startServer(dataDir: string, port: number): Server {
  // Identity alone (the figure the issue sets a memory goal for), without the first-start guest build.
  const proc = spawn(process.execPath, [MAIN, 'up', '--data-dir', dataDir, '--no-clouds-yaml', '--base-port', String(port), '--log-level', 'warn', '--services', 'identity'], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NUBO_BUILD_TINY_GUEST: '0' },
  });
  const log: string[] = [];
  const keep = (b: Buffer) => { log.push(b.toString()); if (log.length > 200) log.shift(); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, pid: proc.pid!, log, exited };
}

/** Time from spawn to the first 201 from POST /v3/auth/tokens, polling every 10 ms. */
async function startAndFirstToken(dataDir: string, port: number): Promise<{ server: Server; ms: number; creds: Creds }> {
  const t0 = performance.now();
  const server = startServer(dataDir, port);
  let dead = false;
  void server.exited.then(() => { dead = true; });
  let lastErr = '';
  while (performance.now() - t0 < START_LIMIT_MS) {
    if (dead) throw new Error(`nubo up exited before the first token:\n${server.log.join('')}`);
    const creds = readCreds(dataDir);
    if (creds) {
      try {
        await issueToken(creds.authUrl, creds.password, 5000);
        return { server, ms: performance.now() - t0, creds };
      } catch (e) {
        lastErr = (e as Error).message;
      }
    }
    await sleep(10);
  }
  await stopServer(server);
  throw new Error(`no token within ${START_LIMIT_MS / 1000} s (${lastErr})\n${server.log.join('')}`);
}

async function stopServer(s: Server): Promise<number | null | 'killed'> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return s.proc.exitCode;
  s.proc.kill('SIGTERM');
  const r = await Promise.race([s.exited, sleep(10_000).then(() => 'timeout' as const)]);
  if (r === 'timeout') {
    s.proc.kill('SIGKILL');
    await s.exited;
    return 'killed';
  }
  return r;
}

interface Stats { n: number; errors: number; mean_ms: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number; rps: number; wall_s: number; truncated?: boolean }

/** n requests in total from `concurrency` workers, each awaiting its previous request. */
async function load(n: number, concurrency: number, one: () => Promise<void>): Promise<Stats> {
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  let truncated = false;
  const worker = async () => {
    while (next < n) {
      if (performance.now() - t0 > PHASE_LIMIT_MS) { truncated = true; return; }
      next++;
      const s = performance.now();
      try {
        await one();
        lat.push(performance.now() - s);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : NaN);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    n: lat.length + errors, errors,
    mean_ms: r2(lat.reduce((a, b) => a + b, 0) / (lat.length || 1)),
    p50_ms: r2(q(50)), p90_ms: r2(q(90)), p99_ms: r2(q(99)), max_ms: r2(lat[lat.length - 1] ?? NaN),
    rps: r2(lat.length / wall), wall_s: r2(wall),
    ...(truncated ? { truncated: true } : {}),
  };
}

function referenceAnchors(): Record<string, Stats> | undefined {
  const conf = process.env.NUBO_CONFORMANCE_DIR ?? join(dirname(REPO), 'shared', 'conformance');
  const f = join(conf, 'baselines', 'keystone-22-zed', 'bench-1proc.json');
  try { return JSON.parse(readFileSync(f, 'utf8')) as Record<string, Stats>; } catch { return undefined; }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const fmt = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} not found: run npx tsc -p . first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'nubo-bench-'));
  const port = await freePort();
  let server: Server | undefined;
  const started = performance.now();
  try {
    console.log(`nubo identity token benchmark: node ${process.version}, 127.0.0.1:${port}, data ${dataDir}`);

    // (i) cold start: empty data dir (migrations, keys, bootstrap incl. password hashing)
    const cold = await startAndFirstToken(dataDir, port);
    await sleep(500);
    const rssCold = rssMiB(cold.server.pid);
    const coldExit = await stopServer(cold.server);

    // warm restarts on the same data dir
    const warm: number[] = [];
    let creds = cold.creds;
    for (let i = 0; i < Math.max(1, WARM_RESTARTS); i++) {
      if (server) await stopServer(server);
      const w = await startAndFirstToken(dataDir, port);
      server = w.server;
      creds = w.creds;
      warm.push(w.ms);
    }
    await sleep(1000);
    const rssIdle = rssMiB(server!.pid);

    // (iii) load, keep-alive connections
    const admin = await issueToken(creds.authUrl, creds.password);
    const subject = await issueToken(creds.authUrl, creds.password);
    // Validation is cheap on the server, so the client must be too: node:http with a
    // keep-alive agent costs the shared 2 cores far less than fetch.
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const validateUrl = new URL(`${creds.authUrl}/auth/tokens`);
    const validate = () => new Promise<void>((resolve, reject) => {
      const req = http.get(validateUrl, { agent, headers: { 'x-auth-token': admin, 'x-subject-token': subject }, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode)))));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
    const issue = async () => { await issueToken(creds.authUrl, creds.password, 30_000); };
    for (let i = 0; i < 5; i++) { await issue(); await validate(); } // warm-up

    const results: Record<string, Stats> = {};
    results.issue_seq = await load(N_ISSUE, 1, issue);
    results[`issue_c${CONCURRENCY}`] = await load(N_ISSUE, CONCURRENCY, issue);
    results.validate_seq = await load(N_VALIDATE, 1, validate);
    results[`validate_c${CONCURRENCY}`] = await load(N_VALIDATE, CONCURRENCY, validate);
    await sleep(1000);
    const rssAfter = rssMiB(server!.pid);
    const exit = await stopServer(server!);
    server = undefined;

    // report
    const ref = referenceAnchors();
    console.log('');
    console.log('start-up (spawn -> first successful POST /v3/auth/tokens)');
    console.log(`  cold start (empty data dir)     ${fmt(cold.ms, 0)} ms`);
    console.log(`  warm restart (existing data)    ${warm.map((x) => fmt(x, 0)).join(', ')} ms (median ${fmt(median(warm), 0)})`);
    console.log('memory (VmRSS of the nubo process)');
    console.log(`  idle after cold start           ${fmt(rssCold)} MiB`);
    console.log(`  idle after warm restart         ${fmt(rssIdle)} MiB`);
    console.log(`  after the load below            ${fmt(rssAfter)} MiB`);
    console.log('');
    console.log(`token latency / throughput (admin, password, project scope; keep-alive; concurrency ${CONCURRENCY} = ${CONCURRENCY} clients in parallel)`);
    const head = ['phase', 'n', 'err', 'mean ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'req/s', ...(ref ? ['keystone req/s', 'keystone p50 ms'] : [])];
    const rows = Object.entries(results).map(([k, s]) => {
      const r = ref?.[k.replace(/_c\d+$/, '_c8')];
      return [k, String(s.n) + (s.truncated ? '*' : ''), String(s.errors), fmt(s.mean_ms, 2), fmt(s.p50_ms, 2), fmt(s.p90_ms, 2), fmt(s.p99_ms, 2), fmt(s.max_ms, 2), fmt(s.rps, 1),
        ...(ref ? [r ? fmt(r.rps, 1) : '-', r ? fmt(r.p50_ms, 1) : '-'] : [])];
    });
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    if (Object.values(results).some((s) => s.truncated)) console.log(`  * stopped at the ${PHASE_LIMIT_MS / 1000} s phase limit`);
    if (ref) console.log('  keystone columns: Keystone 22 (Zed) reference, 1 uwsgi worker, new TCP connection per request, n=200 (shared/conformance baselines)');
    console.log(`  server exit after SIGTERM: ${exit === 0 ? 'clean (0)' : String(exit)}${coldExit === 0 ? '' : `; first server: ${String(coldExit)}`}`);
    console.log(`  benchmark wall time ${fmt((performance.now() - started) / 1000)} s`);

    const summary = {
      bench: 'identity-tokens', node: process.version, cold_start_ms: Math.round(cold.ms),
      warm_restart_ms: warm.map(Math.round), warm_restart_median_ms: Math.round(median(warm)),
      rss_mib: { idle_cold: rssCold, idle_warm: rssIdle, after_load: rssAfter },
      concurrency: CONCURRENCY, ...results,
    };
    console.log('');
    console.log(JSON.stringify(summary));
    if (args.json) writeFileSync(args.json, JSON.stringify(summary, null, 1) + '\n');
  } finally {
    if (server) await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exitCode = 1;
});
