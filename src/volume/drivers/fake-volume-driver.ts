import { Readable } from 'node:stream';
import type { VolumeDriver } from './volume-driver.js';

/**
 * A FAKE storage back end: remembers each volume's size, stores no data (image data is
 * drained and dropped). For API runs and tests; volumes from it hold nothing.
 */
export function createFakeVolumeDriver(totalGb = 10_000): VolumeDriver & { volumes: Map<string, number>; snapshots: Set<string> } {
  const volumes = new Map<string, number>();
  const snapshots = new Set<string>();
  return {
    name: 'fake',
    volumes,
    snapshots,
    async create(id, sizeGb) { volumes.set(id, sizeGb); },
    async createFromImage(id, sizeGb, data) {
      data.resume();
      volumes.set(id, sizeGb);
    },
    async clone(_source, id, sizeGb) { volumes.set(id, sizeGb); },
    async extend(id, sizeGb) { volumes.set(id, sizeGb); },
    async delete(id) { volumes.delete(id); },
    async snapshot(_volumeId, snapshotId) { snapshots.add(snapshotId); },
    async deleteSnapshot(snapshotId) { snapshots.delete(snapshotId); },
    async read() { return Readable.from([]); },
    connection: (id) => ({ driverVolumeType: 'fake', path: `fake-volume:${id}`, format: 'raw' }),
    async capacity() {
      const used = [...volumes.values()].reduce((a, b) => a + b, 0);
      return { totalGb: totalGb, freeGb: Math.max(0, totalGb - used) };
    },
  };
}
