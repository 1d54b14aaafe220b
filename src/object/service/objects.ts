import { createHash, randomUUID } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeRequestBody } from '../../core/http/request-body.js';
import type { Logger } from '../../core/logger.js';
import type { ObjectRepo, ObjectRow } from '../db/repo.js';
import type { ByteRange, ObjectStore } from '../drivers/object-store.js';

/** Objects up to this size are read whole into memory (in one synchronous read) to answer a GET. */
const SMALL_READ = 64 * 1024;

/** Where an object is. */
export interface ObjectLoc { account: string; container: string; name: string }

/** The body was larger than allowed (file size limit or a quota). */
export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`object larger than ${limit} bytes`);
  }
}
/** The body ended before Content-Length bytes came (client gone). */
export class IncompleteBodyError extends Error {}
/** The MD5 of the data is not the ETag the client promised. */
export class EtagMismatchError extends Error {}

/** Hashes (MD5, Swift's ETag) and counts the bytes going by, failing past a limit. */
class Md5Counter extends Transform {
  readonly hash = createHash('md5');
  size = 0;
  constructor(private readonly max: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.max) return done(new TooLargeError(this.max));
    this.hash.update(chunk);
    done(null, chunk);
  }
}

export interface WriteOptions {
  contentType: string;
  headers: Record<string, string>;
  deleteAt: number | null;
  /** Bytes allowed (file size limit, quotas). */
  maxBytes: number;
  /** Content-Length the client announced, if any. */
  expectedLength?: number;
  /** The client's ETag header (md5 hex), checked after the data is in. */
  expectedEtag?: string;
  /** Overrides the stored ETag (SLO manifests store the hash of their segment etags). */
  etagOverride?: (md5: string) => string;
}

/**
 * Object data and metadata for every protocol front end: bytes go to the ObjectStore under a
 * fresh key (temp + fsync + rename), then the row is written; a replaced blob is removed after
 * the row commits. A crash in between leaves an unreferenced blob that start-up removes.
 */
export class ObjectData {
  private lastTs = 0;

  constructor(readonly repo: ObjectRepo, readonly store: ObjectStore, private readonly logger: Logger) {}

  /** A Swift X-Timestamp, strictly increasing within this process. */
  timestamp(): string {
    let t = Math.round(Date.now() * 100) / 100000;
    if (t <= this.lastTs) t = Math.round((this.lastTs + 0.00001) * 100000) / 100000;
    this.lastTs = t;
    return t.toFixed(5);
  }

  async write(loc: ObjectLoc, body: Readable, opts: WriteOptions): Promise<ObjectRow> {
    const key = randomUUID().replaceAll('-', '');
    const counter = new Md5Counter(opts.maxBytes);
    const { size } = await this.store.put(key, pipeRequestBody(body, counter, () => new IncompleteBodyError('the request body ended early')), { size: opts.expectedLength });
    try {
      if (opts.expectedLength !== undefined && size !== opts.expectedLength) throw new IncompleteBodyError('the request body ended early');
      const md5 = counter.hash.digest('hex');
      if (opts.expectedEtag !== undefined && opts.expectedEtag.replaceAll('"', '').toLowerCase() !== md5) throw new EtagMismatchError();
      const ts = this.timestamp();
      const row: ObjectRow = {
        ...loc, size, etag: opts.etagOverride ? opts.etagOverride(md5) : md5, content_type: opts.contentType, timestamp: ts,
        modified_ms: Math.round(Number(ts) * 1000), headers: JSON.stringify(opts.headers), data_key: key, delete_at: opts.deleteAt,
      };
      const old = await this.repo.putObject(row);
      if (old) await this.store.delete(old).catch((e) => this.logger.warn({ err: e, key: old }, 'could not remove a replaced blob'));
      return row;
    } catch (e) {
      await this.store.delete(key).catch(() => undefined);
      throw e;
    }
  }

  read(row: ObjectRow, range?: ByteRange): Promise<Readable> {
    return this.store.get(row.data_key, range);
  }

  /** A small object's bytes in one read (undefined for a larger one): cheaper to answer with than a stream. */
  async readSmall(row: ObjectRow): Promise<Buffer | undefined> {
    const size = Number(row.size);
    if (size > SMALL_READ) return undefined;
    return size === 0 ? Buffer.alloc(0) : this.store.getBytes(row.data_key, { start: 0, end: size - 1 });
  }

  async remove(loc: ObjectLoc): Promise<ObjectRow | undefined> {
    const old = await this.repo.deleteObject(loc.account, loc.container, loc.name);
    if (old) await this.store.delete(old.data_key).catch((e) => this.logger.warn({ err: e }, 'could not remove a deleted blob'));
    return old;
  }

  /** Deletes objects whose X-Delete-At passed (Swift's object expirer). */
  async expire(): Promise<number> {
    let n = 0;
    for (const row of await this.repo.expired(Date.now())) {
      const old = await this.repo.deleteObject(row.account, row.container, row.name, row.data_key);
      if (old) {
        await this.store.delete(old.data_key).catch(() => undefined);
        n++;
      }
    }
    return n;
  }

  /** Start-up: removes temporary files and every blob no row references. */
  async reconcile(): Promise<{ leftovers: number; orphans: string[] }> {
    const leftovers = await this.store.cleanup();
    const live = await this.repo.dataKeys();
    const orphans: string[] = [];
    for (const key of await this.store.list()) {
      if (!live.has(key)) {
        await this.store.delete(key);
        orphans.push(key);
      }
    }
    if (leftovers || orphans.length) this.logger.warn({ leftovers, orphans: orphans.length }, 'object store reconciled after an unclean stop');
    return { leftovers, orphans };
  }
}
