import { closeSync, copyFileSync, createReadStream, createWriteStream, ftruncateSync, openSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FILE_PACKAGES, run, runPipeline, type RunOptions } from '../../core/host/tools.js';
import { FIXED_MTIME, walk } from './rootfs.js';

/**
 * The image files made from the guest tree, with host tools only and no loop mounts:
 * the initramfs (cpio newc + gzip), an ext4 filesystem image (`mke2fs -d`), and a
 * whole-disk image (MBR + syslinux on a FAT boot partition + the ext4 root partition,
 * written into one file at the partitions' offsets, then `qemu-img convert -c` to qcow2).
 */

const MiB = 1024 * 1024;
export const ROOT_LABEL = 'tinyroot';
export const BOOT_LABEL = 'TINYBOOT';
/** Kernel command line of the whole-disk image (syslinux) and the one to use with the ami. */
export const DISK_CMDLINE = `root=LABEL=${ROOT_LABEL} console=ttyS0 quiet`;
export const UEC_CMDLINE = 'root=/dev/vda console=ttyS0 quiet';

/** A UUID (and other ids) derived from the build key, so a rebuild gives the same bytes. */
export function idsFromKey(key: string): { uuid: string; hashSeed: string; volId: string; diskId: string } {
  const h = createHash('sha256').update(key).digest('hex');
  const uuid = (s: string) => `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-8${s.slice(17, 20)}-${s.slice(20, 32)}`;
  return { uuid: uuid(h.slice(0, 32)), hashSeed: uuid(h.slice(32, 64)), volId: h.slice(0, 8), diskId: `0x${h.slice(8, 16)}` };
}

/** initramfs: every file of the tree in a newc cpio owned by root, gzip-compressed. */
export async function makeInitramfs(tree: string, dest: string, o: RunOptions): Promise<void> {
  const list = walk(tree, true).join('\n') + '\n';
  await runPipeline([
    ['cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '--reproducible']],
    ['gzip', ['-9', '-n']],
  ], { ...o, cwd: tree, input: list, stdoutFile: dest });
}

/** Size in MiB for a filesystem holding `bytes` of files, with room to spare, at least `min`. */
export const fsSizeMiB = (bytes: number, min: number) => Math.max(min, Math.ceil((bytes * 1.3) / MiB) + 12);

/** An ext4 filesystem image of the tree (`mke2fs -d`), label tinyroot. */
export async function makeExt4(tree: string, dest: string, sizeMiB: number, key: string, o: RunOptions): Promise<void> {
  const ids = idsFromKey(key);
  await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', ROOT_LABEL, '-U', ids.uuid, '-E', `hash_seed=${ids.hashSeed},root_owner=0:0`,
    '-m', '0', '-d', tree, dest, `${sizeMiB}M`], { ...o, env: { ...process.env, E2FSPROGS_FAKE_TIME: String(FIXED_MTIME) } });
  // mke2fs -d copies each file's ctime and atime, which no one can set on the source tree:
  // pin them too, so that the same inputs give the same filesystem bytes (and checksum)
  const t = `0x${FIXED_MTIME.toString(16)}`;
  const cmds = walk(tree, true).flatMap((rel) => [`sif "/${rel}" ctime ${t}`, `sif "/${rel}" atime ${t}`]).join('\n') + '\n';
  await run('debugfs', ['-w', '-f', '-', dest], { ...o, input: cmds, env: { ...process.env, E2FSPROGS_FAKE_TIME: String(FIXED_MTIME) } });
}

async function copyInto(src: string, dest: string, offset: number): Promise<void> {
  await pipeline(createReadStream(src), createWriteStream(dest, { flags: 'r+', start: offset }));
}

/**
 * Whole-disk image: MBR (syslinux mbr.bin), p1 FAT16 "TINYBOOT" with syslinux, vmlinuz and
 * the initramfs, p2 the ext4 root filesystem. SeaBIOS → mbr.bin → syslinux → bzImage, whose
 * /init finds root=LABEL=tinyroot and switches to it. Returns the raw image's size.
 */
