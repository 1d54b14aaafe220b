import type { Readable } from 'node:stream';
import type { ImageServices } from './service/index.js';
import { imageView } from './api/views.js';
import { HttpError, badRequest } from '../core/errors.js';
import type { ColumnFilter, ImageRecord } from './db/images-repo.js';
import { parsePatch } from './service/patch.js';
import { BASE_PROPERTIES } from './service/image-schema.js';

/** Who a call is made for: a project (and whether it is an admin), as Glance's context. */
export interface ImageViewer {
  projectId: string | null;
  isAdmin: boolean;
  /** The caller's role names, when known: then only a member (or admin) may change its project's images, as Glance's policy says. */
  roles?: string[];
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
  /**
   * The images the viewer may list (Glance's visibility rules, hidden images left out), newest
   * first, as GET /v2/images shows them; 400 for a bad filter or an unknown marker.
   */
  listImages(viewer: ImageViewer, filters: ImageListFilters): Promise<Record<string, unknown>[]>;
  /**
   * Sets and removes custom properties of an image (a JSON patch, as PATCH /v2/images/{id});
   * Glance's errors as HttpError: 404 unseen image, 403 not allowed or read-only/reserved key,
   * 400 invalid value, 409 removing a property that is not there. Returns the updated image.
   */
  updateImageProperties(id: string, viewer: ImageViewer & { userId: string }, set: Record<string, string>, remove: string[]): Promise<Record<string, unknown>>;
  /** Deletes an image, with Glance's errors (404 unseen, 403 not allowed or protected). */
  deleteImageOrFail(id: string, viewer: ImageViewer & { userId: string }): Promise<void>;
}

/**
 * The custom properties of an image as the API shows it (what Nova calls the image's
 * `properties`): every key that is not a base property of Glance's image schema.
 */
export function customProperties(image: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(image)) if (!Object.hasOwn(BASE_PROPERTIES, k)) out[k] = v as string;
  return out;
}

/** Glance's largest page. */
const PAGE = 1000;

/** What a list of images may be narrowed to (the filters Nova's image proxy passes to Glance). */
export interface ImageListFilters {
  name?: string;
  /** A Glance status (active, queued, ...). */
  status?: string;
  /** Custom properties that must equal these values (instance_uuid, image_type, ...). */
  properties?: Record<string, string>;
  /** Only images updated at or after this time (ISO 8601). */
  changesSince?: string;
  /** Only images whose min_ram / min_disk is at least this. */
  minRam?: number;
  minDisk?: number;
  /** Page size; undefined: every image. */
  limit?: number;
  /** The id of the image the page starts after (400 when the viewer cannot see it). */
  marker?: string;
}

/** What a project member may do with its own images (the rules compute's calls need). */
const OWNER_RULES = new Set(['add_image', 'upload_image', 'delete_image', 'modify_image']);

export function inProcessImageClient(s: ImageServices): ImageClient {
  const caller = (v: ImageViewer & { userId?: string }) => ({
    projectId: v.projectId, userId: v.userId ?? 'service', isAdmin: v.isAdmin, requestId: 'internal',
    // The project's own rights: an admin viewer may do anything, others what visibility allows.
    allowed: (rule: string, target: { owner?: string | null } = {}) =>
      v.isAdmin || rule === 'get_image' || rule === 'download_image'
        || (OWNER_RULES.has(rule) && target.owner === v.projectId && (!v.roles || v.roles.includes('member') || v.roles.includes('admin'))),
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
    async listImages(viewer, f) {
      const who = caller(viewer);
      const filters: ColumnFilter[] = [{ column: 'os_hidden', op: 'eq', value: 0 }];
      if (f.name !== undefined) filters.push({ column: 'name', op: 'eq', value: f.name });
      if (f.status !== undefined) filters.push({ column: 'status', op: 'eq', value: f.status });
      if (f.changesSince !== undefined) {
        const t = Date.parse(f.changesSince);
        if (!/^\d{4}-\d{2}-\d{2}/.test(f.changesSince) || Number.isNaN(t)) throw badRequest('Bad "updated_at" query filter format. Use ISO 8601 DateTime notation.');
        filters.push({ column: 'updated_at', op: 'gte', value: new Date(t).toISOString() });
      }
      for (const [k, v] of [['min_ram', f.minRam], ['min_disk', f.minDisk]] as const) {
        if (v === undefined) continue;
        if (!Number.isInteger(v)) throw badRequest('Unable to filter on a range with a non-numeric value.');
        filters.push({ column: k, op: 'gte', value: v });
      }
      let marker: ImageRecord | undefined;
      if (f.marker !== undefined) {
        marker = await s.images.get(who, f.marker).catch((e) => {
          if (e instanceof HttpError && e.status === 404) throw badRequest(`Invalid marker. Image ${f.marker} could not be found.`);
          throw e;
        });
      }
      if (f.limit !== undefined && (!Number.isInteger(f.limit) || f.limit < 0)) throw badRequest('limit param must be positive');
      const out: Record<string, unknown>[] = [];
      for (;;) {
        const want = Math.min(PAGE, f.limit === undefined ? PAGE : f.limit - out.length);
        if (want <= 0) break;
        const page = await s.images.list(who, {
          memberStatus: 'accepted', filters, properties: Object.entries(f.properties ?? {}), tags: [],
          sort: [{ key: 'created_at', dir: 'desc' }], marker, limit: want,
        });
        out.push(...page.map(imageView));
        if (page.length < want) break;
        marker = page[page.length - 1];
      }
      return out;
    },
    async updateImageProperties(id, viewer, set, remove) {
      const ops = [
        ...remove.map((k) => ({ op: 'remove', path: `/${k.replaceAll('~', '~0').replaceAll('/', '~1')}` })),
        ...Object.entries(set).map(([k, value]) => ({ op: 'add', path: `/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, value })),
      ];
      const changes = parsePatch('application/openstack-images-v2.1-json-patch', ops);
      return imageView(await s.images.update(caller(viewer), id, changes));
    },
    async deleteImageOrFail(id, viewer) {
      await s.images.delete(caller(viewer), id);
    },
  };
}
