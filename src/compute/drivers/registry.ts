import { join } from 'node:path';
import type { ComputeConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import { which } from '../../core/host/tools.js';
import type { ComputeDriver } from './driver.js';
import { createFakeDriver } from './fake-driver.js';

/** Which driver 'auto' means here: qemu when qemu-system-x86_64 is installed, else the fake (said loudly). */
export function resolveDriver(cfg: ComputeConfig): 'qemu' | 'fake' {
  if (cfg.driver !== 'auto') return cfg.driver;
  return which('qemu-system-x86_64') ? 'qemu' : 'fake';
}

/** Builds the driver of one host. */
export async function createDriver(kind: 'qemu' | 'fake', cfg: ComputeConfig, o: { stateDir: string; cacheDir: string; logger: Logger }): Promise<ComputeDriver> {
  if (kind === 'fake') return createFakeDriver(cfg.fakeHostResources);
  const { createQemuDriver } = await import('./qemu/qemu-driver.js');
  const { withVolumeHotplug } = await import('./qemu/volume-hotplug.js');
  const stateDir = join(o.stateDir, 'guests');
  return withVolumeHotplug(await createQemuDriver({ stateDir, cacheDir: o.cacheDir, logger: o.logger }), stateDir, o.logger);
}
