import { close, closeSync, constants, createWriteStream, fsync, mkdirSync, open as openFd, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { writeFileAtomically } from '../../core/storage/atomic-file.js';
import { assertValidKey, BlobNotFoundError, type ByteRange, type ObjectStore } from './object-store.js';

const TMP = '.tmp';
const CHUNK = 1024 * 1024;
/** Blobs up to this size (as the caller announces) take the small-write path. */
const SMALL = 64 * 1024;
const { O_WRONLY, O_CREAT, O_EXCL, O_DSYNC } = constants;

interface Temp { fd: number; path: string }
const openP = promisify(openFd);
const fsyncP = promisify(fsync);
const closeP = promisify(close);

/**
 * Blobs as files under <dir>/<first two key chars>/<key>: written to `.tmp/<random>`, made
 * durable, renamed into place, and the directory fsynced, so a crash leaves a whole blob or none.
 *
 * Large blobs (or of unknown size) stream through the shared atomic writer. For small ones
 * (the caller announces the size) the number of file-system calls is what counts: each is a
 * round trip through libuv's thread pool, and on a busy machine every round trip waits for a
 * CPU. So a small blob goes into a temporary file opened ahead (while the previous small write
 * went on; an empty leftover after a crash is removed with the other temporary files at
 * start-up) with O_DSYNC, so its write returns only once the data is on disk (what write +
 * fdatasync would ensure, without the extra call); the file is closed while it is renamed, and
 * the shard directory is fsynced through a descriptor kept open (at most 256 of them).
 */
export class FileObjectStore implements ObjectStore {
  readonly type = 'file';
  private readonly shards = new Map<string, Promise<number>>();
  /** The next small write's temporary file (O_DSYNC), opened while the previous one went on. */
  private spare?: Promise<Temp>;
  private closed = false;

  constructor(private readonly dir: string) {
    mkdirSync(join(dir, TMP), { recursive: true, mode: 0o700 });
  }

  private path(key: string): string {
    assertValidKey(key);
    return join(this.dir, key.slice(0, 2), key);
  }

  /** An open descriptor of a shard directory (created on first use), for fsyncing renames into it. */
  private shard(name: string): Promise<number> {
    let fd = this.shards.get(name);
    if (!fd) {
      const dir = join(this.dir, name);
      fd = mkdir(dir, { recursive: true, mode: 0o700 }).then(() => openP(dir, 'r'));
      fd.catch(() => this.shards.delete(name));
      this.shards.set(name, fd);
    }
    return fd;
  }

  private async openTemp(): Promise<Temp> {
    const path = join(this.dir, TMP, randomBytes(12).toString('hex'));
    return { path, fd: await openP(path, O_WRONLY | O_CREAT | O_EXCL | O_DSYNC, 0o600) };
  }

  /** A temporary file for a small write: the spare, replaced at once by the next one. */
  private smallTemp(): Promise<Temp> {
    const taken = this.spare;
    this.spare = this.closed ? undefined : this.openTemp();
    this.spare?.catch(() => undefined); // a failed spare is retried by the write that takes it
    return taken ? taken.catch(() => this.openTemp()) : this.openTemp();
  }

  async put(key: string, data: Readable, opts: { signal?: AbortSignal; size?: number } = {}): Promise<{ size: number }> {
    const final = this.path(key);
    if (opts.size === undefined || opts.size > SMALL) {
      // Large or of unknown size: the streaming writer (a few more round trips do not count).
      return { size: await writeFileAtomically(data, join(this.dir, TMP, randomBytes(12).toString('hex')), final, opts) };
    }
    // While the file opens, an error of the stream stays on it (the pipeline reports it) instead of going uncaught.
    const held = () => undefined;
    data.on('error', held);
    const { fd, path: tmp } = await this.smallTemp().catch((e: unknown) => {
      data.off('error', held).destroy();
      throw e;
    });
    let closed = false;
    try {
      const out = createWriteStream('', { fd, autoClose: false, emitClose: false });
      const piped = pipeline(data, out, { signal: opts.signal });
      data.off('error', held);
      // O_DSYNC: once the writes return, the data is on disk, before its name is.
      await piped;
      const dirFd = await this.shard(key.slice(0, 2));
      closed = true;
      await Promise.all([closeP(fd), rename(tmp, final)]);
      // The rename is durable before the caller writes the row that makes the object visible.
      await fsyncP(dirFd);
      return { size: out.bytesWritten };
    } catch (e) {
      if (!closed) await closeP(fd).catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
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

  async close(): Promise<void> {
    this.closed = true;
    const spare = await this.spare?.catch(() => undefined);
    this.spare = undefined;
    if (spare) await closeP(spare.fd).then(() => unlink(spare.path)).catch(() => undefined);
    const fds = [...this.shards.values()];
    this.shards.clear();
    await Promise.all(fds.map((fd) => fd.then(closeP, () => undefined)));
  }
}
