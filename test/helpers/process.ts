import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** True when nothing listens on 127.0.0.1:port. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A --base-port whose service ports (base + each offset) are all free. */
export async function freeBasePort(offsets: number[] = [0]): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (const o of offsets) ok = ok && (await portFree(base + o));
    if (ok) return base;
  }
  throw new Error(`no free base port for offsets ${offsets.join(',')}`);
}

/** Resident memory of a process in MiB (one decimal), from /proc. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}
