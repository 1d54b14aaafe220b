import { randomUUID } from 'node:crypto';
import { HttpError, badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import type { ImageListQuery, ImageRecord } from '../db/images-repo.js';
import { imageTarget, isVisible, type Caller, type ImageDeps } from './context.js';
import { validateImage } from './image-schema.js';
import { isReserved, type Change } from './patch.js';
import type { ImageQuotas } from './quotas.js';

/** Glance's per-image caps (image_property_quota, image_tag_quota). */
export const PROPERTY_QUOTA = 128;
export const TAG_QUOTA = 128;

/** Attributes of the image itself (everything else in a body is a custom property). */
const BASE_ATTRIBUTES = ['name', 'visibility', 'protected', 'os_hidden', 'min_ram', 'min_disk', 'owner', 'container_format', 'disk_format', 'tags'];
/** Create may not set these (Glance: read-only, 403). */
const CREATE_READONLY = ['created_at', 'updated_at', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size'];
const CREATE_DISALLOWED = ['direct_url', 'self', 'file', 'schema', 'stores'];
const CREATE_RESERVED = ['locations', 'location', 'deleted', 'deleted_at'];

const now = () => new Date().toISOString();

/**
 * Enforces a rule on an image as Glance's ImageAPIPolicy does: a caller who may not even see
 * the image gets 404 (its existence stays hidden), one who may see it 403.
 */
export function authorize(caller: Caller, rule: string, image: ImageRecord): void {
  const target = imageTarget(image, caller);
  if (caller.allowed(rule, target)) return;
  if (rule === 'get_image' || !caller.allowed('get_image', target)) throw notFound(`No image found with ID ${image.id}`);
  throw forbidden(`You are not authorized to perform the requested action: ${rule}.`);
}

/** Visibility changes have their own rules (publicize_image, communitize_image). */
function authorizeVisibility(caller: Caller, visibility: unknown, target: Record<string, unknown>): void {
  const rule = visibility === 'public' ? 'publicize_image' : visibility === 'community' ? 'communitize_image' : undefined;
  if (rule && !caller.allowed(rule, target)) throw forbidden(`You are not authorized to perform the requested action: ${rule}.`);
}

/** Images: create, read, list, change and delete their records (data lives in image-data.ts). */
export class Images {
  constructor(private readonly deps: ImageDeps, private readonly quotas: ImageQuotas) {}

  /** An image the caller may see (Glance's image_repo.get plus get_image), else 404. */
  async get(caller: Caller, id: string): Promise<ImageRecord> {
    const image = await this.deps.images.get(id);
    if (!image || !(await isVisible(this.deps, image, caller))) throw notFound(`No image found with ID ${id}`);
    authorize(caller, 'get_image', image);
    return image;
  }

  async create(caller: Caller, body: unknown): Promise<ImageRecord> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Body expected in request.');
    const input = { ...(body as Record<string, unknown>) };
    for (const k of CREATE_DISALLOWED) if (k in input) throw forbidden(`Attribute '${k}' is read-only.`);
    const bad = validateImage(input);
    if (bad) throw badRequest(bad);
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(input)) {
      if (BASE_ATTRIBUTES.includes(k) || k === 'id' || CREATE_READONLY.includes(k)) continue;
      if (k.length > 255) throw badRequest('Custom property should not be greater than 255 characters.');
      if (isReserved(k) || CREATE_RESERVED.includes(k)) throw forbidden(`Attribute '${k}' is reserved.`);
      extra[k] = v as string;
    }
    const owner = (input.owner as string | null | undefined) ?? caller.projectId;
    const visibility = (input.visibility as string | undefined) ?? 'shared';
    const target = { project_id: owner, owner, visibility };
    if (!caller.allowed('add_image', target)) {
      if (owner !== caller.projectId) throw forbidden(`You are not permitted to create images owned by '${owner}'`);
      throw forbidden('You are not authorized to perform the requested action: add_image.');
    }
    authorizeVisibility(caller, visibility, target);
    for (const k of CREATE_READONLY) if (k in input) throw forbidden(`Attribute '${k}' is read-only.`);
    for (const k of ['min_ram', 'min_disk'] as const) {
      if ((input[k] as number) < 0) throw badRequest(`Invalid value '${input[k]}' for parameter '${k}': Cannot be a negative value.`);
    }
    const tags = [...new Set((input.tags as string[] | undefined) ?? [])];
    if (tags.length > TAG_QUOTA) throw new HttpError(413, `Maximum number of tags exceeded: Attempted: ${tags.length}, Maximum: ${TAG_QUOTA}`);
    if (Object.keys(extra).length > PROPERTY_QUOTA) {
      throw new HttpError(413, `Maximum number of properties exceeded: Attempted: ${Object.keys(extra).length}, Maximum: ${PROPERTY_QUOTA}`);
    }
    await this.quotas.enforce(caller.projectId, 'image_count_total', 1);
    const id = (input.id as string | undefined)?.toLowerCase() ?? randomUUID();
    if (await this.deps.images.get(id, true)) throw conflict(`An image with identifier ${id} already exists`);
    const t = now();
    const rec: ImageRecord = {
      id,
      name: (input.name as string | null | undefined) ?? null,
      status: 'queued',
      visibility,
      disk_format: (input.disk_format as string | null | undefined) ?? null,
      container_format: (input.container_format as string | null | undefined) ?? null,
      size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null,
      min_disk: (input.min_disk as number | undefined) ?? 0,
      min_ram: (input.min_ram as number | undefined) ?? 0,
      protected: input.protected === true ? 1 : 0,
      os_hidden: input.os_hidden === true ? 1 : 0,
      owner,
      created_at: t, updated_at: t, deleted: 0, deleted_at: null, store_id: null, store_key: null, worker: null,
      properties: extra,
      tags,
    };
    try {
      await this.deps.images.insert(rec);
    } catch (e) {
      if (await this.deps.images.get(id, true)) throw conflict(`An image with identifier ${id} already exists`);
      throw e;
    }
    return rec;
  }

  /** One page of the images the caller may list. */
  list(caller: Caller, q: Omit<ImageListQuery, 'viewer'>): Promise<ImageRecord[]> {
    return this.deps.images.list({ ...q, viewer: { projectId: caller.projectId, isAdmin: caller.isAdmin } });
  }

  /** Applies a decoded JSON patch, change by change as Glance does, and saves it at once. */
  async update(caller: Caller, id: string, changes: Change[]): Promise<ImageRecord> {
    for (let attempt = 0; ; attempt++) {
      const image = await this.get(caller, id);
      const next: ImageRecord = { ...image, properties: { ...image.properties }, tags: [...image.tags] };
      for (const c of changes) this.apply(caller, image, next, c);
      if (!changes.length) return image;
      if (next.tags.length > TAG_QUOTA) throw new HttpError(413, `Maximum number of tags exceeded: Attempted: ${next.tags.length}, Maximum: ${TAG_QUOTA}`);
      const count = Object.keys(next.properties).filter((k) => !k.startsWith('os_glance')).length;
      if (count > PROPERTY_QUOTA && count > Object.keys(image.properties).length) {
        throw new HttpError(413, `Maximum number of properties exceeded: Attempted: ${count}, Maximum: ${PROPERTY_QUOTA}`);
      }
      const row: Record<string, unknown> = {};
      for (const k of ['name', 'visibility', 'protected', 'os_hidden', 'min_ram', 'min_disk', 'owner', 'container_format', 'disk_format'] as const) {
        if (next[k] !== image[k]) row[k] = next[k];
      }
      const removed = Object.keys(image.properties).filter((k) => !(k in next.properties));
      const set = Object.fromEntries(Object.entries(next.properties).filter(([k, v]) => image.properties[k] !== v));
      const tagsChanged = next.tags.join('\u0000') !== image.tags.join('\u0000');
      // Formats may change only while queued: the save holds only if the status did not move meanwhile.
      const ok = await this.deps.images.save(id, {
        row: { ...row, updated_at: now() }, setProperties: set, removeProperties: removed,
        tags: tagsChanged ? next.tags : undefined, expectStatus: [image.status],
      });
      if (ok) return (await this.deps.images.get(id))!;
      if (attempt >= 2) throw conflict(`Image ${id} changed while it was being updated; try again.`);
    }
  }

  private apply(caller: Caller, image: ImageRecord, next: ImageRecord, c: Change): void {
    const root = c.path[0];
    const target = imageTarget(image, caller);
    if (root === 'locations') {
      authorize(caller, c.op === 'remove' ? 'delete_image_location' : 'set_image_location', image);
      throw forbidden(`It's not allowed to ${c.op === 'remove' ? 'remove' : c.op === 'add' ? 'add' : 'replace'} locations if locations are invisible.`);
    }
    if (c.op === 'replace' && root === 'owner' && !caller.isAdmin) throw forbidden("Owner can't be updated by non admin.");
    if (root === 'visibility' && c.op !== 'remove') authorizeVisibility(caller, c.value, target);
    authorize(caller, 'modify_image', image);
    const isBase = BASE_ATTRIBUTES.includes(root);
    if (c.op === 'remove') {
      if (isBase) throw forbidden(`Property ${root} may not be removed.`);
      if (!(root in next.properties)) throw conflict(`Property ${root} does not exist.`);
      delete next.properties[root];
      return;
    }
    if (c.op === 'replace' && !isBase && !(root in next.properties)) throw conflict(`Property ${root} does not exist.`);
    if (c.op === 'add' && c.draft === 4 && (isBase || root in next.properties)) throw conflict(`Property ${root} already present.`);
    if (!isBase) {
      next.properties[root] = c.value as string;
      return;
    }
    this.setAttribute(next, root, c.value);
  }

  private setAttribute(next: ImageRecord, key: string, value: unknown): void {
    switch (key) {
      case 'container_format':
      case 'disk_format':
        if (next.status !== 'queued' && next.status !== 'importing') throw forbidden(`Attribute ${key} can be only replaced for a queued image.`);
        next[key] = value as string | null;
        return;
      case 'min_ram':
      case 'min_disk':
        if ((value as number) < 0) throw badRequest(`Invalid value '${value}' for parameter '${key}': Cannot be a negative value.`);
        next[key] = value as number;
        return;
      case 'protected':
      case 'os_hidden':
        next[key] = value ? 1 : 0;
        return;
      case 'tags':
        next.tags = [...new Set(value as string[])].sort();
        return;
      case 'name':
      case 'owner':
        next[key] = value as string | null;
        return;
      case 'visibility':
        next.visibility = value as string;
        return;
    }
  }

  async delete(caller: Caller, id: string): Promise<ImageRecord> {
    const image = await this.get(caller, id);
    authorize(caller, 'delete_image', image);
    if (image.protected) throw forbidden(`Image ${id} is protected and cannot be deleted.`);
    if (!(await this.deps.images.markDeleted(id))) throw notFound(`Failed to find image ${id} to delete`);
    // The row says deleted before the bytes go: a crash in between leaves an orphan file,
    // which the next start removes, never an image without its data.
    await this.removeData(image);
    return image;
  }

  /** Removes an image's stored and staged data (idempotent). */
  async removeData(image: { id: string; store_id: string | null; store_key: string | null }): Promise<void> {
    const { data, staging } = this.deps.stores;
    if (image.store_key && image.store_id === data.id) {
      await data.delete(image.store_key).catch((e) => this.deps.logger.warn({ err: e, image: image.id }, 'could not remove image data'));
    }
    await staging.delete(image.id).catch(() => undefined);
  }

  async deactivate(caller: Caller, id: string): Promise<void> {
    const image = await this.get(caller, id);
    authorize(caller, 'deactivate', image);
    if (image.status === 'deactivated') return;
    if (image.status !== 'active') throw forbidden(`Not allowed to deactivate image in status '${image.status}'`);
    if (!(await this.deps.images.transition(id, ['active'], 'deactivated'))) throw conflict(`Image ${id} changed status; try again.`);
  }

  async reactivate(caller: Caller, id: string): Promise<void> {
    const image = await this.get(caller, id);
    authorize(caller, 'reactivate', image);
    if (image.status === 'active') return;
    if (image.status !== 'deactivated') throw forbidden(`Not allowed to reactivate image in status '${image.status}'`);
    if (!(await this.deps.images.transition(id, ['deactivated'], 'active'))) throw conflict(`Image ${id} changed status; try again.`);
  }

  async addTag(caller: Caller, id: string, tag: string): Promise<void> {
    const bad = validateImage({ tags: [tag] });
    if (bad) throw badRequest(bad);
    const image = await this.get(caller, id).catch(() => { throw notFound(`Image ${id} not found.`); });
    if (!caller.allowed('modify_image', imageTarget(image, caller))) throw forbidden(`Not allowed to update tags for image ${id}.`);
    if (image.tags.includes(tag)) return;
    if (image.tags.length >= TAG_QUOTA) {
      throw new HttpError(413, `Image tag limit exceeded for image ${id}: Maximum number of tags exceeded: Attempted: ${image.tags.length + 1}, Maximum: ${TAG_QUOTA}:`);
    }
    await this.deps.images.save(id, { tags: [...image.tags, tag].sort() });
  }

  async removeTag(caller: Caller, id: string, tag: string): Promise<void> {
    const image = await this.get(caller, id).catch(() => { throw notFound(`Image ${id} not found.`); });
    if (!caller.allowed('modify_image', imageTarget(image, caller))) throw forbidden(`Not allowed to delete tags for image ${id}.`);
    if (!image.tags.includes(tag)) throw notFound(`Tag ${tag} not found.`);
    await this.deps.images.save(id, { tags: image.tags.filter((t) => t !== tag) });
  }
}
