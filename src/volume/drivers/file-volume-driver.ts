import { mkdir, rename, rm, stat, truncate, open } from 'node:fs/promises';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { run } from '../../core/host/tools.js';
import type { VolumeDriver } from './volume-driver.js';

const GiB = 1024 ** 3;

/**
 * Volumes as raw sparse files under <dataDir>/volumes/<id> (snapshots under snapshots/<id>).
 * A volume file appears only complete: it is built under a temporary name, then renamed.
 */
export function createFileVolumeDriver(dataDir: string): VolumeDriver {
  const dir = join(dataDir, 'volumes');
  const snapDir = join(dataDir, 'volumes', 'snapshots');
  const path = (id: string) => join(dir, id);
  const tmpOf = (id: string) => join(dir, `.${id}.part-${process.pid}-${Date.now()}`);
  const ready = mkdir(snapDir, { recursive: true });
  const qemuImg = async (args: string[]) => {
    const r = await run('qemu-img', args);
    if (r.code !== 0) throw new Error(`qemu-img ${args[0]} failed: ${r.stderr.trim()}`);
  };
  /** Builds a file at a temporary name with `make`, then moves it in place. */
  const build = async (final: string, make: (tmp: string) => Promise<void>) => {
    await ready;
    const tmp = tmpOf(final.split('/').pop()!);
    try {
      await make(tmp);
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  };
  /** A sparse copy (a reflink where the filesystem has them). */
  const copy = async (from: string, to: string) => {
    const r = await run('cp', ['--sparse=always', '--reflink=auto', from, to]);
    if (r.code !== 0) throw new Error(`copy of ${from} failed: ${r.stderr.trim()}`);
  };
  const grow = async (file: string, sizeGb: number) => {
    if ((await stat(file)).size < sizeGb * GiB) await truncate(file, sizeGb * GiB);
  };
  return {
    name: 'file',
    async create(id, sizeGb) {
      await build(path(id), async (tmp) => {
        await (await open(tmp, 'w')).close();
        await truncate(tmp, sizeGb * GiB);
      });
    },
    async createFromImage(id, sizeGb, data, diskFormat) {
      await build(path(id), async (tmp) => {
        const raw = `${tmp}.src`;
        try {
          await pipeline(data, createWriteStream(raw));
          const fmt = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhd', 'vhdx'].includes(diskFormat) ? diskFormat.replace(/^vhd$/, 'vpc') : 'raw';
          await qemuImg(['convert', '-f', fmt, '-O', 'raw', '-S', '4k', raw, tmp]);
        } finally {
          await rm(raw, { force: true });
        }
        await grow(tmp, sizeGb);
      });
    },
    async clone(source, id, sizeGb) {
      const from = source.snapshotId ? join(snapDir, source.snapshotId) : path(source.volumeId!);
      await build(path(id), async (tmp) => {
        await copy(from, tmp);
        await grow(tmp, sizeGb);
      });
    },
    async extend(id, sizeGb) { await grow(path(id), sizeGb); },
    async delete(id) { await rm(path(id), { force: true }); },
    async snapshot(volumeId, snapshotId) {
      await build(join(snapDir, snapshotId), (tmp) => copy(path(volumeId), tmp));
    },
    async deleteSnapshot(snapshotId) { await rm(join(snapDir, snapshotId), { force: true }); },
    async read(id) { return createReadStream(path(id)); },
    connection: (id) => ({ driverVolumeType: 'file', path: path(id), format: 'raw' }),
    async capacity() {
      await ready;
      const s = await statfs(dir);
      return { totalGb: Math.floor((s.blocks * s.bsize) / GiB), freeGb: Math.floor((s.bavail * s.bsize) / GiB) };
    },
  };
}
