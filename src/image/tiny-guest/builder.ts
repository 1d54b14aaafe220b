import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { dependsNames, obtainPackage, resolveVersions, showPackages, type AptContext, type PackageRef } from './apt.js';
import { isRoot, missingHostTools, MissingHostToolsError, run, type RunOptions } from '../../core/host/tools.js';
import { DISK_CMDLINE, UEC_CMDLINE, digest, fsSizeMiB, makeDisk, makeExt4, makeInitramfs, type FileDigest } from './images.js';
import { MODULE_ROOTS, kernelRelease, prepareKernel } from './kernel.js';
import { createProgress, type Progress } from './progress.js';
import { assembleTree, guestFilesDir, walk } from './rootfs.js';

/**
 * `nubo image build-tiny`: the tiny guest ("tinyos") from the host's Debian packages only,
 * in both OpenStack image forms, cached under <dataDir>/cache/tiny-guest/:
 *
 *   images/<key>/tinyos-kernel.vmlinuz   aki  Debian's bzImage, as a user would boot it
 *   images/<key>/tinyos-ramdisk.img      ari  initramfs: busybox, dropbear + libs, modules, scripts
 *   images/<key>/tinyos-root.ext4        ami  ext4 root filesystem (the same tree), label tinyroot
 *   images/<key>/tinyos-disk.qcow2       whole disk: MBR + syslinux FAT + ext4, for SeaBIOS
 *   images/<key>/manifest.json           versions, sizes, checksums; current.json = the latest
 *   kernel/<pkg>_<ver>/vmlinux           the uncompressed PVH kernel (boot-speed cache, see below)
 *
 * Glance stores what a user would boot, so the aki is the normal vmlinuz. Under TCG,
 * decompressing it costs ~3 s per boot, and Debian's kernel has a PVH entry, so the build
 * also keeps the extracted vmlinux; manifest.bootKernel names it, and `extractPvhVmlinux`
 * (kernel.ts) does the same for any aki, for the compute driver to use as a local cache.
 *
 * The key is a hash of every input (package versions, the guest scripts, the builder
 * version), so a second build with the same inputs returns the cached result at once.
 */

export const BUILDER_VERSION = 1;
export const IMAGE_NAMES = { kernel: 'tinyos-kernel', ramdisk: 'tinyos-ramdisk', machine: 'tinyos', disk: 'tinyos-disk' } as const;

export interface TinyGuestFile extends FileDigest { path: string }
export interface TinyGuestBuild {
  key: string;
  dir: string;
  builtAt: string;
  buildMs: number;
  /** true when this call found the build in the cache */
  cached: boolean;
  kernelRelease: string;
  packages: Array<{ name: string; version: string; source: 'host' | 'deb' }>;
  modules: string[];
  /** aki: the bzImage */
  kernel: TinyGuestFile;
  /** What to pass to `qemu -kernel` for the fastest boot: the PVH vmlinux when there is one, else the aki. */
  bootKernel: { path: string; pvh: boolean };
  /** ari */
  ramdisk: TinyGuestFile;
  /** ami: raw ext4 */
  rootfs: TinyGuestFile;
  /** whole-disk qcow2 */
  disk: TinyGuestFile & { virtualBytes: number };
  cmdline: { uec: string; disk: string };
}

export interface BuildOptions {
  /** <dataDir>/cache/tiny-guest, or a shared cache such as /var/tmp/nubo-cache/tiny-guest */
  cacheDir: string;
  logger?: Logger;
  /** Where progress lines go (default: none; logs only). */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  progress?: Progress;
  /** As root, apt-get install missing host tools instead of failing. */
  installMissing?: boolean;
  /** Rebuild even when the cache has this build. */
  force?: boolean;
  /** A linux-image-<abi>-amd64 package instead of the one linux-image-amd64 points at. */
  kernelPackage?: string;
  signal?: AbortSignal;
  /** Lower CPU priority for the build's processes. */
  nice?: boolean;
}

