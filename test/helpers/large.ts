import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';

/** The large-data tests (1 GiB round trips) run only with NUBO_TEST_LARGE=1 or in CI. */
export const LARGE_ENABLED = process.env.NUBO_TEST_LARGE === '1' || !!process.env.CI;
export const LARGE_SKIP = LARGE_ENABLED ? false : 'set NUBO_TEST_LARGE=1 (or CI) to run';

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Writes `size` bytes (a multiple of 1 MiB) of varied data (a random block, altered per MiB) to a file. */
export async function writeGeneratedFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path, { highWaterMark: 4 * 1024 * 1024 });
  const block = randomBytes(1024 * 1024);
  for (let i = 0; i < size / block.length; i++) {
    block.writeUInt32BE(i, 0);
    if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}
