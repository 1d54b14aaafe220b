// Shared by the benchmarks: generated data, the disk's own speed, RSS sampling, downloads.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { rssMiB } from '../test/helpers/process.js';

export const BLOCK = 1024 * 1024;
/** MB/s (10^6 bytes per second, as dd). */
export const mbps = (bytes: number, ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

/** Samples a process's RSS every 50 ms while a phase runs; returns the peak. */
export async function sampled<T>(pid: number, phase: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssMiB(pid) ?? 0;
  const timer = setInterval(() => { peak = Math.max(peak, rssMiB(pid) ?? 0); }, 50);
  try {
    const result = await phase();
    peak = Math.max(peak, rssMiB(pid) ?? 0);
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

/** `size` bytes of varied data, generated on the fly from a few random blocks. */
export function generated(size: number): Readable {
  const blocks = Array.from({ length: 8 }, () => randomBytes(BLOCK));
  let sent = 0;
  let i = 0;
  return new Readable({
    highWaterMark: 4 * BLOCK,
    read() {
      if (sent >= size) return void this.push(null);
      const b = blocks[i++ % blocks.length];
      const part = size - sent >= b.length ? b : b.subarray(0, size - sent);
      sent += part.length;
      this.push(part);
    },
  });
}

/** The disk's own sequential write speed: `size` bytes in 1 MiB writes, then fsync. */
export async function diskWrite(dir: string, size: number): Promise<number> {
  const file = join(dir, 'disk-baseline.bin');
  const blocks = Array.from({ length: 8 }, () => randomBytes(BLOCK));
  const t0 = performance.now();
  const fh = await open(file, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += BLOCK, i++) await fh.write(blocks[i % blocks.length], 0, Math.min(BLOCK, size - off));
    await fh.sync();
  } finally {
    await fh.close();
  }
  const ms = performance.now() - t0;
  await unlink(file);
  return ms;
}

/** Streams a download and drops it, counting bytes. */
export function download(url: string, token: string): Promise<number> {
  return new Promise((res, rej) => {
    http.get(url, { headers: { 'x-auth-token': token } }, (r) => {
      if (r.statusCode !== 200) return rej(new Error(`download: HTTP ${r.statusCode}`));
      let n = 0;
      r.on('data', (c: Buffer) => { n += c.length; });
      r.on('end', () => res(n));
      r.on('error', rej);
    }).on('error', rej);
  });
}


/** One request; the body (a stream or a string) is sent whole, the answer read whole. */
export function request(method: string, url: string, headers: Record<string, string>, body?: Readable | string | Buffer, agent?: http.Agent): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((res, rej) => {
    const req = http.request(url, { method, headers, agent }, (r) => {
      const parts: Buffer[] = [];
      r.on('data', (c: Buffer) => parts.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, text: Buffer.concat(parts).toString(), headers: r.headers }));
      r.on('error', rej);
    });
    req.on('error', rej);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}
