import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CommandError, isRoot, run, type RunOptions } from '../../core/host/tools.js';

/**
 * Debian packages for the tiny guest: which version to use, fetching the .deb with
 * `apt-get download` into the build cache, and unpacking it with `dpkg-deb -x`. A package
 * that is installed on the host at that version is used in place (its files under `/`).
 */

export interface PackageRef {
  name: string;
  version: string;
  /** Where the package's files are: '/' when installed on the host, else an unpacked .deb. */
  root: string;
  source: 'host' | 'deb';
}

export interface AptContext {
  /** <cache>/debs and <cache>/pkgs live here. */
  cacheDir: string;
  signal?: AbortSignal;
  nice?: boolean;
  /** Download progress of one package (bytes so far, total when known). */
  onDownload?: (pkg: string, done: number, total: number | undefined) => void;
}

interface PolicyEntry { installed?: string; candidate?: string }
let updatedLists = false;

/** `apt-cache policy` for several packages at once. */
async function policy(names: string[], o: RunOptions): Promise<Map<string, PolicyEntry>> {
  const { stdout } = await run('apt-cache', ['policy', ...names], o);
  const out = new Map<string, PolicyEntry>();
  let cur: PolicyEntry | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) { cur = {}; out.set(head[1].replace(/:amd64$/, ''), cur); continue; }
    const m = /^\s+(Installed|Candidate): (.+)$/.exec(line);
    if (m && cur) {
      const v = m[2].trim() === '(none)' ? undefined : m[2].trim();
      if (m[1] === 'Installed') cur.installed = v; else cur.candidate = v;
    }
  }
  return out;
}

/**
 * The version to use for each package: the installed one when the host has the package,
 * else apt's candidate. Runs `apt-get update` once (as root) when apt knows no candidate,
 * as on a fresh machine whose package lists were never fetched.
 */
export async function resolveVersions(names: string[], ctx: AptContext): Promise<Map<string, { version: string; installed: boolean }>> {
  const o = { signal: ctx.signal };
  let p = await policy(names, o);
  const unknown = () => names.filter((n) => !p.get(n)?.installed && !p.get(n)?.candidate);
  if (unknown().length && isRoot() && !updatedLists) {
    updatedLists = true;
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], o);
    p = await policy(names, o);
  }
  if (unknown().length) {
    throw new Error(`apt knows no version of ${unknown().join(', ')}${isRoot() ? '' : ' (run apt-get update as root)'}`);
  }
  return new Map(names.map((n) => {
    const e = p.get(n)!;
    return [n, { version: (e.installed ?? e.candidate)!, installed: !!e.installed }];
  }));
}

/** The control fields of `apt-cache show NAME=VERSION` for several packages in one call, keyed NAME=VERSION. */
export async function showPackages(refs: Array<[string, string]>, ctx: AptContext): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  if (!refs.length) return out;
  const { stdout } = await run('apt-cache', ['show', ...refs.map(([n, v]) => `${n}=${v}`)], { signal: ctx.signal });
  for (const stanza of stdout.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let key = '';
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && key) { fields[key] += '\n' + line.trim(); continue; }
      const i = line.indexOf(':');
      if (i > 0) { key = line.slice(0, i); fields[key] = line.slice(i + 1).trim(); }
    }
    const id = `${fields.Package?.replace(/:amd64$/, '')}=${fields.Version}`;
    if (fields.Package && !out.has(id)) out.set(id, fields);
  }
  for (const [n, v] of refs) if (!out.has(`${n}=${v}`)) throw new Error(`apt-cache show ${n}=${v} found no such package version`);
  return out;
}

/** The control fields of `apt-cache show NAME=VERSION`. */
export async function showPackage(name: string, version: string, ctx: AptContext): Promise<Record<string, string>> {
  return (await showPackages([[name, version]], ctx)).get(`${name}=${version}`)!;
}

/** Package names of a Depends field (first alternative of each, no versions). */
export function dependsNames(depends: string | undefined): string[] {
  if (!depends) return [];
  return depends.split(',').map((d) => d.split('|')[0].trim().split(/[\s(:]/)[0]).filter(Boolean);
}

/** Fetches NAME=VERSION as a .deb into <cache>/debs (reused when already there with the right size). */
export async function downloadDeb(name: string, version: string, ctx: AptContext): Promise<string> {
  const f = await showPackage(name, version, ctx);
  const file = basename(f.Filename ?? `${name}_${version.replace(/:/g, '%3a')}_amd64.deb`);
  const size = f.Size ? Number(f.Size) : undefined;
  const debs = join(ctx.cacheDir, 'debs');
  const dest = join(debs, file);
  if (existsSync(dest) && (size === undefined || statSync(dest).size === size)) return dest;
  const tmp = join(debs, `.download-${process.pid}-${name}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const poll = setInterval(() => {
    let bytes = 0;
    for (const d of [tmp, join(tmp, 'partial')]) {
      try { for (const n of readdirSync(d)) if (n.endsWith('.deb')) bytes = Math.max(bytes, statSync(join(d, n)).size); } catch { /* not yet */ }
    }
    ctx.onDownload?.(name, bytes, size);
  }, 250);
  try {
    // apt drops to user _apt for downloads, which cannot write into a root-only cache dir
    const sandbox = isRoot() ? ['-o', 'APT::Sandbox::User=root'] : [];
    await run('apt-get', [...sandbox, '-q', 'download', `${name}=${version}`], { cwd: tmp, signal: ctx.signal, nice: ctx.nice });
    const got = readdirSync(tmp).find((n) => n.endsWith('.deb'));
    if (!got) throw new Error(`apt-get download ${name}=${version} wrote no .deb`);
    renameSync(join(tmp, got), dest);
    ctx.onDownload?.(name, statSync(dest).size, size);
    return dest;
  } catch (e) {
    if (e instanceof CommandError) throw new Error(`could not download ${name}=${version} from the Debian archive: ${e.message}`);
    throw e;
  } finally {
    clearInterval(poll);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Unpacks a .deb once into <cache>/pkgs/NAME_VERSION (kept for later builds). */
export async function unpackDeb(name: string, version: string, deb: string, ctx: AptContext): Promise<string> {
  const dir = join(ctx.cacheDir, 'pkgs', `${name}_${version.replace(/[:/]/g, '_')}`);
  if (existsSync(join(dir, '.unpacked'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await run('dpkg-deb', ['-x', deb, tmp], { signal: ctx.signal, nice: ctx.nice });
  writeFileSync(join(tmp, '.unpacked'), `${name} ${version}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** A package's files: the host's when installed at `version`, else the unpacked .deb. */
export async function obtainPackage(name: string, version: string, installed: boolean, ctx: AptContext): Promise<PackageRef> {
  if (installed) return { name, version, root: '/', source: 'host' };
  const deb = await downloadDeb(name, version, ctx);
  return { name, version, root: await unpackDeb(name, version, deb, ctx), source: 'deb' };
}
