// A hashing thread of the image service: keeps one hash per job and digests the shared
// buffers the main thread hands it, so md5 and sha512 of an upload run beside the I/O.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

type Msg =
  | { op: 'begin'; job: number; algo: string }
  | { op: 'update'; job: number; buf: SharedArrayBuffer; len: number; slot: number }
  | { op: 'end'; job: number }
  | { op: 'abort'; job: number };

const jobs = new Map<number, { hash: Hash; algo: string }>();
const port = parentPort!;

port.on('message', (m: Msg) => {
  switch (m.op) {
    case 'begin':
      jobs.set(m.job, { hash: createHash(m.algo), algo: m.algo });
      break;
    case 'update':
      jobs.get(m.job)?.hash.update(new Uint8Array(m.buf, 0, m.len));
      port.postMessage({ op: 'ack', job: m.job, slot: m.slot });
      break;
    case 'end': {
      const h = jobs.get(m.job);
      jobs.delete(m.job);
      port.postMessage({ op: 'digest', job: m.job, algo: h?.algo, hex: h ? h.hash.digest('hex') : null });
      break;
    }
    case 'abort':
      jobs.delete(m.job);
      break;
  }
});
