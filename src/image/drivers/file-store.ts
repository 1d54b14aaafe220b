import { mkdirSync } from 'node:fs';
import { open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileAtomically } from '../../core/storage/atomic-file.js';
import { assertValidKey, StoreNotFoundError, type ByteRange, type ImageStore } from './image-store.js';

const TMP = '.tmp';
const CHUNK = 1024 * 1024;

/**
 * Objects as files in one directory: written to `.tmp/<key>.<random>`, fsynced, renamed into
 * place, and the directory fsynced, so a crash leaves the old object or the new one, never part.
 */
export class FileStore implements ImageStore {
  readonly type = 'file';
  readonly properties: Record<string, unknown>;

  constructor(readonly id: string, private readonly dir: string, readonly description = 'Files in the data directory') {
    mkdirSync(join(dir, TMP), { recursive: true, mode: 0o700 });
    this.properties = { data_dir: dir, chunk_size: CHUNK, thin_provisioning: false };
  }

  private path(key: string): string {
    assertValidKey(key);
    return join(this.dir, key);
  }

  async put(key: string, data: Readable, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    const tmp = join(this.dir, TMP, `${key}.${randomBytes(6).toString('hex')}`);
    return { size: await writeFileAtomically(data, tmp, this.path(key), opts) };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const p = this.path(key);
    // Open first, so a missing file is an error here and not in the middle of a response.
    const fh = await open(p, 'r').catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new StoreNotFoundError(key) : e;
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
    const entries = await readdir(this.dir, { withFileTypes: true });
    return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name);
  }

  async cleanup(): Promise<number> {
    const leftovers = await readdir(join(this.dir, TMP));
    await Promise.all(leftovers.map((n) => rm(join(this.dir, TMP, n), { force: true })));
    return leftovers.length;
  }

  url(key: string): string {
    return `file://${this.path(key)}`;
  }
}
