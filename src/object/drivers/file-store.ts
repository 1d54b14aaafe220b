import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeFileAtomically } from '../../core/storage/atomic-file.js';
import { assertValidKey, BlobNotFoundError, type ByteRange, type ObjectStore } from './object-store.js';
import { SmallBlobs } from './small-blobs.js';

const TMP = '.tmp';
const CHUNK = 1024 * 1024;
/**
 * Blobs up to this size (as the caller announces it) are rows of SmallBlobs, read whole
 * (one network chunk) before they are written.
 */
const SMALL = 64 * 1024;

/**
 * Large blobs (or of unknown size) as files under <dir>/<first two key chars>/<key>, streamed
 * through the shared atomic writer (temporary file, fsync, rename, directory fsync), so a
 * crash leaves a whole blob or none. Small ones (the caller announces the size) as rows of
 * SmallBlobs in <dir>/small.sqlite: for them the number of flushes is what counts.
 */
export class FileObjectStore implements ObjectStore {
  readonly type = 'file';
  private readonly small: SmallBlobs;

  constructor(private readonly dir: string) {
    mkdirSync(join(dir, TMP), { recursive: true, mode: 0o700 });
    this.small = new SmallBlobs(join(dir, 'small.sqlite'));
  }

  private path(key: string): string {
    assertValidKey(key);
    return join(this.dir, key.slice(0, 2), key);
  }

  async put(key: string, data: Readable, opts: { signal?: AbortSignal; size?: number } = {}): Promise<{ size: number }> {
    const final = this.path(key);
    if (opts.size === undefined || opts.size > SMALL) {
      return { size: await writeFileAtomically(data, join(this.dir, TMP, randomBytes(12).toString('hex')), final, opts) };
    }
    const body = await readSmall(data, opts.size, opts.signal);
    await this.small.put(key, body);
    return { size: body.length };
  }

  /** A small blob's bytes (all, or a range), or undefined when the key is not a small blob. */
  private smallBytes(key: string, range?: ByteRange): Buffer | undefined {
    assertValidKey(key);
    const data = this.small.get(key);
    if (!data || !range) return data;
    if (range.end >= data.length) throw new Error(`blob '${key}' is shorter than ${range.end + 1} bytes`);
    return data.subarray(range.start, range.end + 1);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const small = this.smallBytes(key, range);
    if (small) return Readable.from([small], { objectMode: false });
    const fh = await open(this.path(key), 'r').catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new BlobNotFoundError(key) : e;
    });
    return fh.createReadStream({ start: range?.start, end: range?.end, highWaterMark: CHUNK, autoClose: true });
  }

  /**
   * Synchronous, like the SQLite reads beside it: a small read is mostly a page-cache copy,
   * and done in place it saves the two thread-pool round trips (open, read) that cost a GET
   * more than everything else on a busy machine; callers keep it to small ranges.
   */
  async getBytes(key: string, range: ByteRange): Promise<Buffer> {
    const small = this.smallBytes(key, range);
    if (small) return small;
    let fd: number;
    try {
      fd = openSync(this.path(key), 'r');
    } catch (e) {
      throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? new BlobNotFoundError(key) : e;
    }
    try {
      const buf = Buffer.allocUnsafe(range.end - range.start + 1);
      if (readSync(fd, buf, 0, buf.length, range.start) !== buf.length) throw new Error(`blob '${key}' is shorter than ${range.end + 1} bytes`);
      return buf;
    } finally {
      closeSync(fd);
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    assertValidKey(key);
    const size = this.small.size(key);
    if (size !== undefined) return { size };
    try {
      return { size: (await stat(this.path(key))).size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key);
    if (this.small.delete(key)) return true;
    try {
      await unlink(this.path(key));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async list(): Promise<string[]> {
    const keys = this.small.keys();
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

  async close(): Promise<void> {
    this.small.close();
  }
}

/**
 * A small body read whole. By hand rather than with pipeline(): pipeline aborts an internal
 * AbortController when it ends, whose DOMException cost more than the rest of this read.
 */
function readSmall(data: Readable, max: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const fail = (e: unknown) => {
      signal?.removeEventListener('abort', aborted);
      data.destroy();
      reject(e);
    };
    const aborted = () => fail(signal?.reason ?? new Error('aborted'));
    if (signal?.aborted) return aborted();
    signal?.addEventListener('abort', aborted, { once: true });
    data.on('data', (c: Buffer) => {
      got += c.length;
      if (got > max) fail(new Error(`more than the announced ${max} bytes`));
      else chunks.push(c);
    });
    data.once('error', fail);
    data.once('end', () => {
      signal?.removeEventListener('abort', aborted);
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, got));
    });
  });
}
