import type { Readable } from 'node:stream';
import type { ImageServices } from './service/index.js';
import { imageView } from './api/views.js';

/** Who a call is made for: a project (and whether it is an admin), as Glance's context. */
export interface ImageViewer {
  projectId: string | null;
  isAdmin: boolean;
}

/**
 * What other services (compute, volume) ask the image service: an image's record as the API
 * shows it, and its bytes. In one process a direct call; across hosts the Image API with a
 * service token (the same calls Nova makes to Glance).
 */
export interface ImageClient {
  /** The image, if the viewer may see it (Glance's visibility rules). */
  getImage(id: string, viewer: ImageViewer): Promise<Record<string, unknown> | undefined>;
  /** A stream of an active image's data, with its size and md5; undefined when there is none. */
  openData(id: string, viewer: ImageViewer, range?: { start: number; end: number }): Promise<{ stream: Readable; size: number; checksum: string | null } | undefined>;
  /** Creates an image record (queued) owned by the viewer's project, as POST /v2/images with this body. */
  createImage(body: Record<string, unknown>, viewer: ImageViewer & { userId: string }): Promise<Record<string, unknown>>;
  /** Uploads the data of a queued image (PUT /v2/images/{id}/file). */
  upload(id: string, data: Readable, viewer: ImageViewer & { userId: string }): Promise<void>;
  /** Deletes an image (a snapshot that failed); no error when it is gone. */
  deleteImage(id: string, viewer: ImageViewer & { userId: string }): Promise<void>;
}

/** What a project member may do with its own images (the rules compute's calls need). */
const OWNER_RULES = new Set(['add_image', 'upload_image', 'delete_image', 'modify_image']);

export function inProcessImageClient(s: ImageServices): ImageClient {
  const caller = (v: ImageViewer & { userId?: string }) => ({
    projectId: v.projectId, userId: v.userId ?? 'service', isAdmin: v.isAdmin, requestId: 'internal',
    // The project's own rights: an admin viewer may do anything, others what visibility allows.
    allowed: (rule: string, target: { owner?: string | null } = {}) =>
      v.isAdmin || rule === 'get_image' || rule === 'download_image' || (OWNER_RULES.has(rule) && target.owner === v.projectId),
  });
  const find = async (id: string, v: ImageViewer) => s.images.get(caller(v), id).catch(() => undefined);
  return {
    async getImage(id, viewer) {
      const img = await find(id, viewer);
      return img ? imageView(img) : undefined;
    },
    async openData(id, viewer, range) {
      const img = await find(id, viewer);
      if (!img || img.status !== 'active') return undefined;
      const dl = await s.data.open(img, range ? `bytes=${range.start}-${range.end}` : undefined);
      return dl ? { stream: dl.stream, size: dl.length, checksum: dl.range ? null : dl.checksum } : undefined;
    },
    async createImage(body, viewer) {
      return imageView(await s.images.create(caller(viewer), body));
    },
    async upload(id, data, viewer) {
      await s.data.upload(caller(viewer), id, data);
    },
    async deleteImage(id, viewer) {
      await s.images.delete(caller(viewer), id).catch(() => undefined);
    },
  };
}
