import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { run, which } from '../../../core/host/tools.js';

/** Small wrappers around `ip`, `ip netns exec` and pid files; every command is an argv, never a shell string. */

export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  return (await run(cmd, args, input === undefined ? {} : { input })).stdout;
}

/** Runs a command whose failure is expected at times (already gone, nothing to flush); true when it succeeded. */
export async function trySh(cmd: string, args: string[]): Promise<boolean> {
  try { await run(cmd, args); return true; } catch { return false; }
}

export const ip = (ns: string | null, ...args: string[]) => sh('ip', ns ? ['-n', ns, ...args] : args);
export const tryIp = (ns: string | null, ...args: string[]) => trySh('ip', ns ? ['-n', ns, ...args] : args);
export const inNs = (ns: string, cmd: string, args: string[], input?: string) =>
  sh('ip', ['netns', 'exec', ns, which(cmd) ?? cmd, ...args], input);

export function listNamespaces(): string[] {
  try { return readdirSync('/run/netns'); } catch { return []; }
}

export async function ensureNamespace(ns: string): Promise<void> {
  if (!existsSync(`/run/netns/${ns}`)) await ip(null, 'netns', 'add', ns);
  await ip(ns, 'link', 'set', 'lo', 'up');
}

export async function deleteNamespace(ns: string): Promise<void> {
  if (existsSync(`/run/netns/${ns}`)) await tryIp(null, 'netns', 'del', ns);
}

export interface Link { name: string; kind: string | null; master: string | null; mtu: number; mac: string; up: boolean }

/** The links of a namespace (null: the root namespace), by name. */
export async function links(ns: string | null): Promise<Map<string, Link>> {
  const out = JSON.parse((await ip(ns, '-j', '-d', 'link', 'show')) || '[]') as Array<Record<string, any>>;
  return new Map(out.map((l) => [l.ifname as string, {
    name: l.ifname, kind: l.linkinfo?.info_kind ?? null, master: l.master ?? null, mtu: l.mtu,
    mac: l.address ?? '', up: Array.isArray(l.flags) && l.flags.includes('UP'),
  }]));
}

/** Global addresses (`addr/len`) on a device. */
export async function addresses(ns: string, dev: string): Promise<string[]> {
  const out = JSON.parse((await ip(ns, '-j', 'addr', 'show', 'dev', dev)) || '[]') as Array<Record<string, any>>;
  return (out[0]?.addr_info ?? []).filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`);
}

/** Makes the global addresses of a device exactly `want`. */
export async function syncAddresses(ns: string, dev: string, want: string[]): Promise<void> {
  const have = await addresses(ns, dev);
  const norm = (a: string) => a.toLowerCase();
  const wantSet = new Set(want.map(norm));
  for (const a of have) if (!wantSet.has(norm(a))) await tryIp(ns, 'addr', 'del', a, 'dev', dev);
  const haveSet = new Set(have.map(norm));
  for (const a of want) if (!haveSet.has(norm(a))) await ip(ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : []));
}

/**
 * A veth pair with `outer` in `hostNs` (on a bridge) and `inner` in `ns`. When the inner end is missing,
 * a leftover outer end is removed first; an existing pair is kept (no flap on re-apply).
 */
export async function ensureVethLeg(hostNs: string, outer: string, ns: string, inner: string, hostLinks: Map<string, Link>, nsLinks: Map<string, Link>): Promise<void> {
  if (nsLinks.has(inner)) return;
  if (hostLinks.has(outer)) await tryIp(hostNs, 'link', 'del', outer);
  await ip(hostNs, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', ns);
}

// ---- pid files: processes are found and killed by the pid their pid file names, never by name

/** The pid of a pid file if that process is alive and its command line contains `marker` (guards against pid reuse). */
export function livePid(pidFile: string, marker: string): number | null {
  let pid: number;
  try { pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10); } catch { return null; }
  if (!(pid > 0)) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return null;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(marker) ? pid : null;
  } catch { return null; }
}

export async function killPidFile(pidFile: string, marker: string): Promise<void> {
  const pid = livePid(pidFile, marker);
  if (!pid) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50));
    if (!livePid(pidFile, marker)) return;
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

/**
 * Starts a self-daemonizing program (dnsmasq, haproxy) in a namespace and waits for its pid file.
 * stdio goes to `errFile`, not to pipes: the daemon keeps its fds and a pipe would never close.
 */
export async function startDaemon(ns: string, cmd: string, args: string[], pidFile: string, errFile: string, marker: string): Promise<number> {
  mkdirSync(dirname(errFile), { recursive: true });
  const fd = openSync(errFile, 'a');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(which('ip') ?? 'ip', ['netns', 'exec', ns, which(cmd) ?? cmd, ...args], { stdio: ['ignore', fd, fd] });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  }).finally(() => closeSync(fd));
  for (let i = 0; i < 60; i++) {
    const pid = livePid(pidFile, marker);
    if (pid) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  let err = '';
  try { err = readFileSync(errFile, 'utf8').trim().split('\n').slice(-3).join(' | '); } catch { /* none */ }
  throw new Error(`${cmd} did not start in ${ns} (exit ${code}): ${err}`);
}

// ---- validation: values end up in nft files and config files, so only well-formed ones pass

export const isAddr = (s: string) => isIP(s) !== 0;
export function isCidr(s: string): boolean {
  const [a, len, extra] = s.split('/');
  if (extra !== undefined || !isAddr(a)) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return /^\d+$/.test(len) && n >= 0 && n <= (isIP(a) === 4 ? 32 : 128);
}
export const isMac = (s: string) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s);
export const family = (s: string): 4 | 6 => (s.includes(':') ? 6 : 4);

/** The network address of `addr/len` (IPv4 and IPv6). */
export function networkOf(addr: string, len: number): string {
  if (family(addr) === 4) {
    const n = addr.split('.').reduce((a, o) => (a << 8n) | BigInt(o), 0n);
    const m = len === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - len)) - 1n);
    const v = n & m;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  }
  const v = v6ToBig(addr) & (len === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - len)) - 1n));
  const parts: string[] = [];
  for (let i = 7; i >= 0; i--) parts.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return parts.join(':');
}
function v6ToBig(a: string): bigint {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return all.reduce((acc, p) => (acc << 16n) | BigInt(`0x${p || '0'}`), 0n);
}
export function netmask4(len: number): string {
  const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join('.');
}
