/**
 * Moving a guest's files between the guest directories of two local hosts (migrations): the
 * disk (the qcow2 overlay on the shared base image) and the console log. Hosts on one
 * machine share a filesystem, so a move is a rename; across filesystems the disk is copied.
 */
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { GuestPaths } from './guest-dir.js';

/** A stopped guest's disk at `src` becomes `p.disk` (rename; a copy, then removal, across filesystems). */
export function takeOverDisk(uuid: string, src: string, p: GuestPaths): void {
  if (!existsSync(src)) {
    if (!existsSync(p.disk)) throw new Error(`guest ${uuid}: the source's disk ${src} is not visible on this host`);
    return; // moved already
  }
  if (existsSync(p.disk)) throw new Error(`guest ${uuid}: ${p.disk} exists (a disk this host must not overwrite)`);
  try {
    renameSync(src, p.disk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileSync(src, `${p.disk}.tmp`);
    renameSync(`${p.disk}.tmp`, p.disk);
    rmSync(src, { force: true });
  }
}

/** Appends the console log in `srcDir` (from byte `offset`: what was not copied before) to this guest's, and removes it. */
export function takeOverConsole(srcDir: string, p: GuestPaths, offset = 0): void {
  const srcConsole = join(srcDir, basename(p.console));
  if (srcDir === p.dir || !existsSync(srcConsole)) return;
  const text = readFileSync(srcConsole);
  if (text.length > offset) appendFileSync(p.console, text.subarray(offset));
  rmSync(srcConsole, { force: true });
}

/** After a migration out: everything but the disk and the console log (the destination takes
 *  those), then the directory itself once the destination has taken them. */
export function cleanupMigratedOut(p: GuestPaths): void {
  if (!existsSync(p.dir)) return;
  for (const f of readdirSync(p.dir)) {
    if (f !== basename(p.disk) && f !== basename(p.console)) rmSync(join(p.dir, f), { recursive: true, force: true });
  }
  try { rmdirSync(p.dir); } catch { /* the destination has not taken the disk yet */ }
}

/** The source's guest directory, once the destination has taken everything out of it. */
export function removeEmptySourceDir(srcDir: string, p: GuestPaths, uuid: string): void {
  if (srcDir === p.dir || basename(srcDir) !== uuid) return;
  try { rmdirSync(srcDir); } catch { /* not empty yet: the source's migrateOut removes it */ }
}
