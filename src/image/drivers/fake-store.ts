import { Readable } from 'node:stream';
import { assertValidKey, StoreNotFoundError, type ByteRange, type ImageStore } from './image-store.js';

/**
 * FAKE store: objects in memory, lost on restart. For tests that do not care where bytes go;
 * never the default. It keeps the real contract: a failed write leaves nothing.
 */
export class FakeStore implements ImageStore {
  readonly type = 'fake';
  readonly properties = { fake: true };
  private readonly objects = new Map<string, Buffer>();

  constructor(readonly id: string, readonly description = 'FAKE in-memory store (tests only)') {}

  async put(key: string, data: Readable, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    assertValidKey(key);
    const chunks: Buffer[] = [];
    for await (const chunk of data) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    const all = Buffer.concat(chunks);
    this.objects.set(key, all);
    return { size: all.length };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const obj = this.objects.get(key);
    if (!obj) throw new StoreNotFoundError(key);
    return Readable.from([range ? obj.subarray(range.start, range.end + 1) : obj]);
  }

  async stat(key: string) {
    const obj = this.objects.get(key);
    return obj ? { size: obj.length } : undefined;
  }

  async delete(key: string) {
    return this.objects.delete(key);
  }

  async list() {
    return [...this.objects.keys()];
  }

  async cleanup() {
    return 0;
  }

  url(key: string) {
    return `fake://${this.id}/${key}`;
  }
}
