import { mkdirSync } from 'node:fs';
import { open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileAtomically } from '../../core/storage/atomic-file.js';
import { assertValidKey, BlobNotFoundError, type ByteRange, type ObjectStore } from './object-store.js';

const TMP = '.tmp';
const CHUNK = 1024 * 1024;

/**
 * Blobs as files under <dir>/<first two key chars>/<key>: written to `.tmp/<key>.<random>`,
 * fsynced, renamed into place, and the directory fsynced, so a crash leaves a whole blob or none.
 */
export class FileObjectStore implements ObjectStore {
  readonly type = 'file';

  constructor(private readonly dir: string) {
    mkdirSync(join(dir, TMP), { recursive: true, mode: 0o700 });
  }

  private path(key: string): string {
    assertValidKey(key);
    return join(this.dir, key.slice(0, 2), key);
  }

  async put(key: string, data: Readable, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    const tmp = join(this.dir, TMP, `${key}.${randomBytes(6).toString('hex')}`);
    return { size: await writeFileAtomically(data, tmp, this.path(key), opts) };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const fh = await open(this.path(key), 'r').catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new BlobNotFoundError(key) : e;
    });
    return fh.createReadStream({ start: range?.start, end: range?.end, highWaterMark: CHUNK, autoClose: true });
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.path(key))).size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.path(key));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async list(): Promise<string[]> {
    const keys: string[] = [];
    for (const d of await readdir(this.dir, { withFileTypes: true })) {
      if (!d.isDirectory() || d.name.startsWith('.')) continue;
      for (const f of await readdir(join(this.dir, d.name), { withFileTypes: true })) if (f.isFile()) keys.push(f.name);
    }
    return keys;
  }

  async cleanup(): Promise<number> {
    const leftovers = await readdir(join(this.dir, TMP));
    await Promise.all(leftovers.map((n) => rm(join(this.dir, TMP, n), { force: true })));
    return leftovers.length;
  }
}
