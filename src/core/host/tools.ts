import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createReadStream, createWriteStream, existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Running the host tools the tiny guest build drives (apt-get, dpkg-deb, tar, xz, cpio,
 * gzip, mke2fs, mkfs.vfat, mcopy, syslinux, sfdisk, qemu-img), and telling which Debian
 * package provides each one that is missing.
 */

/** Host tool → the Debian package that provides it. */
export const TOOL_PACKAGES: Record<string, string> = {
  'apt-get': 'apt', 'apt-cache': 'apt', 'dpkg-deb': 'dpkg', 'dpkg-query': 'dpkg', tar: 'tar',
  xz: 'xz-utils', gzip: 'gzip', cpio: 'cpio', mke2fs: 'e2fsprogs', debugfs: 'e2fsprogs', 'qemu-img': 'qemu-utils',
  'mkfs.vfat': 'dosfstools', mcopy: 'mtools', syslinux: 'syslinux', sfdisk: 'fdisk',
};
/** Data files the build reads from the host, and their packages. */
export const FILE_PACKAGES: Record<string, string> = {
  '/usr/lib/syslinux/mbr/mbr.bin': 'syslinux-common',
};

export class MissingHostToolsError extends Error {
  constructor(readonly tools: string[], readonly packages: string[]) {
    super(
      `the tiny guest build needs host tools that are missing: ${tools.join(', ')} ` +
      `(Debian packages: ${packages.join(' ')}); install them as root with: ` +
      `apt-get install -y ${packages.join(' ')}   (or: bash scripts/install-system-deps.sh)`,
    );
    this.name = 'MissingHostToolsError';
  }
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly code: number | null, readonly stderr: string) {
    super(`${command} failed (${code === null ? 'killed' : `exit ${code}`})${stderr ? `: ${stderr.trim().split('\n').slice(-6).join(' | ')}` : ''}`);
    this.name = 'CommandError';
  }
}

export const isRoot = (): boolean => process.getuid?.() === 0;

const SEARCH_PATH = () => [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable on PATH (sbin directories included), or undefined. */
export function which(tool: string): string | undefined {
  for (const dir of SEARCH_PATH()) {
    if (!dir) continue;
    const p = join(dir, tool);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}

/** The tools and files of TOOL_PACKAGES/FILE_PACKAGES that are missing, with their packages. */
export function missingHostTools(tools = Object.keys(TOOL_PACKAGES)): { tools: string[]; packages: string[] } {
  const missing = tools.filter((t) => !which(t));
  const files = Object.keys(FILE_PACKAGES).filter((f) => !existsSync(f));
  const packages = [...new Set([...missing.map((t) => TOOL_PACKAGES[t] ?? t), ...files.map((f) => FILE_PACKAGES[f])])];
  return { tools: [...missing, ...files], packages };
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin. */
  input?: string | Buffer;
  /** A file (from byte `start`) streamed to stdin; a command that stops reading early is fine. */
  inputFile?: { path: string; start?: number };
  /** stdout goes to this file instead of being captured. */
  stdoutFile?: string;
  signal?: AbortSignal;
  /** Run at a lower CPU priority (background builds next to a running cloud). */
  nice?: boolean;
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[];
}

function tool(cmd: string): string {
  if (cmd.startsWith('/')) return cmd;
  const p = which(cmd);
  if (!p) throw new MissingHostToolsError([cmd], [TOOL_PACKAGES[cmd] ?? cmd]);
  return p;
}

function lower(child: ChildProcess, nice?: boolean): void {
  if (nice && child.pid) {
    try { setPriority(child.pid, 10); } catch { /* not permitted: run at normal priority */ }
  }
}

/** Runs one command; resolves with its stdout and stderr, rejects with CommandError. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  return runPipeline([[cmd, args]], opts).then((r) => ({ ...r, code: r.codes[0] }));
}

/**
 * Runs `a | b | c`: each command's stdout feeds the next one's stdin; the last one's stdout
 * is captured or written to opts.stdoutFile. Fails when any of them fails (pipefail).
 */
export function runPipeline(cmds: Array<[string, string[]]>, opts: RunOptions = {}): Promise<{ stdout: string; stderr: string; codes: number[] }> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason ?? new Error('aborted'));
    let children: ChildProcess[];
    try {
      children = cmds.map(([c, a]) => spawn(tool(c), a, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] }));
    } catch (e) {
      return reject(e);
    }
    const label = cmds.map(([c, a]) => [c, ...a].join(' ')).join(' | ').slice(0, 300);
    const stderr: string[] = children.map(() => '');
    const codes: Array<number | null> = children.map(() => null);
    let stdout = '';
    let pending = children.length + (opts.stdoutFile ? 1 : 0);
    let failed: Error | undefined;
    const onAbort = () => { for (const c of children) c.kill('SIGKILL'); };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      if (--pending > 0) return;
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(opts.signal.reason ?? new Error('aborted'));
      if (failed) return reject(failed);
      const ok = opts.okCodes ?? [0];
      const bad = codes.findIndex((c) => c === null || !ok.includes(c));
      if (bad >= 0) return reject(new CommandError(label, codes[bad], stderr[bad]));
      resolve({ stdout, stderr: stderr.join(''), codes: codes as number[] });
    };
    children.forEach((child, i) => {
      lower(child, opts.nice);
      child.stderr!.on('data', (d: Buffer) => { if (stderr[i].length < 64 * 1024) stderr[i] += d.toString(); });
      child.on('error', (e) => { failed ??= e; });
      child.on('close', (code, sig) => { codes[i] = sig ? null : code; done(); });
      if (i + 1 < children.length) {
        child.stdout!.pipe(children[i + 1].stdin!);
        children[i + 1].stdin!.on('error', () => { /* reader exited early: its exit code tells */ });
      }
    });
    const first = children[0].stdin!;
    if (opts.inputFile) {
      const rs = createReadStream(opts.inputFile.path, { start: opts.inputFile.start ?? 0 });
      rs.on('error', (e) => { failed ??= e; first.destroy(); });
      // the command exited before reading all input (xz --single-stream does): stop feeding it
      first.on('error', () => { rs.unpipe(first); rs.destroy(); });
      rs.pipe(first);
    } else {
      first.on('error', () => { /* the command exited before reading all input */ });
      if (opts.input !== undefined) first.end(opts.input);
      else first.end();
    }
    const last = children[children.length - 1].stdout!;
    if (opts.stdoutFile) {
      const out = createWriteStream(opts.stdoutFile);
      out.on('error', (e) => { failed ??= e; done(); });
      out.on('finish', done);
      last.pipe(out);
    } else {
      last.on('data', (d: Buffer) => { stdout += d.toString(); });
    }
  });
}
