import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from './context.js';
import { killPidFile, livePid, startDaemon } from './exec.js';

/**
 * The metadata proxy: one haproxy per DHCP namespace (169.254.169.254:80) or router namespace
 * (:9697, behind an nft redirect). It forwards to the metadata service's unix socket and says who
 * asks: X-Forwarded-For is the client address, X-Nubo-Network-Id / X-Nubo-Router-Id the place.
 * Headers a guest sends under those names are replaced, never passed on.
 */

export const METADATA_PORT_ROUTER = 9697;

function config(c: Ctx, dir: string, bind: string, header: string, id: string): string {
  return [
    'global',
    '  daemon',
    `  pidfile ${join(dir, 'haproxy.pid')}`,
    '  maxconn 1024',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'listen metadata',
    `  bind ${bind}`,
    '  http-request del-header X-Nubo-Network-Id',
    '  http-request del-header X-Nubo-Router-Id',
    '  http-request set-header X-Forwarded-For %[src]',
    `  http-request set-header ${header} ${id}`,
    `  server metadata ${c.o.metadataSocket}`,
    '',
  ].join('\n');
}

/** Ensures the proxy for a network's DHCP namespace or a router namespace runs with the right config. */
export async function ensureMetadataProxy(c: Ctx, kind: 'net' | 'router', id: string, ns: string): Promise<void> {
  const dir = c.n.mdDir(kind, id);
  mkdirSync(dir, { recursive: true });
  const cfgFile = join(dir, 'haproxy.cfg');
  const pidFile = join(dir, 'haproxy.pid');
  const bind = kind === 'net' ? '169.254.169.254:80' : `0.0.0.0:${METADATA_PORT_ROUTER}`;
  const cfg = config(c, dir, bind, kind === 'net' ? 'X-Nubo-Network-Id' : 'X-Nubo-Router-Id', id);
  let old = '';
  try { old = readFileSync(cfgFile, 'utf8'); } catch { /* first time */ }
  const running = livePid(pidFile, cfgFile);
  if (running && old === cfg) return;
  if (running) await killPidFile(pidFile, cfgFile);
  writeFileSync(cfgFile, cfg);
  await startDaemon(ns, 'haproxy', ['-f', cfgFile], pidFile, join(dir, 'haproxy.log'), cfgFile);
  c.log.info({ ns, kind, id }, 'metadata proxy started');
}

export async function removeMetadataProxy(dir: string): Promise<void> {
  const cfgFile = join(dir, 'haproxy.cfg');
  await killPidFile(join(dir, 'haproxy.pid'), cfgFile);
  rmSync(dir, { recursive: true, force: true });
}
