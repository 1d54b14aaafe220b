import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const CHUNK = 1024 * 1024;

/**
 * Streams data into `tmp`, fsyncs it, renames it to `final` and fsyncs the directory, so a
 * crash leaves the old file or the new one, never part of it. On any failure (the stream
 * errors, `signal` aborts) the temporary file is removed and the error rethrown. Returns
 * the bytes written. Shared by the image and object file stores.
 */
export async function writeFileAtomically(data: Readable, tmp: string, final: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: CHUNK });
  try {
    await pipeline(data, out, { signal: opts.signal });
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await mkdir(dirname(final), { recursive: true, mode: 0o700 });
    await rename(tmp, final);
    await syncDir(dirname(final));
    return out.bytesWritten;
  } catch (e) {
    out.destroy();
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
