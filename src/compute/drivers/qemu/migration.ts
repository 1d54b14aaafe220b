import { QmpClient } from './qmp.js';

/** The QMP side of a live migration: streaming a guest out, and waiting for one to arrive. */

/** A live migration that has not completed by then is cancelled (the source keeps running). */
const MIGRATE_TIMEOUT_MS = 300_000;
/** How long finishIncoming waits for the destination to have loaded the state. */
const FINISH_TIMEOUT_MS = 120_000;
/** Migration tuning for TCG guests on a fast link: no bandwidth cap (QEMU's default is 128 MiB/s),
 *  a downtime budget that a busy TCG guest can meet, and vCPU throttling when it dirties memory
 *  faster than it is sent. */
const MIGRATE_PARAMETERS = { 'max-bandwidth': 10 * 2 ** 30, 'downtime-limit': 500 };
const MIGRATE_CAPABILITIES = [{ capability: 'auto-converge', state: true }];
/** query-migrate statuses of a migration still under way. */
const MIGRATION_ACTIVE = new Set(['setup', 'active', 'pre-switchover', 'device', 'postcopy-active', 'postcopy-paused', 'postcopy-recover', 'wait-unplug', 'cancelling']);

export interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  'total-time'?: number;
  downtime?: number;
  'setup-time'?: number;
  ram?: { transferred?: number; total?: number; 'dirty-sync-count'?: number };
  'socket-address'?: Array<{ type: string; host?: string; port?: string }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Source: start (or follow) the migration to `uri` until QEMU reports it completed; cancels it on timeout. */
export async function streamOut(c: QmpClient, uuid: string, uri: string): Promise<MigrateInfo> {
  const status = (await c.execute<{ status: string }>('query-status')).status;
  // postmigrate: an earlier call completed the migration but did not get to quit
  if (status !== 'postmigrate') {
    const cur = await c.execute<MigrateInfo>('query-migrate');
    if (!MIGRATION_ACTIVE.has(cur.status ?? '')) {
      await c.execute('migrate-set-capabilities', { capabilities: MIGRATE_CAPABILITIES });
      await c.execute('migrate-set-parameters', MIGRATE_PARAMETERS);
      await c.execute('migrate', { uri });
    }
    for (const deadline = Date.now() + MIGRATE_TIMEOUT_MS; ;) {
      const m = await c.execute<MigrateInfo>('query-migrate');
      if (m.status === 'completed') return m;
      if (m.status === 'failed' || m.status === 'cancelled') {
        throw new Error(`live migration of ${uuid} to ${uri} ${m.status}${m['error-desc'] ? `: ${m['error-desc']}` : ''}`);
      }
      if (Date.now() > deadline) {
        await c.execute('migrate_cancel').catch(() => undefined);
        throw new Error(`live migration of ${uuid} to ${uri} did not complete in ${MIGRATE_TIMEOUT_MS / 1000} s (cancelled; ${m.ram?.transferred ?? 0} bytes sent, ${m.ram?.['dirty-sync-count'] ?? 0} passes)`);
      }
      await sleep(100);
    }
  }
  return {};
}

/** Destination: wait until the incoming state is loaded, then make sure the guest runs. */
export async function awaitIncoming(c: QmpClient, uuid: string): Promise<void> {
  for (const deadline = Date.now() + FINISH_TIMEOUT_MS; ;) {
    const s = (await c.execute<{ status: string }>('query-status')).status;
    if (s !== 'inmigrate') {
      // running when the source ran (QEMU starts it); otherwise resume it
      if (s === 'paused' || s === 'postmigrate' || s === 'prelaunch') await c.execute('cont');
      else if (s !== 'running') throw new Error(`incoming migration of ${uuid}: the guest is ${s}`);
      break;
    }
    const m = await c.execute<MigrateInfo>('query-migrate');
    if (m.status === 'failed' || m.status === 'cancelled') {
      throw new Error(`incoming migration of ${uuid} ${m.status}${m['error-desc'] ? `: ${m['error-desc']}` : ''}`);
    }
    if (Date.now() > deadline) throw new Error(`incoming migration of ${uuid}: no state after ${FINISH_TIMEOUT_MS / 1000} s (was migrateOut run?)`);
    await sleep(100);
  }
}

/** Destination: has the paused `-incoming defer` qemu listen (port 0: the kernel picks a free one,
 *  so no race) unless it already does, and returns the URI the source migrates to. */
export async function listenIncoming(c: QmpClient, uuid: string, host: string): Promise<string> {
  let m = await c.execute<MigrateInfo>('query-migrate');
  if (!m['socket-address']?.length) {
    await c.execute('migrate-incoming', { uri: `tcp:${host.includes(':') ? `[${host}]` : host}:0` });
    m = await c.execute<MigrateInfo>('query-migrate');
  }
  const a = m['socket-address']?.find((x) => x.type === 'inet' && x.port);
  if (!a) throw new Error(`guest ${uuid}: the incoming qemu reports no listening address (${JSON.stringify(m)})`);
  return `tcp:${a.host!.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
