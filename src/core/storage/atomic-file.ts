import { createWriteStream, fdatasync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const CHUNK = 1024 * 1024;
/**
 * Bytes between early fdatasyncs. Without them the kernel starts writing a large file back
 * only at the final fsync (or when gigabytes are dirty), so an upload took its receive time
 * plus the whole disk write; with them the disk works while the data still arrives (as
 * Swift's mb_per_sync).
 */
const SYNC_EVERY = 8 * 1024 * 1024;

/**
 * Streams data into `tmp`, fsyncs it, renames it to `final` and fsyncs the directory, so a
 * crash leaves the old file or the new one, never part of it. On any failure (the stream
 * errors, `signal` aborts) the temporary file is removed and the error rethrown. Returns
 * the bytes written. Shared by the image and object file stores.
 */
export async function writeFileAtomically(data: Readable, tmp: string, final: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
  // flush: the stream fsyncs the file before it closes it (the pipeline waits for that close)
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: CHUNK, flush: true });
  let fd: number | undefined;
  out.once('open', (n: number) => { fd = n; });
  let syncing: Promise<void> | undefined;
  let syncError: unknown;
  let unsynced = 0;
  const early = new Transform({
    transform(chunk: Buffer, _enc, done) {
      unsynced += chunk.length;
      // Queued before the stream's last writes, its fsync and its close, so the fd is still open.
      if (unsynced >= SYNC_EVERY && !syncing && fd !== undefined) {
        unsynced = 0;
        // An error here is kept and thrown: a later fsync on the same file may not report it again.
        syncing = new Promise<void>((resolve) => fdatasync(fd!, (e) => {
          if (e) syncError ??= e;
          syncing = undefined;
          resolve();
        }));
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(data, early, out, { signal: opts.signal });
    await syncing;
    if (syncError) throw syncError;
    await mkdir(dirname(final), { recursive: true, mode: 0o700 });
    await rename(tmp, final);
    await syncDir(dirname(final));
    return out.bytesWritten;
  } catch (e) {
    out.destroy();
    await syncing;
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** fsyncs a directory (a rename in it is durable afterwards). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
