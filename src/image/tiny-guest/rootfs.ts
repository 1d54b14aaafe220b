import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, lutimesSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PackageRef } from './apt.js';
import { dynamicDeps } from '../../core/host/elf.js';
import { run } from '../../core/host/tools.js';
import type { PreparedKernel } from './kernel.js';

/**
 * The guest's file tree, assembled in a staging directory: busybox (static) and its applet
 * links, dropbear with exactly the shared libraries it needs, the driver modules with their
 * load order, and the guest's own scripts from guest-files/ (init, rcS, the udhcpc hook...).
 * The same tree becomes the initramfs (ari), the ext4 root filesystem (ami) and the root
 * partition of the whole-disk image.
 */

/** Directories searched for a soname inside a package's files. */
const LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib', 'usr/lib'];
/** Fixed timestamp of every file in the images, so that the same inputs give the same bytes. */
export const FIXED_MTIME = Number(process.env.SOURCE_DATE_EPOCH) || 1704067200;

/** The guest-files/ directory of the repository (beside this module in src, or from dist/). */
export function guestFilesDir(): string {
  const candidates = [
    fileURLToPath(new URL('./guest-files/', import.meta.url)),
    fileURLToPath(new URL('../../../../src/image/tiny-guest/guest-files/', import.meta.url)),
  ];
  const found = candidates.find((d) => existsSync(join(d, 'init.sh')));
  if (!found) throw new Error(`tiny guest scripts not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Every file under dir (relative paths, sorted), directories included when withDirs. */
export function walk(dir: string, withDirs = false, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) {
      if (withDirs) out.push(relative(base, p));
      out.push(...walk(p, withDirs, base));
    } else out.push(relative(base, p));
  }
  return out;
}

/** Follows symlinks of `rel` inside `root` (absolute link targets stay inside root). */
function resolveIn(root: string, rel: string): string | undefined {
  let p = join(root, rel);
  for (let hops = 0; hops < 20; hops++) {
    let st;
    try { st = lstatSync(p); } catch { return undefined; }
    if (!st.isSymbolicLink()) return p;
    const t = readlinkSync(p);
    p = isAbsolute(t) ? join(root, t) : join(dirname(p), t);
  }
  return undefined;
}

function findInPackages(pkgs: PackageRef[], rels: string[]): string | undefined {
  for (const pkg of pkgs) {
    for (const rel of rels) {
      const p = resolveIn(pkg.root, rel);
      if (p && statSync(p).isFile()) return p;
    }
  }
  return undefined;
}

/** A file of a package (e.g. bin/busybox), dereferenced; throws naming the package when absent. */
export function packageFile(pkg: PackageRef, rel: string): string {
  const p = findInPackages([pkg], [rel]);
  if (!p) throw new Error(`${pkg.name} ${pkg.version} (${pkg.source === 'host' ? 'installed on this host' : 'unpacked .deb'}) has no ${rel}`);
  return p;
}

function put(src: string, dest: string, mode: number): void {
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(src, dest);
  chmodSync(dest, mode);
}

/**
 * Copies binaries into the tree with every shared library they need (DT_NEEDED, transitively)
 * and the dynamic loader, taken from the library packages. Returns the guest paths added.
 */
export function installDynamic(tree: string, binaries: Array<{ src: string; dest: string }>, libPkgs: PackageRef[]): string[] {
  const added: string[] = [];
  const queue: string[] = [];
  const seen = new Set<string>();
  for (const b of binaries) {
    put(b.src, join(tree, b.dest), 0o755);
    added.push(b.dest);
    queue.push(b.src);
  }
  while (queue.length) {
    const file = queue.shift()!;
    const { interpreter, needed } = dynamicDeps(file);
    if (interpreter && !seen.has(interpreter)) {
      seen.add(interpreter);
      const src = findInPackages(libPkgs, [interpreter.replace(/^\//, ''), ...LIB_DIRS.map((d) => join(d, interpreter.split('/').pop()!))]);
      if (!src) throw new Error(`dynamic loader ${interpreter} not found in ${libPkgs.map((p) => p.name).join(', ')}`);
      put(src, join(tree, interpreter), 0o755);
      added.push(interpreter.replace(/^\//, ''));
    }
    for (const soname of needed) {
      if (seen.has(soname)) continue;
      seen.add(soname);
      const src = findInPackages(libPkgs, LIB_DIRS.map((d) => join(d, soname)));
      if (!src) throw new Error(`library ${soname} (needed by ${file}) not found in ${libPkgs.map((p) => p.name).join(', ')}`);
      put(src, join(tree, 'lib/x86_64-linux-gnu', soname), 0o644);
      added.push(join('lib/x86_64-linux-gnu', soname));
      queue.push(src);
    }
  }
  return added;
}

export interface TreeInputs {
  busybox: PackageRef;
  dropbear: PackageRef;
  libs: PackageRef[];
  kernel: PreparedKernel;
  /** Written to /etc/os-release. */
  osRelease: Record<string, string>;
}

/** Builds the guest tree in `tree` (an empty directory). */
export async function assembleTree(tree: string, inp: TreeInputs, signal?: AbortSignal): Promise<{ files: number; bytes: number }> {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/dropbear', 'root/.ssh', 'proc', 'sys', 'dev', 'run', 'tmp',
    'mnt/config', 'lib/modules', 'var/log', 'newroot']) {
    mkdirSync(join(tree, d), { recursive: true });
  }
  chmodSync(join(tree, 'root'), 0o700);
  chmodSync(join(tree, 'root/.ssh'), 0o700);
  chmodSync(join(tree, 'tmp'), 0o1777);

  // busybox: the static binary and one link per applet, where busybox itself puts them
  const busybox = packageFile(inp.busybox, 'bin/busybox');
  put(busybox, join(tree, 'bin/busybox'), 0o755);
  const { stdout } = await run(busybox, ['--list-full'], { signal });
  for (const applet of stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const dest = join(tree, applet);
    if (applet === 'bin/busybox' || existsSync(dest)) continue;
    mkdirSync(dirname(dest), { recursive: true });
    symlinkSync('/bin/busybox', dest);
  }
  if (!existsSync(join(tree, 'sbin/init'))) throw new Error(`${inp.busybox.name} ${inp.busybox.version} has no init applet`);

  // dropbear (dynamically linked) and its libraries
  installDynamic(tree, [
    { src: packageFile(inp.dropbear, 'usr/sbin/dropbear'), dest: 'usr/sbin/dropbear' },
    { src: packageFile(inp.dropbear, 'usr/bin/dropbearkey'), dest: 'usr/bin/dropbearkey' },
  ], inp.libs);

  // driver modules, flat, with their load order for /init's insmod loop
  for (const m of inp.kernel.modules) put(m.file, join(tree, 'lib/modules', `${m.name}.ko`), 0o644);
  writeFileSync(join(tree, 'lib/modules/load-order'), inp.kernel.modules.map((m) => m.name).join('\n') + '\n');

  // the guest's own scripts and configuration; init.sh becomes /init
  const gf = guestFilesDir();
  for (const rel of walk(gf)) {
    const src = join(gf, rel);
    const dest = join(tree, rel === 'init.sh' ? 'init' : rel);
    const script = readFileSync(src).subarray(0, 2).toString() === '#!';
    put(src, dest, rel === 'etc/shadow' ? 0o600 : script ? 0o755 : 0o644);
  }
  writeFileSync(join(tree, 'etc/os-release'), Object.entries(inp.osRelease).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n');

  let bytes = 0;
  const all = walk(tree, true);
  for (const rel of all) {
    const p = join(tree, rel);
    const st = lstatSync(p);
    if (st.isFile()) bytes += st.size;
    lutimesSync(p, FIXED_MTIME, FIXED_MTIME);
  }
  lutimesSync(tree, FIXED_MTIME, FIXED_MTIME);
  return { files: all.length, bytes };
}