/** Packages whose files go into the guest, besides the kernel. */
const GUEST_PACKAGES = ['busybox-static', 'dropbear-bin'];

function hashGuestFiles(): string {
  const h = createHash('sha256');
  const dir = guestFilesDir();
  for (const rel of walk(dir)) h.update(rel).update('\0').update(readFileSync(join(dir, rel))).update('\0');
  return h.digest('hex');
}

/** Waits for (and then holds) the cache's build lock; a lock of a dead process is taken over. */
async function lock(cacheDir: string, progress: Progress, signal?: AbortSignal): Promise<() => void> {
  const file = join(cacheDir, '.build.lock');
  let told = false;
  for (let i = 0; ; i++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(readFileSync(file, 'utf8') || 0);
    let alive = false;
    try { if (pid) { process.kill(pid, 0); alive = true; } } catch { alive = false; }
    if (!alive || pid === process.pid) { rmSync(file, { force: true }); continue; }
    if (!told) { progress.info(`waiting for another tiny guest build (pid ${pid}) to finish`); told = true; }
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    if (i > 3600) throw new Error(`the tiny guest build lock ${file} is held by pid ${pid}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Installs the missing host tools (root + installMissing), else throws naming their packages. */
export async function ensureHostTools(o: { installMissing?: boolean; progress?: Progress; signal?: AbortSignal }): Promise<void> {
  const missing = missingHostTools();
  if (!missing.tools.length) return;
  if (!o.installMissing || !isRoot()) throw new MissingHostToolsError(missing.tools, missing.packages);
  o.progress?.info(`installing Debian packages for the build: ${missing.packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], { env, signal: o.signal });
  await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-q', ...missing.packages], { env, signal: o.signal });
  const still = missingHostTools();
  if (still.tools.length) throw new MissingHostToolsError(still.tools, still.packages);
}

type Versions = Map<string, { version: string; installed: boolean }>;
interface Resolved { kernelPkg: string; versions: Versions; libs: Versions }

/**
 * What apt would answer depends only on its package lists and dpkg's status file, so the
 * answer is kept in <cache>/resolved.json under a fingerprint of those files: a cached build
 * then asks apt nothing (each apt-cache call costs ~0.5 s where apt keeps no binary cache).
 */
function aptFingerprint(kernelOverride: string | undefined): string {
  const h = createHash('sha256').update(`${BUILDER_VERSION} ${kernelOverride ?? ''}`);
  const files = ['/var/lib/dpkg/status'];
  const lists = '/var/lib/apt/lists';
  if (existsSync(lists)) for (const n of readdirSync(lists).sort()) if (n !== 'lock' && n !== 'partial' && n !== 'auxfiles') files.push(join(lists, n));
  for (const f of files) {
    try { const st = statSync(f); h.update(`${f} ${st.size} ${st.mtimeMs}\n`); } catch { h.update(`${f} -\n`); }
  }
  return h.digest('hex');
}

/**
 * The package set: the kernel (what linux-image-amd64 points at, unless overridden),
 * busybox-static, dropbear-bin and the libraries dropbear depends on, transitively.
 */
async function resolvePackages(kernelOverride: string | undefined, ctx: AptContext): Promise<Resolved> {
  const memo = join(ctx.cacheDir, 'resolved.json');
  const fp = aptFingerprint(kernelOverride);
  try {
    const m = JSON.parse(readFileSync(memo, 'utf8')) as { fp: string; kernelPkg: string; versions: Array<[string, { version: string; installed: boolean }]>; libs: Array<[string, { version: string; installed: boolean }]> };
    if (m.fp === fp) return { kernelPkg: m.kernelPkg, versions: new Map(m.versions), libs: new Map(m.libs) };
  } catch { /* none yet */ }
  const first = await resolveVersions([kernelOverride ?? 'linux-image-amd64', ...GUEST_PACKAGES], ctx);
  const v = (n: string) => first.get(n)!.version;
  const shown = await showPackages([...(kernelOverride ? [] : [['linux-image-amd64', v('linux-image-amd64')] as [string, string]]), ['dropbear-bin', v('dropbear-bin')]], ctx);
  let kernelPkg = kernelOverride;
  if (!kernelPkg) {
    const meta = shown.get(`linux-image-amd64=${v('linux-image-amd64')}`)!;
    kernelPkg = dependsNames(meta.Depends).find((d) => /^linux-image-\d/.test(d));
    if (!kernelPkg) throw new Error(`linux-image-amd64 ${v('linux-image-amd64')} depends on no linux-image-<version> package (Depends: ${meta.Depends})`);
  }
  const isLib = (d: string) => /^(lib|zlib)/.test(d);
  let frontier = dependsNames(shown.get(`dropbear-bin=${v('dropbear-bin')}`)!.Depends).filter(isLib);
  const more = await resolveVersions([...(kernelOverride ? [] : [kernelPkg]), ...frontier], ctx);
  const versions: Versions = new Map([[kernelPkg, (kernelOverride ? first : more).get(kernelPkg)!], ...GUEST_PACKAGES.map((n) => [n, first.get(n)!] as const)]);
  const libs: Versions = new Map();
  let known = more;
  while (frontier.length) {
    for (const n of frontier) libs.set(n, known.get(n)!);
    const fields = await showPackages(frontier.map((n) => [n, libs.get(n)!.version] as [string, string]), ctx);
    frontier = [...new Set([...fields.values()].flatMap((f) => dependsNames(f.Depends)).filter((d) => isLib(d) && !libs.has(d)))];
    if (frontier.length) known = await resolveVersions(frontier, ctx);
  }
  writeFileSync(memo, JSON.stringify({ fp, kernelPkg, versions: [...versions], libs: [...libs] }, null, 1) + '\n');
  return { kernelPkg, versions, libs };
}

/** Builds the tiny guest, or returns the cached build of the same inputs. */
export async function buildTinyGuest(opts: BuildOptions): Promise<TinyGuestBuild> {
  const progress = opts.progress ?? createProgress({ logger: opts.logger, out: opts.out });
  const t0 = performance.now();
  const { signal, nice } = opts;
  const ro: RunOptions = { signal, nice };
  mkdirSync(opts.cacheDir, { recursive: true });
  const ctx: AptContext = { cacheDir: opts.cacheDir, signal, nice };

  await progress.step('checking host tools', async (h) => {
    await ensureHostTools({ installMissing: opts.installMissing, progress, signal });
    h.note(isRoot() ? 'root' : 'not root: files in the ext4 images are owned by the build user, fixed at first boot');
  });
  const { kernelPkg, versions, libs, key } = await progress.step('resolving Debian package versions', async (h) => {
    const { kernelPkg, versions, libs } = await resolvePackages(opts.kernelPackage, ctx);
    const inputs = {
      builder: BUILDER_VERSION, guestFiles: hashGuestFiles(), modules: MODULE_ROOTS,
      packages: [...versions, ...libs].map(([n, e]) => `${n}=${e.version}`).sort(),
    };
    const key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
    h.note(`${kernelPkg} ${versions.get(kernelPkg)!.version}, busybox-static ${versions.get('busybox-static')!.version}, dropbear-bin ${versions.get('dropbear-bin')!.version}; build key ${key}`);
    return { kernelPkg, versions, libs, key };
  });

  const dir = join(opts.cacheDir, 'images', key);
  const cached = readManifest(join(dir, 'manifest.json'));
  if (cached && !opts.force) {
    progress.info(`tiny guest ${key} is in the cache (${dir})`);
    writeFileSync(join(opts.cacheDir, 'current.json'), JSON.stringify(cached, null, 2) + '\n');
    return { ...cached, cached: true };
  }

  const unlock = await lock(opts.cacheDir, progress, signal);
  const work = join(opts.cacheDir, 'work', `${key}-${process.pid}`);
  try {
    // another process may have finished the same build while this one waited for the lock
    const again = readManifest(join(dir, 'manifest.json'));
    if (again && !opts.force) return { ...again, cached: true };
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, 'tree'), { recursive: true });

    const onDownload = (h: { percent: (d: number, t: number | undefined, w?: string) => void }) => (pkg: string, d: number, t: number | undefined) =>
      h.percent(d, t, `downloading ${pkg}`);
    const pkgs = new Map<string, PackageRef>();
    await progress.step('fetching busybox-static, dropbear-bin and libraries', async (h) => {
      const sources: string[] = [];
      for (const [name, e] of [...versions].filter(([n]) => n !== kernelPkg).concat([...libs])) {
        let ref = await obtainPackage(name, e.version, e.installed, { ...ctx, onDownload: onDownload(h) });
        if (ref.source === 'host' && name === 'busybox-static' && !existsSync('/bin/busybox')) {
          ref = await obtainPackage(name, e.version, false, { ...ctx, onDownload: onDownload(h) });
        }
        pkgs.set(name, ref);
        sources.push(`${name}:${ref.source}`);
      }
      h.note(sources.join(' '));
    });
    const kernel = await progress.step(`preparing the kernel ${kernelPkg}`, async (h) => {
      const kv = versions.get(kernelPkg)!;
      const k = await prepareKernel(kernelPkg, kv.version, kv.installed, { ...ctx, onDownload: onDownload(h) }, (what) => opts.logger?.debug(what));
      h.note(`${k.modules.length} modules (${(k.modules.reduce((a, m) => a + m.bytes, 0) / 1e6).toFixed(1)} MB), ${k.vmlinux ? 'PVH vmlinux extracted' : 'no PVH vmlinux: the bzImage is the boot kernel'}`);
      return k;
    });
    const tree = join(work, 'tree');
    const treeInfo = await progress.step('assembling the guest file tree', async (h) => {
      const r = await assembleTree(tree, {
        busybox: pkgs.get('busybox-static')!, dropbear: pkgs.get('dropbear-bin')!, libs: [...libs.keys()].map((n) => pkgs.get(n)!), kernel,
        osRelease: {
          NAME: 'tinyos', ID: 'tinyos', VERSION_ID: String(BUILDER_VERSION), BUILD_ID: key,
          PRETTY_NAME: `tinyos ${BUILDER_VERSION} (Nubo tiny guest: Debian busybox + dropbear, Linux ${kernel.release})`,
        },
      }, signal);
      h.note(`${r.files} entries, ${(r.bytes / 1e6).toFixed(1)} MB`);
      return r;
    });
    const out = join(work, 'out');
    mkdirSync(out);
    const f = {
      kernel: join(out, 'tinyos-kernel.vmlinuz'), ramdisk: join(out, 'tinyos-ramdisk.img'),
      rootfs: join(out, 'tinyos-root.ext4'), disk: join(out, 'tinyos-disk.qcow2'),
    };
    await run('cp', [kernel.vmlinuz, f.kernel], ro);
    await progress.step('initramfs (ari): cpio newc + gzip', async (h) => {
      await makeInitramfs(tree, f.ramdisk, ro);
      h.note(`${(statSync(f.ramdisk).size / 1e6).toFixed(1)} MB`);
    });
    await progress.step('root filesystem (ami): mke2fs -d', async (h) => {
      const mib = fsSizeMiB(treeInfo.bytes, 32);
      await makeExt4(tree, f.rootfs, mib, key, ro);
      h.note(`${mib} MiB ext4, label tinyroot`);
    });
    const rawBytes = await progress.step('whole-disk image: MBR + syslinux FAT + ext4 → qcow2', async (h) => {
      const n = await makeDisk(work, { vmlinuz: f.kernel, initrd: f.ramdisk, rootExt4: f.rootfs, key, dest: f.disk }, ro);
      h.note(`${(n / 1e6).toFixed(1)} MB virtual, ${(statSync(f.disk).size / 1e6).toFixed(1)} MB qcow2`);
      return n;
    });
    const digests = await progress.step('checksums', async () => ({
      kernel: await digest(f.kernel), ramdisk: await digest(f.ramdisk), rootfs: await digest(f.rootfs), disk: await digest(f.disk),
    }));
    const at = (p: string) => join(dir, p.slice(out.length + 1));
    const build: TinyGuestBuild = {
      key, dir, builtAt: new Date().toISOString(), buildMs: Math.round(performance.now() - t0), cached: false,
      kernelRelease: kernelRelease(kernelPkg),
      packages: [{ name: kernelPkg, version: kernel.version, source: kernel.source }, ...[...pkgs.values()].map((p) => ({ name: p.name, version: p.version, source: p.source }))],
      modules: kernel.modules.map((m) => m.name),
      kernel: { path: at(f.kernel), ...digests.kernel },
      bootKernel: kernel.vmlinux ? { path: kernel.vmlinux, pvh: true } : { path: at(f.kernel), pvh: false },
      ramdisk: { path: at(f.ramdisk), ...digests.ramdisk },
      rootfs: { path: at(f.rootfs), ...digests.rootfs },
      disk: { path: at(f.disk), ...digests.disk, virtualBytes: rawBytes },
      cmdline: { uec: UEC_CMDLINE, disk: DISK_CMDLINE },
    };
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(build, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(opts.cacheDir, 'images'), { recursive: true });
    renameSync(out, dir);
    writeFileSync(join(opts.cacheDir, 'current.json'), JSON.stringify(build, null, 2) + '\n');
    prune(opts.cacheDir, key);
    progress.info(`tiny guest built in ${(build.buildMs / 1000).toFixed(1)}s: ${dir}`);
    return build;
  } finally {
    rmSync(work, { recursive: true, force: true });
    unlock();
  }
}

