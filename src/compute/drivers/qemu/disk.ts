import { runTool } from './proc.js';
import type { LocalImage } from '../driver.js';

/** qemu-img helpers: per-guest overlays on cached base images, and standalone copies. */

const GiB = 1024 ** 3;

export async function virtualSize(path: string, format?: string): Promise<number> {
  const out = await runTool('qemu-img', ['info', '--output=json', '-U', ...(format ? ['-f', format] : []), path]);
  return (JSON.parse(out) as { 'virtual-size': number })['virtual-size'];
}

/** A qcow2 overlay backed by `base`; grown to rootGb only when that is bigger than the base. */
export async function createOverlay(disk: string, base: LocalImage, rootGb: number): Promise<void> {
  const baseSize = await virtualSize(base.path, base.format);
  const size = rootGb * GiB > baseSize ? [`${rootGb}G`] : [];
  await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', base.format, '-b', base.path, disk, ...size]);
}

/**
 * A standalone qcow2 copy (backing chain flattened). -U: the running qemu holds the image
 * lock; the caller makes the read consistent by pausing the guest (QMP stop flushes).
 */
export async function flattenToQcow2(src: string, dest: string): Promise<void> {
  await runTool('qemu-img', ['convert', '-U', '-O', 'qcow2', src, dest]);
}
