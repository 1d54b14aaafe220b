import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { HttpError, badRequest, conflict, forbidden } from '../../core/errors.js';
import { pipeRequestBody } from '../../core/http/request-body.js';
import { StoreNotFoundError, type ByteRange } from '../drivers/image-store.js';
import type { ImageRecord } from '../db/images-repo.js';
import { imageTarget, type Caller, type ImageDeps } from './context.js';
import { DigestStream, ImageTooLargeError, virtualSize } from './digest.js';
import { authorize, type Images } from './images.js';
import type { ImageQuotas } from './quotas.js';

/** What a download sends: a stream of the bytes, and the headers' facts. */
export interface Download {
  stream: Readable;
  /** Bytes in this response. */
  length: number;
  size: number;
  checksum: string | null;
  /** Set for a 206 answer. */
  range?: ByteRange;
}

/** The client went away, or its stream broke, before all the data came. */
export class ClientAbortError extends HttpError {
  constructor() {
    super(400, 'The request body ended before all of the image data arrived.');
  }
}

/**
 * Connects a request body to a transform so that the body's failure (the client hanging up
 * mid-stream) fails the transform too: `pipe` alone would leave it waiting forever.
 */
export function guarded<T extends Transform>(body: Readable, through: T): T {
  return pipeRequestBody(body, through, () => new ClientAbortError());
}

/** Counts bytes going by and fails past a limit (staging needs no hashes). */
class SizeLimit extends Transform {
  size = 0;
  constructor(private readonly max: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.max) done(new ImageTooLargeError(this.max));
    else done(null, chunk);
  }
}

/**
 * The store id an image has when its data stays at an external URL (a Glance v1 location):
 * the URL is recorded, never fetched, so such an image has no data this cloud can serve.
 */
export const LOCATION_STORE = 'http';

/** Glance v1's check of an external source (location or copy-from): http(s) URLs only. */
export function checkExternalUrl(url: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!url) throw badRequest('External source should not be empty');
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.host) throw badRequest(`External sources are not supported: '${url}'`);
}

/** Parses an HTTP Range header against a size: a range, 'unsatisfiable', or undefined (whole). */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** Image data in and out: direct upload, staging for import, download with ranges. */
export class ImageData {
  constructor(private readonly deps: ImageDeps, private readonly images: Images, private readonly quotas: ImageQuotas) {}

  /**
   * PUT /file: queued -> saving -> active, with the bytes streamed through the hashes into
   * the store. On any failure the image goes back to queued with nothing stored (Glance v2).
   */
  async upload(caller: Caller, id: string, body: Readable): Promise<void> {
    await this.quotas.enforce(caller.projectId, 'image_size_total');
    const image = await this.images.get(caller, id);
    authorize(caller, 'upload_image', image);
    if (image.status !== 'queued') throw conflict(`Image status transition from ${image.status} to saving is not allowed`);
    const missing = (['disk_format', 'container_format'] as const).filter((k) => !image[k]);
    if (missing.length === 1) throw badRequest(`Property ${missing[0]} must be set prior to saving data.`);
    if (missing.length > 1) throw badRequest(`Properties ${missing.join(', ')} must be set prior to saving data.`);
    if (!(await this.deps.images.transition(id, ['queued'], 'saving', { worker: this.deps.worker }))) {
      const now = await this.deps.images.get(id);
      throw conflict(`Image status transition from ${now?.status ?? 'deleted'} to saving is not allowed`);
    }
    const restore = () => this.deps.images.transition(id, ['saving'], 'queued', { size: null, virtual_size: null, worker: null });
    try {
      await this.quotas.enforce(caller.projectId, 'image_count_uploading');
    } catch (e) {
      await restore();
      throw e;
    }
    const store = this.deps.stores.data;
    const digest = guarded(body, new DigestStream(this.deps.config.maxImageSize, this.deps.hashes));
    try {
      await store.put(id, digest);
    } catch (e) {
      await restore();
      throw e;
    }
    const d = digest.digest();
    const ok = await this.deps.images.transition(id, ['saving'], 'active', {
      size: d.size, virtual_size: virtualSize(image.disk_format, d.header, d.size),
      checksum: d.checksum, os_hash_algo: d.os_hash_algo, os_hash_value: d.os_hash_value,
      store_id: store.id, store_key: id, worker: null,
    });
    if (!ok) {
      await store.delete(id).catch(() => undefined);
      throw new HttpError(410, `Image ${id} could not be found after upload. The image may have been deleted during the upload, cleaning up the chunks uploaded.`);
    }
  }

