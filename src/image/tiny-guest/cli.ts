import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { buildTinyGuest, IMAGE_NAMES, type TinyGuestBuild } from './builder.js';
import { isRoot, missingHostTools, MissingHostToolsError } from '../../core/host/tools.js';
import { createProgress } from './progress.js';
import { cloudReachable, registerTinyGuest, type CloudTarget } from './register.js';

/**
 * Entry points for the CLI: `nubo image build-tiny` in the foreground, and the background
 * build that `nubo up` starts after a first start.
 */

export const tinyGuestCacheDir = (dataDir: string) => join(dataDir, 'cache', 'tiny-guest');

export interface BuildTinyCommand {
  dataDir: string;
  /** true: register (fail when the cloud is not reachable); false: build only; undefined: register when reachable */
  register?: boolean;
  cloud?: string;
  cloudsYaml?: string;
  force?: boolean;
  logger?: Logger;
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

const mb = (n: number) => `${(n / 1e6).toFixed(1).padStart(6)} MB`;

function describe(b: TinyGuestBuild): string {
  return [
    `tiny guest ${b.key} (Linux ${b.kernelRelease}${b.cached ? ', from the cache' : `, built in ${(b.buildMs / 1000).toFixed(1)}s`}):`,
    `  aki   ${mb(b.kernel.bytes)}  ${b.kernel.path}`,
    `  ari   ${mb(b.ramdisk.bytes)}  ${b.ramdisk.path}`,
    `  ami   ${mb(b.rootfs.bytes)}  ${b.rootfs.path}   (ext4, label tinyroot)`,
    `  disk  ${mb(b.disk.bytes)}  ${b.disk.path}   (qcow2, ${(b.disk.virtualBytes / 1e6).toFixed(1)} MB virtual)`,
    `  boot  ${b.bootKernel.pvh ? 'PVH vmlinux (fast direct boot)' : 'bzImage'}: ${b.bootKernel.path}`,
  ].join('\n');
}

/** `nubo image build-tiny`: exit code 0 when built (and registered when asked). */
export async function buildTinyCommand(c: BuildTinyCommand): Promise<number> {
  const out = c.out ?? process.stdout;
  const progress = createProgress({ logger: c.logger, out });
  const target: CloudTarget = { cloudsYaml: c.cloudsYaml ?? join(c.dataDir, 'clouds.yaml'), cloud: c.cloud ?? 'nubo' };
  let build: TinyGuestBuild;
  try {
    build = await buildTinyGuest({ cacheDir: tinyGuestCacheDir(c.dataDir), logger: c.logger, progress, installMissing: true, force: c.force });
  } catch (e) {
    if (e instanceof MissingHostToolsError) {
      out.write(`nubo image build-tiny: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  out.write(describe(build) + '\n');
  let register = c.register;
  if (register === undefined) {
    register = await cloudReachable(target);
    if (!register) {
      out.write(`no cloud answers for '${target.cloud}' in ${target.cloudsYaml}: built only. Register later with:\n` +
        `  nubo image build-tiny --register${c.cloudsYaml ? ` --clouds-yaml ${c.cloudsYaml}` : ''}${c.cloud ? ` --os-cloud ${c.cloud}` : ''}\n`);
      return 0;
    }
  }
  if (!register) return 0;
  const reg = await registerTinyGuest(build, target, { logger: c.logger, progress });
  out.write(`registered in ${reg.imageEndpoint}:\n`);
  for (const [k, img] of Object.entries(reg.images)) {
    out.write(`  ${img.name.padEnd(15)} ${img.id}${img.reused ? '  (already there)' : ''}${k === 'machine' ? `  kernel_id=${reg.images.kernel.id} ramdisk_id=${reg.images.ramdisk.id}` : ''}\n`);
  }
  out.write(`try: openstack --os-cloud ${target.cloud} image list --property os_distro=tinyos\n`);
  return 0;
}

/**
 * After a first `nubo up`: build (at low CPU priority) and register the tiny guest in the
 * background. Never throws and never installs packages; when host tools are missing it logs
 * one warning naming the apt packages. Abort the signal to stop it (on shutdown).
 */
export function startTinyGuestInBackground(o: { dataDir: string; logger: Logger; signal?: AbortSignal; cloudsYaml?: string; cloud?: string }): Promise<void> {
  const log = o.logger.child({ component: 'tiny-guest' });
  const run = async () => {
    const missing = missingHostTools();
    if (missing.tools.length) {
      log.warn(`tiny guest image not built: missing host tools ${missing.tools.join(', ')}; install them with \`apt-get install -y ${missing.packages.join(' ')}\`${isRoot() ? '' : ' (as root)'}, then run \`nubo image build-tiny\``);
      return;
    }
    log.info('building the tiny guest image (tinyos) in the background; `nubo image build-tiny` shows progress');
    const progress = createProgress({ logger: o.logger, component: 'tiny-guest' });
    const build = await buildTinyGuest({ cacheDir: tinyGuestCacheDir(o.dataDir), logger: o.logger, progress, signal: o.signal, nice: true });
    if (o.signal?.aborted) return;
    const reg = await registerTinyGuest(build, { cloudsYaml: o.cloudsYaml ?? join(o.dataDir, 'clouds.yaml'), cloud: o.cloud ?? 'nubo' }, { logger: o.logger, progress });
    log.info({ images: Object.fromEntries(Object.entries(reg.images).map(([, i]) => [i.name, i.id])) },
      `tiny guest registered: ${Object.values(IMAGE_NAMES).join(', ')}`);
  };
  return run().catch((e: Error) => {
    if (o.signal?.aborted) return;
    if (e instanceof MissingHostToolsError) log.warn(e.message);
    else log.warn({ err: e.message }, `tiny guest image not built or not registered: ${e.message} (retry with \`nubo image build-tiny\`)`);
  });
}
