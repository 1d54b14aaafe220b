import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { HttpError, badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import type { ImageRecord } from '../db/images-repo.js';
import type { TaskRow } from '../db/schema.js';
import type { Caller, ImageDeps } from './context.js';
import { DigestStream, virtualSize } from './digest.js';
import { checkExternalUrl, guarded, type ImageData } from './image-data.js';
import { authorize, type Images } from './images.js';
import type { ImageQuotas } from './quotas.js';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const IMPORTING = 'os_glance_importing_to_stores';
const FAILED = 'os_glance_failed_import';
const LOCK = 'os_glance_import_task';
/** Properties glance-download copies from the source image (Glance's default prefixes). */
const DOWNLOAD_PROPERTIES = ['hw_', 'trait:', 'os_distro', 'os_secure_boot', 'os_type'];
const MAX_REDIRECTS = 5;

/** The source of an import: a stream, and the size it must have when known. */
interface Source {
  stream: Readable;
  expectedSize?: number;
}

/**
 * Interoperable image import: glance-direct (from staging), web-download (from URLs the
 * operator allows) and glance-download (from an image of this cloud's region). Each import is
 * a task (GET /v2/images/{id}/tasks) run in the background: importing -> active, or back to
 * queued with os_glance_failed_import on failure.
 */
export class Imports {
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: ImageDeps,
    private readonly images: Images,
    private readonly data: ImageData,
    private readonly quotas: ImageQuotas,
  ) {}

  /** The methods /v2/info/import offers. */
  methods(): string[] {
    const m = ['glance-direct', 'glance-download'];
    if (this.deps.config.webDownloadAllowedPrefixes.length) m.splice(1, 0, 'web-download');
    return m;
  }

  /** Whether the operator allows web-download from this URL. */
  allowedUrl(uri: string): boolean {
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    return this.deps.config.webDownloadAllowedPrefixes.some((p) => uri.startsWith(p));
  }

  /**
   * Glance v1's copy-from: an http(s) URL (else 400) the operator allows to fetch from, the
   * same allow-list as web-download (else 403, as Glance answers when its copy_from policy
   * refuses). Checked before the image is created.
   */
  checkCopyFrom(uri: string): void {
    checkExternalUrl(uri);
    if (!this.allowedUrl(uri)) throw forbidden(`You are not authorized to copy image data from ${uri}: the operator allows copying only from the prefixes in image.webDownloadAllowedPrefixes.`);
  }

  /** Glance v1's copy-from on a queued image: a web-download import of the URL, in the background. */
  async copyFrom(caller: Caller, id: string, uri: string): Promise<void> {
    this.checkCopyFrom(uri);
    await this.start(caller, id, { method: { name: 'web-download', uri } });
  }

  /** POST /import: checks the request as Glance does (400/403/404/409/413), then starts the task. */
  async start(caller: Caller, id: string, body: unknown): Promise<void> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Body expected in request.');
    const req = body as Record<string, unknown>;
    const method = req.method as Record<string, unknown> | undefined;
    if (typeof method !== 'object' || method === null) throw badRequest("Import request requires a 'method' field.");
    const name = method.name;
    if (name === undefined) throw badRequest("Import request requires a 'name' field.");
    if (typeof name !== 'string' || !this.methods().includes(name)) throw badRequest(`Unknown import method name '${String(name)}'.`);
    for (const k of ['all_stores_must_succeed', 'all_stores'] as const) {
      if (k in req && typeof req[k] !== 'boolean') throw badRequest(`'${k}' must be boolean value only`);
    }
    await this.quotas.enforce(caller.projectId, 'image_size_total');
    const image = await this.images.get(caller, id);
    if (image.status === 'active') throw conflict('Image with status active cannot be target for import');
    if (image.status !== 'queued' && (name === 'web-download' || name === 'glance-download')) {
      throw conflict(`Image needs to be in 'queued' state to use '${name}' method`);
    }
    if (image.status !== 'uploading' && name === 'glance-direct') throw conflict("Image needs to be staged before 'glance-direct' method can be used");
    if (!image.container_format) throw conflict("'container_format' needs to be set before import");
    if (!image.disk_format) throw conflict("'disk_format' needs to be set before import");
    if (name === 'glance-download') {
      if (!('glance_region' in method)) throw badRequest("'glance_region' needs to be set for glance-download import method");
      if (!('glance_image_id' in method)) throw badRequest("'glance_image_id' needs to be set for glance-download import method");
      if (typeof method.glance_image_id !== 'string' || !UUID.test(method.glance_image_id)) {
        throw badRequest(`Remote image id does not look like a UUID: ${String(method.glance_image_id)}`);
      }
      method.glance_service_interface ??= 'public';
    }
    authorize(caller, 'modify_image', image);
    if (image.properties[LOCK]) {
      const other = await this.deps.tasks.get(image.properties[LOCK]);
      if (other && (other.status === 'pending' || other.status === 'processing')) throw conflict('Image has active task');
    }
    const stores = this.storesOf(req);
    if (name === 'web-download' && (typeof method.uri !== 'string' || !this.allowedUrl(method.uri))) {
      throw badRequest(`URI for web-download does not pass filtering: ${String(method.uri)}`);
    }
    const t = new Date().toISOString();
    const task: TaskRow = {
      id: randomUUID(), type: 'api_image_import', status: 'pending', owner: caller.projectId ?? '', image_id: id,
      user_id: caller.userId, request_id: caller.requestId, input: JSON.stringify({ image_id: id, import_req: req, backend: stores }),
      result: null, message: '', expires_at: null, created_at: t, updated_at: t,
    };
    await this.deps.tasks.insert(task);
    const from = name === 'glance-direct' ? 'uploading' : 'queued';
    const locked = await this.deps.images.transition(id, [from], 'importing', { worker: this.deps.worker },
      { [LOCK]: task.id, [IMPORTING]: stores.join(',') }, [FAILED]);
    if (!locked) {
      await this.deps.tasks.update(task.id, { status: 'failure', message: 'Image changed status before the import began' });
      throw conflict(`New operation on image '${id}' is not permitted as prior operation is still in progress`);
    }
    const run = this.run(caller, { ...image, status: 'importing' }, task, name, method).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Store ids the import writes to: `stores`, or every writable store. Unknown ones: 409. */
  private storesOf(req: Record<string, unknown>): string[] {
    const known = this.deps.stores.data.id;
    const stores = req.stores;
    if (stores === undefined || req.all_stores === true) return [known];
    if (!Array.isArray(stores)) throw badRequest("'stores' must be a list of store identifiers");
    for (const s of stores) if (s !== known) throw conflict(`Unknown scheme '${String(s)}' found in URI`);
    return [known];
  }

  private async run(caller: Caller, image: ImageRecord, task: TaskRow, method: string, params: Record<string, unknown>): Promise<void> {
    const { images, tasks, stores, logger } = this.deps;
    const id = image.id;
    try {
      await tasks.update(task.id, { status: 'processing' });
      const source = await this.source(caller, image, method, params);
      const digest = guarded(source.stream, new DigestStream(this.deps.config.maxImageSize, this.deps.hashes));
      await stores.data.put(id, digest, { signal: this.stopping.signal });
      const d = digest.digest();
      if (source.expectedSize !== undefined && d.size !== source.expectedSize) {
        await stores.data.delete(id).catch(() => undefined);
        throw new Error(`Task ${task.id} failed because downloaded data size ${d.size} is different from expected ${source.expectedSize}`);
      }
      const current = await images.get(id);
      const ok = await images.transition(id, ['importing'], 'active', {
        size: d.size, virtual_size: virtualSize(current?.disk_format ?? image.disk_format, d.header, d.size),
        checksum: d.checksum, os_hash_algo: d.os_hash_algo, os_hash_value: d.os_hash_value,
        store_id: stores.data.id, store_key: id, worker: null,
      }, undefined, [IMPORTING, LOCK]);
      if (!ok) {
        await stores.data.delete(id).catch(() => undefined);
        throw new Error('Image has been deleted, aborting import.');
      }
      await stores.staging.delete(id).catch(() => undefined);
      await tasks.update(task.id, { status: 'success', result: JSON.stringify({ image_id: id }), message: '' });
    } catch (e) {
      const message = (e as Error).message;
      logger.info({ image: id, task: task.id, method, err: message }, 'image import failed');
      await stores.staging.delete(id).catch(() => undefined);
      await images.transition(id, ['importing'], 'queued', { size: null, virtual_size: null, worker: null },
        { [FAILED]: stores.data.id }, [IMPORTING, LOCK]).catch(() => false);
      await tasks.update(task.id, { status: 'failure', message }).catch(() => undefined);
    }
  }

  private async source(caller: Caller, image: ImageRecord, method: string, params: Record<string, unknown>): Promise<Source> {
    if (method === 'glance-direct') return { stream: await this.deps.stores.staging.get(image.id) };
    if (method === 'web-download') return { stream: await this.fetchAllowed(params.uri as string) };
    return this.fromGlance(caller, image, params);
  }

  /** Downloads a URL, following redirects only to URLs the operator allows too. */
  private async fetchAllowed(uri: string): Promise<Readable> {
    let url = uri;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (!this.allowedUrl(url)) throw new Error(`URI for web-download does not pass filtering: ${url}`);
      const r = await fetch(url, { redirect: 'manual' });
      if (r.status >= 300 && r.status < 400 && r.headers.get('location')) {
        await r.body?.cancel();
        url = new URL(r.headers.get('location')!, url).toString();
        continue;
      }
      if (!r.ok || !r.body) {
        await r.body?.cancel();
        throw new Error(`Failed to download ${url}: HTTP ${r.status}`);
      }
      return Readable.fromWeb(r.body as import('node:stream/web').ReadableStream);
    }
    throw new Error(`Too many redirects downloading ${uri}`);
  }

  /**
   * glance-download: the source is an image of this cloud's own region (the only region a
   * one-region Nubo has), read as the caller may; its formats and the properties Glance copies
   * (hw_*, trait:*, os_distro, os_secure_boot, os_type) go to the target first.
   */
  private async fromGlance(caller: Caller, image: ImageRecord, params: Record<string, unknown>): Promise<Source> {
    const region = String(params.glance_region);
    const iface = String(params.glance_service_interface ?? 'public');
    if (region.toLowerCase() !== this.deps.region.toLowerCase() || !['public', 'internal', 'admin'].includes(iface)) {
      throw new Error(`${iface} glance endpoint not found for region ${region}`);
    }
    const srcId = String(params.glance_image_id).toLowerCase();
    const src = await this.images.get(caller, srcId).catch(() => { throw notFound(`No image found with ID ${srcId}`); });
    if (src.status !== 'active') throw new Error(`Source image status should be active instead of ${src.status}`);
    if (!this.data.mayDownload(caller, src)) throw new HttpError(403, `Not allowed to download image ${srcId}`);
    const props = Object.fromEntries(Object.entries(src.properties).filter(([k]) => DOWNLOAD_PROPERTIES.some((p) => k.startsWith(p))));
    await this.deps.images.save(image.id, {
      row: { disk_format: src.disk_format, container_format: src.container_format }, setProperties: props, expectStatus: ['importing'],
    });
    const dl = await this.data.open(src);
    if (!dl) throw new Error(`Image ${srcId} has no data`);
    return { stream: dl.stream, expectedSize: src.size ?? undefined };
  }

  /** GET /v2/images/{id}/tasks. */
  async tasksOf(caller: Caller, id: string): Promise<TaskRow[]> {
    await this.images.get(caller, id);
    return this.deps.tasks.listByImage(id);
  }

  /** Stops imports in flight (shutdown): their images go back to queued, as after a failure. */
  async drain(): Promise<void> {
    this.stopping.abort(new Error('the image service is shutting down'));
    await Promise.allSettled([...this.running]);
  }
}
