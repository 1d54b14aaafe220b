import type { Readable } from 'node:stream';

/** An inclusive byte range, as HTTP Range counts. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where object bytes live, for every protocol front end (Swift now, S3 later). Writes are
 * atomic: a reader, or a restarted process, sees a whole blob under a key or none; a failed
 * or interrupted write leaves at most a temporary file that cleanup() removes. Keys are chosen
 * by the caller (random, [A-Za-z0-9_-]) and never reused; drivers know nothing of accounts,
 * containers or the database.
 */
export interface ObjectStore {
  /** Driver type ('file', 'fake'). */
  readonly type: string;
  /**
   * Writes a stream under a new key; returns the bytes written. Rejects, leaving nothing, on
   * error or abort. `size` is the length the caller expects, when known (a hint for the driver).
   */
  put(key: string, data: Readable, opts?: { signal?: AbortSignal; size?: number }): Promise<{ size: number }>;
  /** Streams a blob (all, or an inclusive range); throws BlobNotFoundError. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Reads a (small) range whole, in one go; throws BlobNotFoundError, or when the blob is shorter. */
  getBytes(key: string, range: ByteRange): Promise<Buffer>;
  /** The blob's size, or undefined when there is none. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Removes a blob; false when there was none. */
  delete(key: string): Promise<boolean>;
  /** Every complete blob's key (reconciliation compares them with the database). */
  list(): Promise<string[]>;
  /** Removes what interrupted writes left behind; returns how many leftovers went. */
  cleanup(): Promise<number>;
  /** Releases what the driver holds open (the service is stopping). */
  close(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  constructor(key: string) {
    super(`no data stored under '${key}'`);
    this.name = 'BlobNotFoundError';
  }
}

export function assertValidKey(key: string): void {
  if (!/^[A-Za-z0-9_-]{4,200}$/.test(key)) throw new Error(`invalid blob key '${key}'`);
}