export async function makeDisk(work: string, p: { vmlinuz: string; initrd: string; rootExt4: string; key: string; dest: string }, o: RunOptions): Promise<number> {
  const ids = idsFromKey(p.key);
  const cfg = join(work, 'syslinux.cfg');
  writeFileSync(cfg, ['SERIAL 0 115200', 'DEFAULT tinyos', 'TIMEOUT 0', 'PROMPT 0', 'LABEL tinyos', '  KERNEL /vmlinuz',
    '  INITRD /initrd.img', `  APPEND ${DISK_CMDLINE}`, ''].join('\n'));
  copyFileSync(p.vmlinuz, join(work, 'vmlinuz'));
  copyFileSync(p.initrd, join(work, 'initrd.img'));
  for (const f of [cfg, join(work, 'vmlinuz'), join(work, 'initrd.img')]) utimesSync(f, FIXED_MTIME, FIXED_MTIME); // mcopy -m keeps these
  const fatMiB = fsSizeMiB(statSync(p.vmlinuz).size + statSync(p.initrd).size, 32);
  const fat = join(work, 'boot.fat');
  // mtools and syslinux stamp files with SOURCE_DATE_EPOCH when it is set, else with the time now
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', SOURCE_DATE_EPOCH: String(FIXED_MTIME) };
  await run('mkfs.vfat', ['--invariant', '-i', ids.volId, '-n', BOOT_LABEL, '-C', fat, String(fatMiB * 1024)], { ...o, env });
  await run('mcopy', ['-m', '-i', fat, join(work, 'vmlinuz'), join(work, 'initrd.img'), cfg, '::/'], { ...o, env, cwd: work });
  await run('syslinux', ['--install', fat], { ...o, env });

  const fatStart = 2048; // sectors: 1 MiB alignment
  const fatSectors = fatMiB * 2048;
  const rootStart = fatStart + fatSectors;
  const rootSectors = Math.ceil(statSync(p.rootExt4).size / 512);
  const total = (rootStart + rootSectors) * 512 + MiB;
  const raw = join(work, 'disk.raw');
  const fd = openSync(raw, 'w');
  ftruncateSync(fd, total);
  closeSync(fd);
  await run('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', raw], {
    ...o,
    input: `label: dos\nlabel-id: ${ids.diskId}\nstart=${fatStart}, size=${fatSectors}, type=6, bootable\nstart=${rootStart}, size=${rootSectors}, type=83\n`,
  });
  const mbrBin = Object.keys(FILE_PACKAGES).find((f) => f.endsWith('mbr.bin'))!;
  const mbr = readFileSync(mbrBin).subarray(0, 440);
  const w = openSync(raw, 'r+');
  writeSync(w, mbr, 0, mbr.length, 0); // boot code only: the partition table after byte 440 stays
  closeSync(w);
  await copyInto(fat, raw, fatStart * 512);
  await copyInto(p.rootExt4, raw, rootStart * 512);
  await run('qemu-img', ['convert', '-c', '-f', 'raw', '-O', 'qcow2', raw, p.dest], o);
  return total;
}

export interface FileDigest { bytes: number; md5: string; sha256: string; sha512: string }

/** md5 (Glance's checksum), sha256 and sha512 (Glance's default os_hash_algo) in one read. */
export async function digest(path: string): Promise<FileDigest> {
  const h = { md5: createHash('md5'), sha256: createHash('sha256'), sha512: createHash('sha512') };
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    bytes += (chunk as Buffer).length;
    h.md5.update(chunk as Buffer); h.sha256.update(chunk as Buffer); h.sha512.update(chunk as Buffer);
  }
  return { bytes, md5: h.md5.digest('hex'), sha256: h.sha256.digest('hex'), sha512: h.sha512.digest('hex') };
}
