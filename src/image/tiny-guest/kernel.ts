import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { downloadDeb, type AptContext } from './apt.js';
import { modinfo } from '../../core/host/elf.js';
import { runPipeline, type RunOptions } from '../../core/host/tools.js';
import { extractPvhVmlinux } from '../../core/host/pvh-kernel.js';

/**
 * The guest kernel from Debian's linux-image-<abi>-amd64 package: the bzImage (`vmlinuz`,
 * what Glance stores as the `aki`), the uncompressed PVH `vmlinux` extracted from it (a local
 * boot-speed cache: under TCG it saves about 3 s of decompression per boot), and the
 * driver modules the guest needs, in load order (dependencies first).
 */

/**
 * The drivers the guest loads, roots of the dependency walk; their dependencies (modinfo
 * `depends=`) are added before them. crc32c_generic is a soft dependency of ext4/jbd2
 * (requested through the crypto API at mount time), so it is named here.
 */
export const MODULE_ROOTS = [
  'virtio_pci', 'virtio_mmio', 'virtio_net', 'virtio_blk', 'virtio-rng', // devices
  'isofs', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8', // config drive (iso9660 or vfat)
  'crc32c_generic', 'ext4', // root filesystem
  'button', 'evdev', // ACPI power button -> acpid -> poweroff
];
/** Every module the roots are known to pull in on Debian 6.1 kernels: fetched in the first pass. */
const KNOWN_CLOSURE = [
  ...MODULE_ROOTS, 'virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'failover', 'net_failover',
  'cdrom', 'fat', 'crc16', 'mbcache', 'jbd2',
];

export interface KernelModule { name: string; file: string; bytes: number }
export interface PreparedKernel {
  package: string;
  version: string;
  source: 'host' | 'deb';
  /** uname -r of the guest */
  release: string;
  vmlinuz: string;
  /** Uncompressed kernel with the PVH note, when QEMU can boot it directly. */
  vmlinux?: string;
  modules: KernelModule[];
}

const norm = (m: string) => m.replace(/-/g, '_');
const modName = (file: string) => basename(file).replace(/\.ko(\.xz|\.gz|\.zst)?$/, '');

/** Kernel release (uname -r) of a linux-image-<release> package name. */
export const kernelRelease = (pkg: string) => pkg.replace(/^linux-image-/, '').replace(/-unsigned$/, '');

/**
 * Fetches (or reuses) the kernel package and prepares <cache>/kernel/<pkg>_<version>/ once:
 * vmlinuz, vmlinux (PVH), modules/<name>.ko and kernel.json. Later calls read kernel.json.
 */
