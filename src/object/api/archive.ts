import { gunzipSync } from 'node:zlib';

/** One regular file of a tar archive. */
export interface TarEntry { path: string; data: Buffer }

const text = (b: Buffer, start: number, len: number) => {
  const s = b.subarray(start, start + len);
  const nul = s.indexOf(0);
  return (nul < 0 ? s : s.subarray(0, nul)).toString('utf8');
};

/** Reads the regular files of a (ustar/GNU/pax) tar archive, optionally gzipped. */
export function readTar(archive: Buffer, format: string): TarEntry[] {
  let buf = archive;
  if (format === 'tar.gz' || format === 'tgz') buf = gunzipSync(archive);
  else if (format !== 'tar') throw new Error(`unsupported archive format '${format}'`);
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(text(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = text(h, 257, 6).startsWith('ustar') ? text(h, 345, 155) : '';
    let name = prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = data.toString('utf8').replace(/\0+$/, ''); continue; }
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      paxPath = m?.[1];
      continue;
    }
    if (type === 'g') continue;
    name = paxPath ?? longName ?? name;
    longName = undefined;
    paxPath = undefined;
    if (type === '0' || type === '\0' || type === '7') out.push({ path: name.replace(/^\.?\//, ''), data: Buffer.from(data) });
  }
  return out;
}
