import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isRoot, missingHostTools, which } from '../../src/core/host/tools.js';

/** Why the dataplane tier cannot run here (empty when it can). */
export function dataplaneProblems(): string[] {
  const p: string[] = [];
  if (!isRoot()) p.push('not root (the dataplane tier runs as root)');
  if (!which('qemu-system-x86_64')) p.push('qemu-system-x86_64 is missing (apt-get install qemu-system-x86)');
  const m = missingHostTools();
  if (m.tools.length) p.push(`build tools missing: ${m.tools.join(', ')} (apt-get install ${m.packages.join(' ')})`);
  if (!which('genisoimage')) p.push('genisoimage is missing (apt-get install genisoimage)');
  if (!which('ssh') || !which('ssh-keygen')) p.push('ssh/ssh-keygen are missing (apt-get install openssh-client)');
  return p;
}

/** The node:test skip value of a dataplane file: a reason, or false. With CI set, missing tools fail in before() instead. */
export function dataplaneSkip(found: string[]): string | false {
  if (process.env.NUBO_SKIP_DATAPLANE) return 'NUBO_SKIP_DATAPLANE is set (scripts/test-all.sh runs this file in its dataplane tier)';
  return found.length && !process.env.CI ? found.join('; ') : false;
}

export function exec(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs a command in a guest over SSH (key auth, no host key checks), retrying until it answers or the time is up. */
export async function sshRun(key: string, port: number, command: string, timeoutMs = 60_000, host = '127.0.0.1', retryMs = 1000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const r = await exec('ssh', ['-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `root@${host}`, command], 15_000);
    if (r.code === 0) return r.stdout;
    if (performance.now() > deadline) throw new Error(`ssh -p ${port} ${command}: exit ${r.code}: ${r.stderr.trim()}`);
    await new Promise((res) => setTimeout(res, retryMs));
  }
}

/** Whether a process runs (and is not a zombie). */
export const procAlive = (pid: number) => pid > 0 && existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
