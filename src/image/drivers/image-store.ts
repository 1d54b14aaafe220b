import type { Readable } from 'node:stream';

/** An inclusive byte range, as HTTP Range counts. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where image data lives. Writes are atomic: a reader (or a restarted process) sees a whole
 * object or none; a write that fails or is interrupted leaves nothing under its key (at most a
 * temporary file that cleanup() removes). Keys are chosen by the caller and never contain '/'.
 * Drivers know nothing of images, statuses or the database: the image service decides.
 */
export interface ImageStore {
  /** Store id as Glance's multi-store API shows it ('file', ...). */
  readonly id: string;
  /** Driver type for /v2/info/stores/detail ('file', 'fake', later 'swift'/'rbd'). */
  readonly type: string;
  readonly description: string;
  /** Properties /v2/info/stores/detail shows for this store. */
  readonly properties: Record<string, unknown>;
  /**
   * Writes a stream under `key`, replacing what was there, and returns the bytes written.
   * Rejects (leaving nothing) when the stream errors or `signal` aborts.
   */
  put(key: string, data: Readable, opts?: { signal?: AbortSignal }): Promise<{ size: number }>;
  /** Streams an object's bytes (all, or an inclusive range); throws StoreNotFoundError. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** The object's size, or undefined when there is none. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Removes an object; false when there was none. */
  delete(key: string): Promise<boolean>;
  /** Every complete object's key (reconciliation compares them with the database). */
  list(): Promise<string[]>;
  /** Removes what interrupted writes left behind; returns how many leftovers went. */
  cleanup(): Promise<number>;
  /** The location URL Glance would show for an object (file:///..., fake://...). */
  url(key: string): string;
}

export class StoreNotFoundError extends Error {
  constructor(key: string) {
    super(`no data stored under '${key}'`);
    this.name = 'StoreNotFoundError';
  }
}

/** Keys are file names: no separators, no dot files, bounded length. */
export function assertValidKey(key: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(key)) throw new Error(`invalid store key '${key}'`);
}
