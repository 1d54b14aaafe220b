import type { Logger } from '../../core/logger.js';

/**
 * Progress of a tiny guest build or registration: one line per step with the time since
 * the start and the step's own duration, a percentage while a download or upload runs
 * (redrawn in place on a terminal, every 25 % otherwise), and a structured log record per
 * step for the JSON logs.
 */
export interface StepHandle {
  /** fraction 0..1 of a transfer (bytes when known) */
  percent(done: number, total: number | undefined, what?: string): void;
  /** extra words shown after the step's title when it ends, e.g. "cached" */
  note(text: string): void;
}

export interface Progress {
  step<T>(title: string, fn: (h: StepHandle) => Promise<T>): Promise<T>;
  /** A line of its own (not a step). */
  info(text: string): void;
  readonly elapsedMs: number;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function createProgress(opts: { logger?: Logger; out?: NodeJS.WritableStream & { isTTY?: boolean }; component?: string } = {}): Progress {
  const t0 = performance.now();
  const out = opts.out;
  const tty = !!out?.isTTY;
  const log = opts.logger?.child({ component: opts.component ?? 'tiny-guest' });
  const stamp = () => `[${secs(performance.now() - t0).padStart(7)}]`;
  return {
    get elapsedMs() { return performance.now() - t0; },
    info(text) {
      out?.write(`${stamp()} ${text}\n`);
      log?.info(text);
    },
    async step(title, fn) {
      const s0 = performance.now();
      const notes: string[] = [];
      let lastQuarter = -1;
      let live = false;
      let current = title;
      // on a terminal the running step's line is redrawn every second, so the clock moves
      const ticker = tty ? setInterval(() => out!.write(`\r\x1b[K${stamp()} … ${current}`), 1000) : undefined;
      ticker?.unref();
      if (tty) { out!.write(`${stamp()} … ${title}`); live = true; }
      log?.debug({ step: title }, 'step started');
      const h: StepHandle = {
        percent(done, total, what) {
          const pct = total ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
          const text = `${what ?? title} ${pct !== undefined ? `${pct}% of ${mb(total!)}` : mb(done)}`;
          if (tty) {
            current = text;
            out!.write(`\r\x1b[K${stamp()} … ${text}`);
            live = true;
          } else if (pct !== undefined && Math.floor(pct / 25) > lastQuarter) {
            lastQuarter = Math.floor(pct / 25);
            if (pct < 100) out?.write(`${stamp()}   ${text}\n`);
          }
        },
        note(text) { notes.push(text); },
      };
      try {
        const r = await fn(h).finally(() => clearInterval(ticker));
        const ms = performance.now() - s0;
        const line = `${stamp()} ✓ ${title}${notes.length ? ` (${notes.join(', ')})` : ''} — ${secs(ms)}`;
        out?.write(`${live ? '\r\x1b[K' : ''}${line}\n`);
        log?.info({ step: title, ms: Math.round(ms), notes: notes.length ? notes : undefined }, 'step done');
        return r;
      } catch (e) {
        const ms = performance.now() - s0;
        out?.write(`${live ? '\r\x1b[K' : ''}${stamp()} ✗ ${title} — ${secs(ms)}: ${(e as Error).message}\n`);
        log?.warn({ step: title, ms: Math.round(ms), err: (e as Error).message }, 'step failed');
        throw e;
      }
    },
  };
}
