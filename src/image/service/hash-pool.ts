import { Worker } from 'node:worker_threads';

const SLOT = 1024 * 1024;
const SLOTS = 8;

type Reply = { op: 'ack'; job: number; slot: number } | { op: 'digest'; job: number; algo?: string; hex: string | null };

/**
 * Hashing beside the I/O: each algorithm has its own worker thread, fed 1 MiB shared buffers
 * (one copy, no transfer), so an upload's md5 and sha512 run in parallel with the socket and
 * the disk instead of one after the other on the event loop. At most SLOTS buffers per job
 * are in flight, which is the only memory an upload holds and its backpressure.
 */
export class HashPool {
  private workers = new Map<string, Worker>();
  private handlers = new Map<number, (r: Reply) => void>();
  private nextJob = 1;
  private failure?: Error;

  constructor(readonly algorithms: string[]) {}

  private worker(algo: string): Worker {
    let w = this.workers.get(algo);
    if (!w) {
      w = new Worker(new URL('./hash-worker.js', import.meta.url));
      w.unref();
      w.on('message', (r: Reply) => this.handlers.get(r.job)?.(r));
      w.on('error', (e) => {
        this.failure = e;
        this.workers.delete(algo);
        for (const h of this.handlers.values()) h({ op: 'digest', job: -1, hex: null });
      });
      this.workers.set(algo, w);
    }
    return w;
  }

  /** Starts hashing one stream of data with every algorithm of the pool. */
  job(): HashJob {
    const id = this.nextJob++;
    const workers = this.algorithms.map((a) => {
      const w = this.worker(a);
      w.postMessage({ op: 'begin', job: id, algo: a });
      return w;
    });
    const job = new HashJob(id, this.algorithms, workers, () => this.handlers.delete(id), () => this.failure);
    this.handlers.set(id, (r) => job.receive(r));
    return job;
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.terminate()));
    this.workers.clear();
  }
}

/** One stream being hashed: update() as data goes by, digest() at its end. */
export class HashJob {
  private readonly slots = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT));
  /** Buffer views of the slots: Buffer.copy is a plain memcpy. */
  private readonly views = this.slots.map((s) => Buffer.from(s));
  private readonly pending = new Map<number, number>();
  private free: number[] = [...Array(SLOTS).keys()];
  private waiters: (() => void)[] = [];
  private current = -1;
  private fill = 0;
  private digests = new Map<string, string>();
  private finished?: { resolve: (d: Record<string, string>) => void; reject: (e: Error) => void };
  private failed?: Error;

  constructor(
    private readonly id: number,
    private readonly algorithms: string[],
    private readonly workers: Worker[],
    private readonly release: () => void,
    private readonly failure: () => Error | undefined,
  ) {}

  receive(r: Reply): void {
    if (r.op === 'ack') {
      const left = (this.pending.get(r.slot) ?? 1) - 1;
      if (left > 0) this.pending.set(r.slot, left);
      else {
        this.pending.delete(r.slot);
        this.free.push(r.slot);
        this.waiters.shift()?.();
      }
      return;
    }
    if (r.hex === null || r.job === -1 || !r.algo) {
      this.failed = this.failure() ?? new Error('hashing failed');
      this.finished?.reject(this.failed);
      this.waiters.splice(0).forEach((w) => w());
      return;
    }
    this.digests.set(r.algo, r.hex);
    if (this.digests.size === this.algorithms.length) {
      this.release();
      this.finished?.resolve(Object.fromEntries(this.digests));
    }
  }

  private dispatch(): void {
    if (this.current < 0 || this.fill === 0) return;
    const slot = this.current;
    this.pending.set(slot, this.workers.length);
    for (const w of this.workers) w.postMessage({ op: 'update', job: this.id, buf: this.slots[slot], len: this.fill, slot });
    this.current = -1;
    this.fill = 0;
  }

  private async slot(): Promise<void> {
    while (!this.free.length) {
      if (this.failed) throw this.failed;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    this.current = this.free.shift()!;
    this.fill = 0;
  }

  /**
   * Copies a chunk into shared buffers, handing full ones to the workers. Returns a promise
   * only when it has to wait for a free buffer (most chunks need none: no microtask for them).
   */
  update(chunk: Buffer): Promise<void> | undefined {
    let off = 0;
    while (off < chunk.length) {
      if (this.current < 0) {
        if (this.failed) return Promise.reject(this.failed);
        if (!this.free.length) return this.slot().then(() => this.update(chunk.subarray(off)));
        this.current = this.free.shift()!;
        this.fill = 0;
      }
      const n = chunk.copy(this.views[this.current], this.fill, off, Math.min(chunk.length, off + SLOT - this.fill));
      this.fill += n;
      off += n;
      if (this.fill === SLOT) this.dispatch();
    }
    return undefined;
  }

  /** The hex digest of every algorithm, once the workers have seen all the data. */
  digest(): Promise<Record<string, string>> {
    if (this.failed) return Promise.reject(this.failed);
    this.dispatch();
    return new Promise((resolve, reject) => {
      this.finished = { resolve, reject };
      for (const w of this.workers) w.postMessage({ op: 'end', job: this.id });
    });
  }

  abort(): void {
    for (const w of this.workers) w.postMessage({ op: 'abort', job: this.id });
    this.release();
  }
}
