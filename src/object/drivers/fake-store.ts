import { Readable } from 'node:stream';
import { assertValidKey, BlobNotFoundError, type ByteRange, type ObjectStore } from './object-store.js';

/** Blobs in memory (tests only; labelled 'fake'). Same contract as the file store. */
export class FakeObjectStore implements ObjectStore {
  readonly type = 'fake';
  private readonly blobs = new Map<string, Buffer>();

  async put(key: string, data: Readable, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    assertValidKey(key);
    const chunks: Buffer[] = [];
    for await (const c of data) {
      if (opts.signal?.aborted) throw new Error('aborted');
      chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
    }
    const buf = Buffer.concat(chunks);
    this.blobs.set(key, buf);
    return { size: buf.length };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const buf = this.blobs.get(key);
    if (!buf) throw new BlobNotFoundError(key);
    return Readable.from([range ? buf.subarray(range.start, range.end + 1) : buf]);
  }

  async getBytes(key: string, range: ByteRange): Promise<Buffer> {
    const buf = this.blobs.get(key);
    if (!buf) throw new BlobNotFoundError(key);
    if (range.end >= buf.length) throw new Error(`blob '${key}' is shorter than ${range.end + 1} bytes`);
    return Buffer.from(buf.subarray(range.start, range.end + 1));
  }

  async stat(key: string) {
    const buf = this.blobs.get(key);
    return buf ? { size: buf.length } : undefined;
  }

  async delete(key: string) {
    return this.blobs.delete(key);
  }

  async list() {
    return [...this.blobs.keys()];
  }

  async cleanup() {
    return 0;
  }

  async close() {}
}