  /**
   * Glance v1's location: a queued image becomes active with its data left at an http(s) URL
   * (rule set_image_location). The URL is recorded, not contacted (no request leaves this cloud
   * on a user's behalf): the size is what the caller says, else 0, and there is no checksum.
   */
  async setLocation(caller: Caller, id: string, url: string, size?: number): Promise<void> {
    checkExternalUrl(url);
    if (url.length > 2048) throw badRequest('The location URL is too long.');
    const image = await this.images.get(caller, id);
    authorize(caller, 'set_image_location', image);
    const missing = (['disk_format', 'container_format'] as const).filter((k) => !image[k]);
    if (missing.length) throw badRequest(`Property ${missing.join(', ')} must be set prior to saving data.`);
    if (!(await this.deps.images.transition(id, ['queued'], 'active', { size: size ?? 0, store_id: LOCATION_STORE, store_key: url }))) {
      const now = await this.deps.images.get(id);
      throw conflict(`Image status transition from ${now?.status ?? 'deleted'} to active is not allowed`);
    }
  }

  /** PUT /stage: queued -> uploading, the bytes kept in the staging store for an import. */
  async stage(caller: Caller, id: string, body: Readable): Promise<void> {
    await this.quotas.enforce(caller.projectId, 'image_stage_total');
    const image = await this.images.get(caller, id);
    authorize(caller, 'modify_image', image);
    if (!(await this.deps.images.transition(id, ['queued'], 'uploading', { worker: this.deps.worker }))) {
      throw conflict(`Image status transition from ${image.status} to uploading is not allowed`);
    }
    const restore = async () => {
      await this.deps.stores.staging.delete(id).catch(() => undefined);
      await this.deps.images.transition(id, ['uploading'], 'queued', { size: null, virtual_size: null, worker: null });
    };
    try {
      await this.quotas.enforce(caller.projectId, 'image_count_uploading');
      const counter = guarded(body, new SizeLimit(this.deps.config.maxImageSize));
      await this.deps.stores.staging.put(id, counter);
      if (!(await this.deps.images.transition(id, ['uploading'], 'uploading', { size: counter.size }))) {
        await this.deps.stores.staging.delete(id).catch(() => undefined);
        throw new HttpError(410, `Image ${id} could not be found after staging.`);
      }
    } catch (e) {
      if (e instanceof HttpError && e.status === 410) throw e;
      await restore();
      throw e;
    }
  }

  /** GET /file: the whole image or a range; 204 when there is no data yet. */
  async download(caller: Caller, id: string, rangeHeader?: string): Promise<Download | undefined> {
    const image = await this.images.get(caller, id);
    if (image.status === 'deactivated' && !caller.isAdmin) {
      throw forbidden('The requested image has been deactivated. Image data download is forbidden.');
    }
    authorize(caller, 'download_image', image);
    return this.open(image, rangeHeader);
  }

  /** The data of an image already authorized (downloads, and glance-download imports). */
  async open(image: ImageRecord, rangeHeader?: string): Promise<Download | undefined> {
    if (!image.store_key || image.size === null) return undefined;
    const store = this.deps.stores.data;
    if (image.store_id !== store.id) throw new HttpError(503, `Image ${image.id} is kept in store '${image.store_id}', which is not available here.`);
    const range = parseRange(rangeHeader, image.size);
    if (range === 'unsatisfiable') {
      throw new HttpError(416, 'Requested range not satisfiable', 'Requested Range Not Satisfiable', { 'Content-Range': `bytes */${image.size}` });
    }
    try {
      const stream = await store.get(image.store_key, range);
      return {
        stream,
        length: range ? range.end - range.start + 1 : image.size,
        size: image.size,
        checksum: image.checksum,
        range,
      };
    } catch (e) {
      if (e instanceof StoreNotFoundError) return undefined;
      throw e;
    }
  }

  /** Whether the caller may download an image (glance-download checks its source so). */
  mayDownload(caller: Caller, image: ImageRecord): boolean {
    if (image.status === 'deactivated' && !caller.isAdmin) return false;
    return caller.allowed('download_image', imageTarget(image, caller));
  }
}
