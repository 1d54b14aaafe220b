import type { VolumeDriver } from './volume-driver.js';
import { createFakeVolumeDriver } from './fake-volume-driver.js';
import { createFileVolumeDriver } from './file-volume-driver.js';

/** The storage back ends by name; 'auto' is resolved by the caller. */
const DRIVERS: Record<'file' | 'fake', (dataDir: string) => VolumeDriver> = {
  file: createFileVolumeDriver,
  fake: () => createFakeVolumeDriver(),
};

export function createVolumeDriver(kind: 'file' | 'fake', dataDir: string): VolumeDriver {
  return DRIVERS[kind](dataDir);
}
