// Image transfer benchmark: upload and download of a large image through a real `nubo up`
// (identity + image) on 127.0.0.1, against the disk's own sequential write speed.
//
//   npm run bench:image      (builds, then runs dist/bench/image-transfer.js)
//   node dist/bench/image-transfer.js [--size-mib N] [--rounds N] [--json FILE]
//
// Prints MB/s (10^6 bytes per second, as dd) for the upload (PUT /v2/images/{id}/file, the
// data generated and streamed, never held whole), the download (GET .../file, read and
// dropped), and a plain write of the same size with fsync by this process into the same data
// directory; and the server's RSS (VmRSS of /proc/<pid>/status) before (after an 8 MiB
// warm-up upload and download), at its peak during each transfer, and after. The three
// transfers are repeated --rounds times (default 3, interleaved) and the medians printed.
// Never fails on a time: the exit status is non-zero only when the benchmark cannot run.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { freeBasePort, rssMiB } from '../test/helpers/process.js';
import { BLOCK, diskWrite, download, generated, mbps, request, sampled } from './common.js';

const { values: args } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, rounds: { type: 'string', default: '3' }, json: { type: 'string' } } });
const SIZE = Number(args['size-mib']) * 1024 * 1024;
const ROUNDS = Math.max(1, Number(args.rounds));
const START_LIMIT_MS = 60_000;
const WARM_UP = 8 * 1024 * 1024;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(REPO, 'dist', 'src', 'cli', 'main.js');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nubo-bench-image-'));
  const base = await freeBasePort([0, 3]);
  let proc: ChildProcess | undefined;
  try {
    proc = spawn(process.execPath, [MAIN, 'up', '--data-dir', dataDir, '--no-clouds-yaml', '--base-port', String(base), '--services', 'identity,image', '--log-level', 'warn'], {
      env: { ...process.env, NUBO_BUILD_TINY_GUEST: '0' }, stdio: ['ignore', 'ignore', 'inherit'],
    });
    const pid = proc.pid!;
    const t0 = Date.now();
    let password: string | undefined;
    while (!password) {
      if (Date.now() - t0 > START_LIMIT_MS || proc.exitCode !== null) throw new Error('nubo up did not start');
      const f = join(dataDir, 'clouds.yaml');
      if (existsSync(f)) password = (parseYaml(readFileSync(f, 'utf8')) as any)?.clouds?.nubo?.auth?.password;
      await sleep(50);
    }
    const identity = `http://127.0.0.1:${base}/v3`;
    const image = `http://127.0.0.1:${base + 3}`;
    let token = '';
    while (!token) {
      const r = await request('POST', `${identity}/auth/tokens`, { 'content-type': 'application/json' }, JSON.stringify({
        auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } },
      })).catch(() => undefined);
      if (r?.status === 201) token = r.headers['x-subject-token'] as string;
      else await sleep(50);
    }
    const create = async (name: string) => JSON.parse((await request('POST', `${image}/v2/images`, { 'x-auth-token': token, 'content-type': 'application/json' },
      JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }))).text).id as string;
    // Warm-up: one small upload and download (JIT, the hashing threads), not measured.
    const warm = await create('warm-up');
    await request('PUT', `${image}/v2/images/${warm}/file`, { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(WARM_UP) }, generated(WARM_UP));
    await download(`${image}/v2/images/${warm}/file`, token);
    await sleep(500);
    const rssBefore = rssMiB(pid)!;

    // Rounds alternate the disk's own write with an upload and a download, so a busy moment
    // of the machine hits both sides; the medians are reported.
    const rounds: { disk: number; up: number; down: number }[] = [];
    let peakUp = 0;
    let peakDown = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const diskMs = await diskWrite(dataDir, SIZE);
      const id = await create(`bench-${round}`);
      const upT0 = performance.now();
      const up = await sampled(pid, () => request('PUT', `${image}/v2/images/${id}/file`,
        { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(SIZE) }, generated(SIZE)));
      const upMs = performance.now() - upT0;
      if (up.result.status !== 204) throw new Error(`upload: HTTP ${up.result.status} ${up.result.text}`);
      const downT0 = performance.now();
      const down = await sampled(pid, () => download(`${image}/v2/images/${id}/file`, token));
      const downMs = performance.now() - downT0;
      if (down.result !== SIZE) throw new Error(`download returned ${down.result} of ${SIZE} bytes`);
      await request('DELETE', `${image}/v2/images/${id}`, { 'x-auth-token': token });
      peakUp = Math.max(peakUp, up.peak);
      peakDown = Math.max(peakDown, down.peak);
      rounds.push({ disk: diskMs, up: upMs, down: downMs });
      console.log(`  round ${round}: disk ${mbps(SIZE, diskMs)} MB/s, upload ${mbps(SIZE, upMs)} MB/s, download ${mbps(SIZE, downMs)} MB/s`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const diskMs = median(rounds.map((x) => x.disk));
    const upMs = median(rounds.map((x) => x.up));
    const downMs = median(rounds.map((x) => x.down));
    await sleep(1000);
    const rssAfter = rssMiB(pid)!;

    const r = {
      size_mib: SIZE / BLOCK, rounds: ROUNDS,
      upload_mb_s: mbps(SIZE, upMs), upload_s: Math.round(upMs) / 1000,
      download_mb_s: mbps(SIZE, downMs), download_s: Math.round(downMs) / 1000,
      disk_write_fsync_mb_s: mbps(SIZE, diskMs), disk_write_s: Math.round(diskMs) / 1000,
      upload_vs_disk_pct: Math.round((diskMs / upMs) * 100),
      rss_mib: { before: rssBefore, peak_upload: peakUp, peak_download: peakDown, after: rssAfter },
      rss_growth_mib: Math.round((Math.max(peakUp, peakDown) - rssBefore) * 10) / 10,
    };
    console.log(`image transfer, ${r.size_mib} MiB, nubo up (identity,image) on 127.0.0.1, file store in ${dataDir}; medians of ${ROUNDS} rounds`);
    console.log(`  upload   (PUT .../file)            ${String(r.upload_mb_s).padStart(7)} MB/s  (${r.upload_s} s; md5 + sha512 + fsync on the way)`);
    console.log(`  download (GET .../file)            ${String(r.download_mb_s).padStart(7)} MB/s  (${r.download_s} s)`);
    console.log(`  disk: 1 MiB writes + fsync (node)  ${String(r.disk_write_fsync_mb_s).padStart(7)} MB/s  (${r.disk_write_s} s); upload = ${r.upload_vs_disk_pct}% of it`);
    console.log(`  server RSS MiB: before ${rssBefore}, peak upload ${peakUp}, peak download ${peakDown}, after ${rssAfter} (growth ${r.rss_growth_mib})`);
    console.log(JSON.stringify(r));
    if (args.json) writeFileSync(args.json, JSON.stringify(r, null, 2));
  } finally {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((res) => proc!.once('exit', res));
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`image benchmark could not run: ${e.message}`);
  process.exit(1);
});
