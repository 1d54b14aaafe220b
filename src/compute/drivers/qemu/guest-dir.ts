import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceSpec } from '../driver.js';

/**
 * One guest's directory, <stateDir>/<uuid>/: everything the driver knows about a guest is
 * here, so a restarted agent finds its guests (and their qemu processes) again.
 */

export interface GuestPaths {
  dir: string;
  disk: string;
  console: string;
  serial: string;
  qmp: string;
  /** the VNC server (a unix socket; the console proxy connects to it) */
  vnc: string;
  pid: string;
  spec: string;
  runtime: string;
  /** memory + device state written by suspend, read by resume */
  state: string;
}

export function guestPaths(stateDir: string, uuid: string): GuestPaths {
  const dir = join(stateDir, uuid);
  return {
    dir, disk: join(dir, 'disk'), console: join(dir, 'console.log'), serial: join(dir, 'serial.sock'),
    qmp: join(dir, 'qmp.sock'), vnc: join(dir, 'vnc.sock'), pid: join(dir, 'qemu.pid'), spec: join(dir, 'spec.json'),
    runtime: join(dir, 'runtime.json'), state: join(dir, 'state'),
  };
}

/** What survives an agent restart besides the spec: the forwarded SSH port, the accelerator,
 *  where the root disk is when it is not <dir>/disk, and an unfinished incoming migration. */
export interface Runtime {
  sshPort?: number;
  accel?: 'kvm' | 'tcg';
  /** the root disk's file when it is not `disk` in the guest directory (the source's file while a
   *  migration comes in; or kept in place when it could not be renamed across filesystems) */
  diskPath?: string;
  incoming?: IncomingMigration;
}

/** A live migration this host is receiving (between prepareIncoming and finish/abort). */
export interface IncomingMigration {
  /** what the source streams to (tcp:host:port) */
  uri: string;
  /** the source guest's disk (in the source's guest directory, on shared storage) */
  sourceDisk: string;
  /** bytes of the source's console log copied at prepare time; finish appends the rest */
  consoleOffset: number;
}

function writeJson(path: string, v: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(v, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const saveSpec = (p: GuestPaths, spec: InstanceSpec) => writeJson(p.spec, spec);
export const loadSpec = (p: GuestPaths) => readJson<InstanceSpec>(p.spec);
export const saveRuntime = (p: GuestPaths, r: Runtime) => writeJson(p.runtime, r);
export const loadRuntime = (p: GuestPaths): Runtime => readJson<Runtime>(p.runtime) ?? {};
