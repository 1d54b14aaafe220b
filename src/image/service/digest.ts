import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { HttpError } from '../../core/errors.js';
import type { HashJob, HashPool } from './hash-pool.js';

/** What a pass over image data learns: size, Glance's two hashes, and the first bytes. */
export interface Digest {
  size: number;
  /** md5 hex (Glance's `checksum`). */
  checksum: string;
  os_hash_algo: 'sha512';
  os_hash_value: string;
  /** The first HEADER_BYTES bytes (format detection). */
  header: Buffer;
}

const HEADER_BYTES = 512;

/** The data went over the size cap (Glance: 413). */
export class ImageTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, `The incoming image is too large: image size exceeds the limit of ${limit} bytes`);
  }
}

/**
 * A pass-through that hashes image data on the fly (md5 and sha512, as Glance), counts it,
 * keeps the header, and fails once more than `maxSize` bytes went by. With a HashPool the
 * hashing runs on worker threads beside the I/O; without, on this thread. Nothing is buffered
 * beyond the header and the pool's few in-flight buffers: the stream's backpressure applies.
 */
export class DigestStream extends Transform {
  private readonly job?: HashJob;
  private readonly md5?: Hash;
  private readonly sha512?: Hash;
  private size = 0;
  private readonly head: Buffer[] = [];
  private headLength = 0;
  private result?: Digest;

  constructor(private readonly maxSize = Number.MAX_SAFE_INTEGER, pool?: HashPool) {
    super({ readableHighWaterMark: 1024 * 1024, writableHighWaterMark: 1024 * 1024 });
    // What the pool does not hash happens here.
    if (pool) this.job = pool.job();
    if (!pool?.algorithms.includes('md5')) this.md5 = createHash('md5');
    if (!pool?.algorithms.includes('sha512')) this.sha512 = createHash('sha512');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxSize) {
      done(new ImageTooLargeError(this.maxSize));
      return;
    }
    if (this.headLength < HEADER_BYTES) {
      const part = chunk.subarray(0, HEADER_BYTES - this.headLength);
      this.head.push(Buffer.from(part));
      this.headLength += part.length;
    }
    this.md5?.update(chunk);
    this.sha512?.update(chunk);
    const wait = this.job?.update(chunk);
    if (wait) wait.then(() => done(null, chunk), (e: Error) => done(e));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const finish = (md5: string, sha512: string) => {
      this.result = { size: this.size, checksum: md5, os_hash_algo: 'sha512', os_hash_value: sha512, header: Buffer.concat(this.head) };
      done();
    };
    const local = { md5: this.md5?.digest('hex'), sha512: this.sha512?.digest('hex') };
    if (this.job) this.job.digest().then((d) => finish(local.md5 ?? d.md5, local.sha512 ?? d.sha512), (e: Error) => done(e));
    else finish(local.md5!, local.sha512!);
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    if (!this.result) this.job?.abort();
    done(err);
  }

  /** The digest, once the stream ended. */
  digest(): Digest {
    if (!this.result) throw new Error('digest read before the data ended');
    return this.result;
  }
}

/**
 * Virtual size of an image as its declared format tells (Glance reads the format it was told):
 * a qcow2 header's disk size (big-endian u64 at offset 24 after the "QFI\xfb" magic), the
 * data size for raw, unknown (null) otherwise.
 */
export function virtualSize(diskFormat: string | null, header: Buffer, size: number): number | null {
  if (diskFormat === 'qcow2' && header.length >= 32 && header.readUInt32BE(0) === 0x514649fb) {
    const v = header.readBigUInt64BE(24);
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  }
  if (diskFormat === 'raw') return size;
  return null;
}
