import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/** True when nothing listens on 127.0.0.1:port. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A --base-port whose service ports (base + each offset) are all free. */
export async function freeBasePort(offsets: number[] = [0]): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (const o of offsets) ok = ok && (await portFree(base + o));
    if (ok) return base;
  }
  throw new Error(`no free base port for offsets ${offsets.join(',')}`);
}

/** Resident memory of a process in MiB (one decimal), from /proc. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

/** `nubo up` as a real child process on a data directory (no tiny guest build; warn logs). */
export class NuboProcess {
  child?: ChildProcess;
  log = '';
  constructor(readonly dataDir: string, readonly basePort: number, readonly database?: string, readonly services = 'identity,object') {}

  async start(limitMs = 30000): Promise<void> {
    this.log = '';
    const db = this.database ? ['--database', this.database] : [];
    this.child = spawn(process.execPath, [MAIN, 'up', '--data-dir', this.dataDir, '--no-clouds-yaml', '--base-port', String(this.basePort), '--services', this.services, ...db], {
      env: { ...process.env, NUBO_BUILD_TINY_GUEST: '0', NUBO_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => { this.log += d; });
    this.child.stderr!.on('data', (d) => { this.log += d; });
    const end = Date.now() + limitMs;
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

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) await this.kill('SIGKILL');
  }

  /** The admin password `nubo up` wrote into <dataDir>/clouds.yaml. */
  adminPassword(): string {
    return parseYaml(readFileSync(join(this.dataDir, 'clouds.yaml'), 'utf8')).clouds.nubo.auth.password as string;
  }

  /** An admin token scoped to the admin project, and that project's Swift account URL. */
  async adminSwift(objectOffset = 6): Promise<{ token: string; account: string }> {
    const r = await fetch(`http://127.0.0.1:${this.basePort}/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: this.adminPassword() } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } }),
    });
    if (r.status !== 201) throw new Error(`admin token: HTTP ${r.status}`);
    const projectId = ((await r.json()) as { token: { project: { id: string } } }).token.project.id;
    return { token: r.headers.get('x-subject-token')!, account: `http://127.0.0.1:${this.basePort + objectOffset}/v1/AUTH_${projectId}` };
  }
}

/** Every file below a directory (recursively); [] when it does not exist. */
export const filesUnder = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)])) : [];
