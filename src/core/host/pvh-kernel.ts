import { closeSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { hasPvhNote } from './elf.js';
import { runPipeline, type RunOptions } from './tools.js';

/** Compressed payload signatures inside a bzImage, with the command that unpacks each. */
const PAYLOADS: Array<{ magic: Buffer; cmd: [string, string[]] }> = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), cmd: ['xz', ['-dc', '--single-stream']] },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), cmd: ['zstd', ['-dcq']] },
  { magic: Buffer.from([0x1f, 0x8b, 0x08]), cmd: ['gzip', ['-dc']] },
];

/**
 * Pulls the ELF vmlinux out of a bzImage (the compressed payload after the setup code) and
 * keeps it only when it has the PVH entry note, which QEMU's `-kernel` needs to boot an ELF.
 * Returns whether `dest` was written. The compute driver can call this for any `aki` image.
 */
export async function extractPvhVmlinux(vmlinuz: string, dest: string, o: RunOptions = {}): Promise<boolean> {
  const fd = openSync(vmlinuz, 'r');
  const head = Buffer.alloc(Math.min(statSync(vmlinuz).size, 256 * 1024));
  readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const tmp = `${dest}.tmp`;
  for (const p of PAYLOADS) {
    for (let at = head.indexOf(p.magic); at >= 0; at = head.indexOf(p.magic, at + 1)) {
      try {
        // the payload from its magic on; xz stops at the end of its stream, gzip warns about trailing data
        await runPipeline([p.cmd], { ...o, inputFile: { path: vmlinuz, start: at }, stdoutFile: tmp, okCodes: [0, 2] });
        if (statSync(tmp).size > 1024 * 1024 && hasPvhNote(tmp)) {
          renameSync(tmp, dest);
          return true;
        }
      } catch { /* not this one */ }
      rmSync(tmp, { force: true });
    }
  }
  return false;
}
