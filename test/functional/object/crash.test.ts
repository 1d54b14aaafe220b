import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import pg from 'pg';
import { TEST_DATABASE } from '../../helpers/cloud.js';
import { freeBasePort } from '../../helpers/process.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');
const OBJECT_OFFSET = 6;

/** `nubo up` (identity + object) as a real child process on a data directory. */
class NuboProcess {
  child?: ChildProcess;
  log = '';
  constructor(readonly dataDir: string, readonly basePort: number, readonly database?: string) {}

  async start(): Promise<void> {
    this.log = '';
    const db = this.database ? ['--database', this.database] : [];
    this.child = spawn(process.execPath, [MAIN, 'up', '--data-dir', this.dataDir, '--no-clouds-yaml', '--base-port', String(this.basePort), '--services', 'identity,object', ...db], {
      env: { ...process.env, NUBO_BUILD_TINY_GUEST: '0', NUBO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => { this.log += d; });
    this.child.stderr!.on('data', (d) => { this.log += d; });
    const end = Date.now() + 30000;
    while (Date.now() < end) {
      if (this.child.exitCode !== null) throw new Error(`nubo up exited (${this.child.exitCode}):\n${this.log}`);
      if (this.log.includes('Nubo is up')) return;
      await sleep(100);
    }
    throw new Error(`nubo up did not come up:\n${this.log}`);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }
}

async function pgDatabase(action: 'create' | 'drop', name: string): Promise<string | undefined> {
  if (!TEST_DATABASE) return undefined;
  const c = new pg.Client({ connectionString: TEST_DATABASE });
  await c.connect();
  try {
    await c.query(action === 'create' ? `CREATE DATABASE "${name}"` : `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
  const u = new URL(TEST_DATABASE);
  u.pathname = `/${name}`;
  return u.toString();
}

const filesUnder = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)])) : [];

describe('object: a kill -9 during an upload', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nubo-objcrash-'));
  const dbName = `nubo_objcrash_${randomBytes(4).toString('hex')}`;
  let nubo: NuboProcess;
  after(async () => {
    await nubo?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await pgDatabase('drop', dbName);
  });

  it('leaves no visible object and no partial or orphan file after a restart, and the upload works again', async () => {
    nubo = new NuboProcess(dataDir, await freeBasePort([0, OBJECT_OFFSET]), await pgDatabase('create', dbName));
    await nubo.start();
    const cloud = parseYaml(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8')).clouds.nubo;
    const identity = `http://127.0.0.1:${nubo.basePort}/v3`;
    let account = '';
    const tokenOf = async () => {
      const r = await fetch(`${identity}/auth/tokens`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: cloud.auth.password } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } }),
      });
      assert.equal(r.status, 201);
      account = `http://127.0.0.1:${nubo.basePort + OBJECT_OFFSET}/v1/AUTH_${(await r.json()).token.project.id}`;
      return r.headers.get('x-subject-token')!;
    };
    let token = await tokenOf();
    assert.equal((await fetch(`${account}/crash`, { method: 'PUT', headers: { 'x-auth-token': token } })).status, 201);
    assert.equal((await fetch(`${account}/crash/keep`, { method: 'PUT', headers: { 'x-auth-token': token }, body: 'kept' })).status, 201);

    // A 4 GiB upload, streamed as fast as the server takes it; SIGKILL once 32 MiB are on disk.
    const total = 4 * 1024 ** 3;
    const chunk = randomBytes(1024 * 1024);
    const req = httpRequest(`${account}/crash/big`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-length': String(total) } });
    req.on('error', () => undefined);
    let stop = false;
    const pump = async () => {
      let sent = 0;
      while (!stop && sent < total) {
        if (!req.write(chunk)) await new Promise((r) => { req.once('drain', r); setTimeout(r, 200); });
        sent += chunk.length;
      }
    };
    void pump();
    const objects = join(dataDir, 'objects');
    const tmpDir = join(objects, '.tmp');
    const partialBytes = () => readdirSync(tmpDir).reduce((n, f) => n + statSync(join(tmpDir, f)).size, 0);
    const end = Date.now() + 30000;
    while (partialBytes() < 32 * 1024 * 1024) {
      if (Date.now() > end) assert.fail(`upload did not progress (${partialBytes()} bytes on disk)\n${nubo.log}`);
      await sleep(20);
    }
    await nubo.kill('SIGKILL');
    stop = true;
    req.destroy();
    assert.ok(readdirSync(tmpDir).length > 0, 'the killed upload left its temporary file');
    const before = filesUnder(objects).filter((f) => !f.includes('/.tmp/'));
    assert.equal(before.length, 1, 'only the kept object is whole on disk');
    // a whole blob no row references (as a crash between rename and commit would leave it)
    mkdirSync(join(objects, 'ff'), { recursive: true });
    writeFileSync(join(objects, 'ff', 'ff00112233445566778899aabbccddee'), 'orphan');

    await nubo.start();
    token = await tokenOf();
    assert.equal((await fetch(`${account}/crash/big`, { method: 'HEAD', headers: { 'x-auth-token': token } })).status, 404);
    const listing = await (await fetch(`${account}/crash`, { headers: { 'x-auth-token': token } })).text();
    assert.equal(listing, 'keep\n');
    assert.deepEqual(readdirSync(tmpDir), [], 'no partial file remains');
    assert.deepEqual(filesUnder(objects).filter((f) => !f.includes('/.tmp/')), before, 'the orphan blob was removed, the kept one stays');
    assert.equal(await (await fetch(`${account}/crash/keep`, { headers: { 'x-auth-token': token } })).text(), 'kept');

    const data = randomBytes(3 * 1024 * 1024 + 7);
    const up = await fetch(`${account}/crash/big`, { method: 'PUT', headers: { 'x-auth-token': token }, body: data });
    assert.equal(up.status, 201);
    assert.equal(up.headers.get('etag'), createHash('md5').update(data).digest('hex'));
    const down = await fetch(`${account}/crash/big`, { headers: { 'x-auth-token': token } });
    assert.deepEqual(Buffer.from(await down.arrayBuffer()), data);
    await nubo.kill('SIGTERM');
  });
});
