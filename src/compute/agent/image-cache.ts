import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageClient, ImageViewer } from '../../image/client.js';
import { extractPvhVmlinux } from '../../core/host/pvh-kernel.js';

/**
 * Images a host has fetched from the image service, one file per image id under `dir`,
 * shared by every guest that boots from it (qcow2 overlays point at them). A file appears
 * only complete (written to a temporary name, then renamed); concurrent asks share one fetch.
 */
export class ImageCache {
  private readonly pending = new Map<string, Promise<string>>();
  constructor(private readonly dir: string, private readonly images: ImageClient) {
    mkdirSync(dir, { recursive: true });
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  fetch(id: string, viewer: ImageViewer): Promise<string> {
    const dest = this.path(id);
    if (existsSync(dest)) return Promise.resolve(dest);
    let p = this.pending.get(id);
    if (!p) {
      p = this.download(id, viewer, dest).finally(() => this.pending.delete(id));
      this.pending.set(id, p);
    }
    return p;
  }

  /**
   * A kernel (aki) to boot: the uncompressed PVH vmlinux pulled out of it when it has one
   * (direct ELF boot skips the decompression, about 3 s under TCG), else the image as it is.
   */
  async kernel(id: string, viewer: ImageViewer): Promise<string> {
    const path = await this.fetch(id, viewer);
    const vmlinux = `${path}.vmlinux`;
    const none = `${path}.no-pvh`;
    if (existsSync(vmlinux)) return vmlinux;
    if (existsSync(none)) return path;
    let p = this.pending.get(vmlinux);
    if (!p) {
      p = extractPvhVmlinux(path, vmlinux).then((ok) => {
        if (ok) return vmlinux;
        writeFileSync(none, '');
        return path;
      }).catch(() => path).finally(() => this.pending.delete(vmlinux));
      this.pending.set(vmlinux, p);
    }
    return p;
  }

  private async download(id: string, viewer: ImageViewer, dest: string): Promise<string> {
    const data = await this.images.openData(id, viewer);
    if (!data) throw new Error(`image ${id} has no data to boot from`);
    const tmp = `${dest}.part-${process.pid}-${Date.now()}`;
    try {
      await pipeline(data.stream, createWriteStream(tmp));
      renameSync(tmp, dest);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    return dest;
  }
}
