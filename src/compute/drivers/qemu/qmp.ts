import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

/**
 * A small QMP client: one unix-socket connection, the capabilities handshake, commands with
 * a timeout, and events (emitted as 'event' with { event, data, timestamp }).
 * QEMU's QMP socket serves one client at a time, so callers keep connections short
 * (see `qmpExecute`) instead of holding one open per guest.
 */

export interface QmpEvent { event: string; data?: Record<string, unknown>; timestamp?: unknown }

export class QmpError extends Error {
  override name = 'QmpError';
  constructor(readonly command: string, readonly qmpClass: string, desc: string) {
    super(`QMP ${command}: ${qmpClass}: ${desc}`);
  }
}

interface Pending { command: string; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class QmpClient extends EventEmitter {
  private buf = '';
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly sock: Socket) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => this.fail(new Error('QMP connection closed')));
    sock.on('error', (e) => this.fail(e));
  }

  /** Connects and negotiates capabilities; rejects after `timeoutMs`. */
  static connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      let greeted = false;
      let early = '';
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`QMP ${path}: no greeting in ${timeoutMs} ms`)); }, timeoutMs);
      const onError = (e: Error) => { clearTimeout(timer); reject(e); };
      sock.once('error', onError);
      // The greeting comes first; anything after it is handed to the client.
      const onData = (d: Buffer) => {
        early += d.toString('utf8');
        const nl = early.indexOf('\n');
        if (nl < 0 || greeted) return;
        greeted = true;
        sock.off('data', onData);
        sock.off('error', onError);
        clearTimeout(timer);
        const c = new QmpClient(sock);
        c.buf = early.slice(nl + 1);
        c.execute('qmp_capabilities', undefined, timeoutMs).then(() => resolve(c), (e: Error) => { c.close(); reject(e); });
      };
      sock.on('data', onData);
    });
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** Resolves with the first event named `name` (and matching `pred`), or rejects on timeout. */
  waitEvent(name: string, timeoutMs: number, pred: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const on = (e: QmpEvent) => {
        if (e.event !== name || !pred(e)) return;
        clearTimeout(timer);
        this.off('event', on);
        resolve(e);
      };
      const timer = setTimeout(() => { this.off('event', on); reject(new Error(`QMP: no ${name} event in ${timeoutMs} ms`)); }, timeoutMs);
      this.on('event', on);
    });
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof msg.event === 'string') {
        this.emit('event', msg as unknown as QmpEvent);
        continue;
      }
      const p = this.pending.get(msg.id as number);
      if (!p) continue;
      this.pending.delete(msg.id as number);
      clearTimeout(p.timer);
      if ('error' in msg) {
        const err = msg.error as { class?: string; desc?: string };
        p.reject(new QmpError(p.command, err.class ?? 'GenericError', err.desc ?? JSON.stringify(err)));
      } else {
        p.resolve(msg.return);
      }
    }
  }

  private fail(e: Error): void {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`QMP ${p.command}: ${e.message}`));
      this.pending.delete(id);
    }
  }
}

/** Connects, runs one command, disconnects. */
export async function qmpExecute<T = unknown>(path: string, command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
  const c = await QmpClient.connect(path, Math.min(timeoutMs, 5000));
  try {
    return await c.execute<T>(command, args, timeoutMs);
  } finally {
    c.close();
  }
}
