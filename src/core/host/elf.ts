import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Just enough ELF64 (little-endian, x86-64) reading for the tiny guest build: the shared
 * libraries a binary needs (DT_NEEDED, PT_INTERP), a kernel module's .modinfo (depends=,
 * softdep=), and whether an uncompressed kernel carries the PVH entry note QEMU needs to
 * boot it directly. Reads only the headers and the parts asked for, never a whole file.
 */

const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;
const SHT_DYNAMIC = 6;
const DT_NEEDED = 1;
/** XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point QEMU's x86 loader looks for. */
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

interface Section { name: string; type: number; offset: number; size: number; link: number }
interface Segment { type: number; offset: number; filesz: number }

class ElfFile {
  readonly sections: Section[] = [];
  readonly segments: Segment[] = [];
  private constructor(private readonly fd: number) {}

  static open(path: string): ElfFile {
    const fd = openSync(path, 'r');
    const elf = new ElfFile(fd);
    try {
      elf.parse(path);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return elf;
  }

  read(offset: number, length: number): Buffer {
    const buf = Buffer.alloc(length);
    const n = readSync(this.fd, buf, 0, length, offset);
    return buf.subarray(0, n);
  }

  close(): void {
    closeSync(this.fd);
  }

  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  private parse(path: string): void {
    const h = this.read(0, 64);
    if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
    if (h[4] !== 2 || h[5] !== 1) throw new Error(`${path}: not a little-endian ELF64 file`);
    const phoff = Number(h.readBigUInt64LE(0x20));
    const shoff = Number(h.readBigUInt64LE(0x28));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const shstrndx = h.readUInt16LE(0x3e);
    if (phnum > 0) {
      const ph = this.read(phoff, phentsize * phnum);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        this.segments.push({ type: ph.readUInt32LE(o), offset: Number(ph.readBigUInt64LE(o + 8)), filesz: Number(ph.readBigUInt64LE(o + 32)) });
      }
    }
    if (shnum > 0 && shoff > 0) {
      const sh = this.read(shoff, shentsize * shnum);
      const raw = [];
      for (let i = 0; i < shnum; i++) {
        const o = i * shentsize;
        raw.push({
          nameOff: sh.readUInt32LE(o), type: sh.readUInt32LE(o + 4),
          offset: Number(sh.readBigUInt64LE(o + 24)), size: Number(sh.readBigUInt64LE(o + 32)), link: sh.readUInt32LE(o + 40),
        });
      }
      const strtab = raw[shstrndx] ? this.read(raw[shstrndx].offset, raw[shstrndx].size) : Buffer.alloc(0);
      for (const s of raw) this.sections.push({ name: cstring(strtab, s.nameOff), type: s.type, offset: s.offset, size: s.size, link: s.link });
    }
  }
}

function cstring(buf: Buffer, off: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('latin1', off, end < 0 ? buf.length : end);
}

function withElf<T>(path: string, fn: (elf: ElfFile) => T): T {
  const elf = ElfFile.open(path);
  try {
    return fn(elf);
  } finally {
    elf.close();
  }
}

/** The dynamic loader (PT_INTERP) and the DT_NEEDED sonames of a binary or library. */
export function dynamicDeps(path: string): { interpreter?: string; needed: string[] } {
  return withElf(path, (elf) => {
    const interp = elf.segments.find((s) => s.type === PT_INTERP);
    const interpreter = interp ? cstring(elf.read(interp.offset, interp.filesz), 0) : undefined;
    const dyn = elf.sections.find((s) => s.type === SHT_DYNAMIC);
    if (!dyn) {
      if (elf.segments.some((s) => s.type === PT_DYNAMIC)) throw new Error(`${path}: dynamic ELF without section headers`);
      return { interpreter, needed: [] };
    }
    const strSec = elf.sections[dyn.link];
    const strtab = elf.read(strSec.offset, strSec.size);
    const d = elf.read(dyn.offset, dyn.size);
    const needed: string[] = [];
    for (let o = 0; o + 16 <= d.length; o += 16) {
      const tag = Number(d.readBigInt64LE(o));
      if (tag === 0) break;
      if (tag === DT_NEEDED) needed.push(cstring(strtab, Number(d.readBigUInt64LE(o + 8))));
    }
    return { interpreter, needed };
  });
}

/** A kernel module's .modinfo as key → values (a key such as alias can repeat). */
export function modinfo(path: string): Map<string, string[]> {
  return withElf(path, (elf) => {
    const s = elf.section('.modinfo');
    const out = new Map<string, string[]>();
    if (!s) return out;
    for (const entry of elf.read(s.offset, s.size).toString('latin1').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const k = entry.slice(0, eq);
      out.set(k, [...(out.get(k) ?? []), entry.slice(eq + 1)]);
    }
    return out;
  });
}

/** Whether an uncompressed kernel (vmlinux) has the Xen PVH entry note, so `qemu -kernel vmlinux` boots it. */
export function hasPvhNote(path: string): boolean {
  return withElf(path, (elf) => {
    const notes = [
      ...elf.segments.filter((s) => s.type === PT_NOTE).map((s) => ({ offset: s.offset, size: s.filesz })),
      ...elf.sections.filter((s) => s.name.startsWith('.note')).map((s) => ({ offset: s.offset, size: s.size })),
    ];
    for (const n of notes) {
      const buf = elf.read(n.offset, n.size);
      let o = 0;
      while (o + 12 <= buf.length) {
        const namesz = buf.readUInt32LE(o);
        const descsz = buf.readUInt32LE(o + 4);
        const type = buf.readUInt32LE(o + 8);
        const name = cstring(buf.subarray(o + 12, o + 12 + namesz), 0);
        if (name === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
        o += 12 + align4(namesz) + align4(descsz);
      }
    }
    return false;
  });
}

const align4 = (n: number) => (n + 3) & ~3;