/** A build's manifest when it and every file it names are there. */
export function readManifest(path: string): TinyGuestBuild | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as TinyGuestBuild;
    const files = [m.kernel, m.ramdisk, m.rootfs, m.disk];
    if (!files.every((x) => x && existsSync(x.path) && statSync(x.path).size === x.bytes) || !existsSync(m.bootKernel.path)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/** The latest build in a cache directory (current.json), if its files are still there. */
export const currentBuild = (cacheDir: string) => readManifest(join(cacheDir, 'current.json'));

/** Keeps the current build and one older one; removes older builds and what dead builds left behind. */
function prune(cacheDir: string, keep: string): void {
  const imagesDir = join(cacheDir, 'images');
  const builds = readdirSync(imagesDir).filter((k) => k !== keep)
    .map((k) => ({ k, t: statSync(join(imagesDir, k)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { k } of builds.slice(1)) rmSync(join(imagesDir, k), { recursive: true, force: true });
  const alive = (pid: number) => {
    try { process.kill(pid, 0); return pid !== process.pid; } catch { return false; }
  };
  // work/<key>-<pid>, kernel/<pkg>.tmp-<pid>, pkgs/<pkg>.tmp-<pid>, debs/.download-<pid>-<pkg>
  const temps: Array<[string, RegExp]> = [['work', /-(\d+)$/], ['kernel', /\.tmp-(\d+)$/], ['pkgs', /\.tmp-(\d+)$/], ['debs', /^\.download-(\d+)-/]];
  for (const [sub, re] of temps) {
    const d = join(cacheDir, sub);
    for (const n of existsSync(d) ? readdirSync(d) : []) {
      const m = re.exec(n);
      if (m && !alive(Number(m[1]))) rmSync(join(d, n), { recursive: true, force: true });
    }
  }
}