export async function prepareKernel(pkg: string, version: string, installed: boolean, ctx: AptContext, step: (what: string) => void = () => {}): Promise<PreparedKernel> {
  const release = kernelRelease(pkg);
  const dir = join(ctx.cacheDir, 'kernel', `${pkg}_${version.replace(/[:/]/g, '_')}`);
  const manifest = join(dir, 'kernel.json');
  if (existsSync(manifest)) {
    const k = JSON.parse(readFileSync(manifest, 'utf8')) as PreparedKernel;
    if (existsSync(k.vmlinuz) && k.modules.every((m) => existsSync(m.file))) return k;
  }
  const o: RunOptions = { signal: ctx.signal, nice: ctx.nice };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'modules'), { recursive: true });
  try {
    // Where the package's files are: the host's own when it has this kernel installed, else
    // the members of the .deb that are needed, pulled out in one or two passes over it.
    let root: string;
    let source: 'host' | 'deb';
    let extract: (members: string[]) => Promise<void>;
    if (installed && existsSync(`/boot/vmlinuz-${release}`) && existsSync(`/lib/modules/${release}/modules.order`)) {
      root = '/';
      source = 'host';
      extract = async () => {};
    } else {
      const deb = await downloadDeb(pkg, version, ctx);
      root = join(tmp, 'root');
      source = 'deb';
      mkdirSync(root);
      step(`unpacking the kernel and its drivers from ${basename(deb)}`);
      extract = async (members) => {
        // tar exits 2 for patterns that match nothing; a later check names what is missing
        await runPipeline([['dpkg-deb', ['--fsys-tarfile', deb]], ['tar', ['-x', '-C', root, '--wildcards', ...members]]], { ...o, okCodes: [0, 2] });
      };
      await extract([`./boot/vmlinuz-${release}`, `./lib/modules/${release}/modules.order`, `./lib/modules/${release}/modules.builtin`,
        ...KNOWN_CLOSURE.map((m) => `*/${m}.ko*`)]);
    }
    const modDir = join(root, 'lib/modules', release);
    const vmlinuzSrc = join(root, 'boot', `vmlinuz-${release}`);
    if (!existsSync(vmlinuzSrc) || !existsSync(join(modDir, 'modules.order'))) {
      throw new Error(`${pkg} ${version} has no boot/vmlinuz-${release} or lib/modules/${release}/modules.order`);
    }
    // module name -> path inside the package (modules.order lists every loadable module)
    const paths = new Map<string, string>();
    for (const line of readFileSync(join(modDir, 'modules.order'), 'utf8').split('\n')) {
      if (line.trim()) paths.set(norm(modName(line.trim())), join('lib/modules', release, line.trim()));
    }
    const builtin = new Set(existsSync(join(modDir, 'modules.builtin'))
      ? readFileSync(join(modDir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map((l) => norm(modName(l))) : []);
    const fileOf = (rel: string) => [rel, `${rel}.xz`, `${rel}.gz`, `${rel}.zst`].map((r) => join(root, r)).find((p) => existsSync(p));
    step('ordering the driver modules');
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const deps = new Map<string, string[]>();
    // depth-first, dependencies first; a module whose file is not unpacked yet is fetched in another pass
    for (let pass = 0; ; pass++) {
      const missing = new Set<string>();
      const visit = (m: string) => {
        const n = norm(m);
        if (builtin.has(n) || state.get(n) === 'done') return;
        if (state.get(n) === 'visiting') throw new Error(`module dependency cycle at ${n}`);
        const rel = paths.get(n);
        if (!rel) throw new Error(`${pkg} ${version} has no module ${m} (not in modules.order nor modules.builtin)`);
        const file = fileOf(rel);
        if (!file) { missing.add(rel); return; }
        if (!deps.has(n)) deps.set(n, (modinfo(file).get('depends') ?? []).flatMap((d) => d.split(',')).filter(Boolean));
        state.set(n, 'visiting');
        for (const d of deps.get(n)!) visit(d);
        state.set(n, 'done');
        order.push(n);
      };
      for (const r of MODULE_ROOTS) visit(r);
      if (missing.size === 0) break;
      if (pass >= 4) throw new Error(`could not unpack modules ${[...missing].join(', ')} from ${pkg}`);
      order.length = 0;
      state.clear();
      await extract([...missing].map((r) => `./${r}*`));
    }
    step(`copying ${order.length} driver modules`);
    const modules: KernelModule[] = [];
    for (const n of order) {
      const src = fileOf(paths.get(n)!)!;
      const name = modName(src);
      const dest = join(dir, 'modules', `${name}.ko`);
      const destTmp = join(tmp, 'modules', `${name}.ko`);
      if (src.endsWith('.ko')) copyFileSync(src, destTmp);
      else if (src.endsWith('.xz')) await runPipeline([['xz', ['-dc', src]]], { ...o, stdoutFile: destTmp });
      else if (src.endsWith('.gz')) await runPipeline([['gzip', ['-dc', src]]], { ...o, stdoutFile: destTmp });
      else await runPipeline([['zstd', ['-dc', src]]], { ...o, stdoutFile: destTmp });
      modules.push({ name, file: dest, bytes: statSync(destTmp).size });
    }
    copyFileSync(vmlinuzSrc, join(tmp, 'vmlinuz'));
    step('extracting the uncompressed PVH kernel (vmlinux) for fast direct boots');
    const pvh = await extractPvhVmlinux(join(tmp, 'vmlinuz'), join(tmp, 'vmlinux'), o);
    rmSync(join(tmp, 'root'), { recursive: true, force: true });
    const k: PreparedKernel = {
      package: pkg, version, source, release,
      vmlinuz: join(dir, 'vmlinuz'), vmlinux: pvh ? join(dir, 'vmlinux') : undefined, modules,
    };
    writeFileSync(join(tmp, 'kernel.json'), JSON.stringify(k, null, 2) + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return k;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

