import { randomUUID } from 'node:crypto';
import { badRequest, HttpError, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { AttachmentRow, VolumeRow } from '../db/schema.js';
import { background, fromJson, lockKey, toJson, type Caller, type VolumeContext } from './context.js';
import { checkQuota } from './quotas.js';
import { ensureDefaultType, findType } from './types.js';

const GiB = 1024 ** 3;

export const invalidVolume = (why: string) => badRequest(`Invalid volume: ${why}`);
export const volumeNotFound = (id: string) => notFound(`Volume ${id} could not be found.`);

/** A volume the caller may see (its project's, or any for an admin); 404 otherwise. */
export async function getVolume(c: VolumeContext, caller: Caller | null, id: string): Promise<VolumeRow> {
  const row = await c.db.selectFrom('volume').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (caller && !caller.isAdmin && row.project_id !== caller.projectId)) throw volumeNotFound(id);
  return row;
}

export interface VolumeFilters {
  allTenants?: boolean;
  projectId?: string;
  name?: string;
  status?: string;
  metadata?: Record<string, string>;
  bootable?: boolean;
  availabilityZone?: string;
}

/** The caller's volumes (all projects' for an admin asking all_tenants), newest first. */
export async function listVolumes(c: VolumeContext, caller: Caller, f: VolumeFilters): Promise<VolumeRow[]> {
  let q = c.db.selectFrom('volume').selectAll();
  if (!(caller.isAdmin && f.allTenants)) q = q.where('project_id', '=', caller.projectId);
  else if (f.projectId) q = q.where('project_id', '=', f.projectId);
  if (f.name !== undefined) q = q.where('name', '=', f.name);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.availabilityZone !== undefined) q = q.where('availability_zone', '=', f.availabilityZone);
  if (f.bootable !== undefined) q = q.where('bootable', '=', f.bootable ? 1 : 0);
  let rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  if (f.metadata && Object.keys(f.metadata).length) {
    const want = Object.entries(f.metadata);
    rows = rows.filter((r) => { const m = fromJson<Record<string, string>>(r.metadata, {}); return want.every(([k, v]) => m[k] === v); });
  }
  return rows;
}

export interface CreateVolume {
  size?: number;
  name?: string | null;
  description?: string | null;
  metadata?: Record<string, string>;
  volumeType?: string;
  availabilityZone?: string;
  imageRef?: string;
  sourceVolid?: string;
  snapshotId?: string;
  multiattach?: boolean;
}

/** Creates a volume record (creating) within quota; the back end fills it in the background. */
export async function createVolume(c: VolumeContext, caller: Caller & { roles?: string[] }, r: CreateVolume): Promise<VolumeRow> {
  if (r.availabilityZone !== undefined && r.availabilityZone !== c.availabilityZone) throw badRequest(`Invalid availability zone: ${r.availabilityZone}`);
  let size = r.size;
  let source: { volumeId?: string; snapshotId?: string } | undefined;
  let typeId: string | undefined;
  let bootable = 0;
  let imageMeta: Record<string, unknown> | null = null;
  let image: Record<string, unknown> | undefined;
  if (r.snapshotId) {
    const snap = await c.db.selectFrom('snapshot').selectAll().where('id', '=', r.snapshotId).executeTakeFirst();
    if (!snap || (!caller.isAdmin && snap.project_id !== caller.projectId)) throw notFound(`Snapshot ${r.snapshotId} could not be found.`);
    if (snap.status !== 'available') throw badRequest(`Invalid snapshot: Originating snapshot status must be one of 'available' values`);
    size ??= snap.size;
    if (size < snap.size) throw badRequest(`Invalid input received: Volume size '${size}'GB cannot be smaller than the snapshot size ${snap.size}GB. They must be >= original snapshot size.`);
    const vol = await c.db.selectFrom('volume').select(['volume_type_id', 'bootable', 'image_metadata']).where('id', '=', snap.volume_id).executeTakeFirst();
    typeId = vol?.volume_type_id;
    bootable = vol?.bootable ?? 0;
    imageMeta = fromJson(vol?.image_metadata, null);
    source = { snapshotId: snap.id };
  } else if (r.sourceVolid) {
    const src = await c.db.selectFrom('volume').selectAll().where('id', '=', r.sourceVolid).executeTakeFirst();
    if (!src || (!caller.isAdmin && src.project_id !== caller.projectId)) throw volumeNotFound(r.sourceVolid);
    if (!['available', 'in-use'].includes(src.status)) throw invalidVolume(`Volume ${src.id} status must be available or in-use, but current status is: ${src.status}.`);
    size ??= src.size;
    if (size < src.size) throw badRequest(`Invalid input received: Volume size '${size}'GB cannot be smaller than original volume size ${src.size}GB. They must be >= original volume size.`);
    typeId = src.volume_type_id;
    bootable = src.bootable;
    imageMeta = fromJson(src.image_metadata, null);
    source = { volumeId: src.id };
  } else if (r.imageRef) {
    if (!c.image) throw badRequest('Invalid image identifier or unable to access requested image.');
    image = await c.image.getImage(r.imageRef, { projectId: caller.projectId, isAdmin: caller.isAdmin });
    if (!image) throw badRequest('Invalid image identifier or unable to access requested image.');
    if (image.status !== 'active') throw badRequest(`Invalid image identifier or unable to access requested image: image ${r.imageRef} is not active.`);
    const imageGb = Math.ceil(Number(image.size ?? 0) / GiB);
    const minDisk = Number(image.min_disk ?? 0);
    size ??= Math.max(1, imageGb, minDisk);
    if (size < imageGb) throw badRequest(`Invalid input received: Size of specified image ${imageGb}GB is larger than volume size ${size}GB.`);
    if (size < minDisk) throw badRequest(`Invalid input received: Volume size ${size}GB cannot be smaller than the image minDisk size ${minDisk}GB.`);
    bootable = 1;
    imageMeta = imageMetadataOf(image);
  }
  if (size === undefined || !Number.isInteger(size) || size < 1) throw badRequest(`Invalid input received: "size" (${String(size)}) must be an integer greater than 0.`);
  if (r.volumeType !== undefined) typeId = (await findType(c, r.volumeType, caller)).id;
  typeId ??= (await ensureDefaultType(c)).id;
  // no key manager here: a volume of an encrypted type would be created unencrypted
  const enc = await c.db.selectFrom('volume_type_encryption').select('provider').where('volume_type_id', '=', typeId).executeTakeFirst();
  if (enc) throw badRequest(`Invalid input received: volumes of an encrypted volume type (provider ${enc.provider}) cannot be created: no key manager is configured.`);
  const now = nowIso();
  const row: VolumeRow = {
    id: randomUUID(), project_id: caller.projectId, user_id: caller.userId, name: r.name ?? null, description: r.description ?? null,
    size, status: 'creating', attach_status: 'detached', availability_zone: c.availabilityZone, volume_type_id: typeId,
    snapshot_id: r.snapshotId ?? null, source_volid: r.sourceVolid ?? null, bootable, readonly: 0, multiattach: r.multiattach ? 1 : 0,
    metadata: toJson(r.metadata ?? {}), image_metadata: imageMeta ? toJson(imageMeta) : null, host: c.host, created_at: now, updated_at: now,
  };
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `volume-quota:${caller.projectId}`);
    await checkQuota(trx, caller.projectId, { volumes: 1, gigabytes: size });
    await trx.insertInto('volume').values(row).execute();
  });
  const id = row.id;
  background(c, async () => {
    if (source) await c.driver.clone(source, id, size);
    else if (image) {
      const data = await c.image!.openData(String(image.id), { projectId: caller.projectId, isAdmin: caller.isAdmin });
      if (!data) throw new Error(`image ${String(image.id)} has no data`);
      await c.driver.createFromImage(id, size, data.stream, String(image.disk_format ?? 'raw'));
    } else await c.driver.create(id, size);
    await setStatus(c, id, ['creating'], 'available');
  }, () => setStatus(c, id, ['creating'], 'error'));
  return row;
}

/** Glance's image properties as Cinder copies them (volume_image_metadata). */
function imageMetadataOf(image: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = { image_id: String(image.id), image_name: String(image.name ?? '') };
  for (const k of ['checksum', 'container_format', 'disk_format', 'min_disk', 'min_ram', 'size']) if (image[k] !== undefined && image[k] !== null) out[k] = String(image[k]);
  const skip = new Set(['id', 'name', 'status', 'visibility', 'protected', 'owner', 'created_at', 'updated_at', 'tags', 'file', 'schema', 'self', 'direct_url', 'locations', 'virtual_size', 'os_hash_algo', 'os_hash_value', 'os_hidden', 'stores', 'checksum', 'container_format', 'disk_format', 'min_disk', 'min_ram', 'size']);
  for (const [k, v] of Object.entries(image)) if (!skip.has(k) && typeof v === 'string') out[k] = v;
  return out;
}

/** Moves a volume from one of `from` to `to` (atomically); 400 Invalid volume when it is elsewhere. */
export async function setStatus(c: VolumeContext, id: string, from: string[], to: string, extra: Partial<VolumeRow> = {}): Promise<void> {
  const r = await c.db.updateTable('volume').set({ status: to, updated_at: nowIso(), ...extra }).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) {
    const now = await c.db.selectFrom('volume').select('status').where('id', '=', id).executeTakeFirst();
    if (!now) throw volumeNotFound(id);
    throw invalidVolume(`Volume status must be ${from.join(' or ')}, but current status is: ${now.status}.`);
  }
}

export async function updateVolume(c: VolumeContext, caller: Caller, id: string, set: { name?: string | null; description?: string | null; metadata?: Record<string, string> }): Promise<VolumeRow> {
  const row = await getVolume(c, caller, id);
  const values: Partial<VolumeRow> = { updated_at: nowIso() };
  if (set.name !== undefined) values.name = set.name;
  if (set.description !== undefined) values.description = set.description;
  if (set.metadata !== undefined) values.metadata = toJson(set.metadata);
  await c.db.updateTable('volume').set(values).where('id', '=', id).execute();
  return { ...row, ...values };
}

/** Deletes a volume that is not attached (Cinder: 400 Invalid volume otherwise); `cascade` takes its snapshots too. */
export async function deleteVolume(c: VolumeContext, caller: Caller, id: string, o: { cascade?: boolean; force?: boolean } = {}): Promise<void> {
  const row = await getVolume(c, caller, id);
  const attached = await c.db.selectFrom('volume_attachment').select('id').where('volume_id', '=', id).executeTakeFirst();
  const ok = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];
  if (attached || row.attach_status === 'attached') throw invalidVolume('Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.');
  if (!o.force && !ok.includes(row.status)) throw invalidVolume(`Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.`);
  const snaps = await c.db.selectFrom('snapshot').select(['id', 'status']).where('volume_id', '=', id).execute();
  if (snaps.length && !o.cascade) throw invalidVolume('Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.');
  await setStatus(c, id, o.force ? [row.status] : ok, 'deleting');
  background(c, async () => {
    for (const s of snaps) {
      await c.driver.deleteSnapshot(s.id);
      await c.db.deleteFrom('snapshot').where('id', '=', s.id).execute();
    }
    await c.driver.delete(id);
    await c.db.deleteFrom('volume').where('id', '=', id).execute();
  }, () => setStatus(c, id, ['deleting'], 'error_deleting'));
}

/** os-extend: an available volume grows (in-use too from 3.42; the guest sees it at its next start). */
export async function extendVolume(c: VolumeContext, caller: Caller, id: string, newSize: number, inUseOk: boolean): Promise<void> {
  const row = await getVolume(c, caller, id);
  const from = inUseOk ? ['available', 'in-use'] : ['available'];
  if (!from.includes(row.status)) throw invalidVolume(`Volume ${id} status must be ${from.join(' or ')} to extend, but current status is: ${row.status}.`);
  if (!Number.isInteger(newSize) || newSize <= row.size) throw badRequest(`Invalid input received: New size for extend must be greater than current size. (current: ${row.size}, extended: ${newSize}).`);
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `volume-quota:${row.project_id}`);
    await checkQuota(trx, row.project_id, { gigabytes: newSize - row.size });
    await setStatus({ ...c, db: trx }, id, [row.status], 'extending');
  });
  background(c, async () => {
    await c.driver.extend(id, newSize);
    await setStatus(c, id, ['extending'], row.status, { size: newSize });
  }, () => setStatus(c, id, ['extending'], 'error_extending'));
}

export async function attachmentsOf(c: VolumeContext, volumeIds: string[]): Promise<Map<string, AttachmentRow[]>> {
  const out = new Map<string, AttachmentRow[]>();
  if (volumeIds.length === 0) return out;
  const rows = await c.db.selectFrom('volume_attachment').selectAll().where('volume_id', 'in', volumeIds).orderBy('created_at').execute();
  for (const a of rows) (out.get(a.volume_id) ?? out.set(a.volume_id, []).get(a.volume_id)!).push(a);
  return out;
}

/** Reserves an available volume for an instance (os-reserve; Nova's attachment create): a reserved attachment. */
export async function reserve(c: VolumeContext, caller: Caller | null, id: string, instanceUuid: string | null, status = 'attaching'): Promise<AttachmentRow> {
  const row = await getVolume(c, caller, id);
  if (row.status !== 'available' && !(row.multiattach && row.status === 'in-use')) {
    throw invalidVolume(`Volume ${id} status must be available to reserve, but the current status is: ${row.status}.`);
  }
  await setStatus(c, id, [row.status], row.status === 'in-use' ? 'in-use' : status, row.status === 'in-use' ? {} : { attach_status: 'attaching' });
  const a: AttachmentRow = { id: randomUUID(), volume_id: id, instance_uuid: instanceUuid, attached_host: null, mountpoint: null, attach_status: 'reserved', attach_mode: 'rw', attached_at: null, created_at: nowIso() };
  await c.db.insertInto('volume_attachment').values(a).execute();
  return a;
}

/** The attachment is done (os-attach; Nova's attachment complete): the volume is in-use. */
export async function completeAttach(c: VolumeContext, attachmentId: string, o: { mountpoint?: string | null; host?: string | null; instanceUuid?: string | null; mode?: string }): Promise<void> {
  const a = await c.db.selectFrom('volume_attachment').selectAll().where('id', '=', attachmentId).executeTakeFirst();
  if (!a) throw notFound(`Volume attachment ${attachmentId} could not be found.`);
  await c.db.updateTable('volume_attachment').set({
    attach_status: 'attached', attached_at: nowIso(), mountpoint: o.mountpoint ?? a.mountpoint, attached_host: o.host ?? a.attached_host,
    instance_uuid: o.instanceUuid ?? a.instance_uuid, attach_mode: o.mode ?? a.attach_mode,
  }).where('id', '=', attachmentId).execute();
  await c.db.updateTable('volume').set({ status: 'in-use', attach_status: 'attached', updated_at: nowIso() }).where('id', '=', a.volume_id).execute();
}

/** Removes attachments (a detach, or a reservation given back); the volume is available when none is left. */
export async function removeAttachment(c: VolumeContext, volumeId: string, attachmentId?: string): Promise<void> {
  let q = c.db.deleteFrom('volume_attachment').where('volume_id', '=', volumeId);
  if (attachmentId) q = q.where('id', '=', attachmentId);
  await q.execute();
  const left = await c.db.selectFrom('volume_attachment').select(['id', 'attach_status']).where('volume_id', '=', volumeId).execute();
  const attached = left.some((x) => x.attach_status === 'attached');
  await c.db.updateTable('volume').set({
    status: attached ? 'in-use' : 'available', attach_status: attached ? 'attached' : 'detached', updated_at: nowIso(),
  }).where('id', '=', volumeId).where('status', 'not in', ['deleting', 'error_deleting']).execute();
}

/** os-unreserve: gives back reservations that never attached. */
export async function unreserve(c: VolumeContext, caller: Caller | null, id: string): Promise<void> {
  const row = await getVolume(c, caller, id);
  await c.db.deleteFrom('volume_attachment').where('volume_id', '=', id).where('attach_status', '=', 'reserved').execute();
  if (['attaching', 'reserved'].includes(row.status)) await removeAttachment(c, id, '__none__');
}

/** os-begin_detaching: in-use → detaching; os-roll_detaching: back. */
export async function beginDetaching(c: VolumeContext, caller: Caller | null, id: string): Promise<void> {
  const row = await getVolume(c, caller, id);
  if (row.status !== 'in-use' || row.attach_status !== 'attached') throw invalidVolume(`Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.`);
  await setStatus(c, id, ['in-use'], 'detaching', { attach_status: 'detaching' });
}

export async function rollDetaching(c: VolumeContext, caller: Caller | null, id: string): Promise<void> {
  await getVolume(c, caller, id);
  await c.db.updateTable('volume').set({ status: 'in-use', attach_status: 'attached', updated_at: nowIso() }).where('id', '=', id).where('status', '=', 'detaching').execute();
}

/** An admin sets a volume's state (os-reset_status). */
export async function resetStatus(c: VolumeContext, id: string, s: { status?: string; attachStatus?: string }): Promise<void> {
  const ok = ['creating', 'available', 'deleting', 'error', 'error_deleting', 'error_managing', 'managing', 'attaching', 'in-use', 'detaching', 'maintenance', 'reserved', 'extending', 'error_extending', 'downloading', 'uploading', 'retyping', 'backing-up', 'restoring-backup', 'error_restoring', 'awaiting-transfer'];
  if (s.status !== undefined && !ok.includes(s.status)) throw badRequest(`Invalid input received: Must specify a valid status`);
  if (s.attachStatus !== undefined && !['attached', 'detached'].includes(s.attachStatus)) throw badRequest(`Invalid input received: Must specify a valid attach status`);
  await getVolume(c, null, id);
  const set: Partial<VolumeRow> = { updated_at: nowIso() };
  if (s.status) set.status = s.status;
  if (s.attachStatus) set.attach_status = s.attachStatus;
  await c.db.updateTable('volume').set(set).where('id', '=', id).execute();
  if (s.attachStatus === 'detached') await c.db.deleteFrom('volume_attachment').where('volume_id', '=', id).execute();
}

export const quotaError = (e: unknown) => e instanceof HttpError && e.status === 413;

/** os-volume_upload_image: a new image in the image service with the volume's data (the volume is 'uploading' meanwhile). */
export async function uploadToImage(c: VolumeContext, caller: Caller & { roles?: string[] }, id: string, a: Record<string, any>): Promise<Record<string, unknown>> {
  if (!c.image) throw badRequest('Invalid input received: the image service is not available.');
  const row = await getVolume(c, caller, id);
  const force = a.force === true || a.force === 'true' || a.force === 'True';
  if (!(row.status === 'available' || (force && row.status === 'in-use'))) throw invalidVolume(`Volume ${id} status must be available or in-use with force, but current status is: ${row.status}.`);
  if (typeof a.image_name !== 'string' || !a.image_name) throw badRequest('Invalid input received: No image_name was specified in request.');
  const diskFormat = typeof a.disk_format === 'string' ? a.disk_format : 'raw';
  if (diskFormat !== 'raw') throw badRequest(`Invalid input received: this cloud uploads volumes as raw images (disk_format ${diskFormat} asked).`);
  const containerFormat = typeof a.container_format === 'string' ? a.container_format : 'bare';
  const viewer = { projectId: caller.projectId, isAdmin: caller.isAdmin, userId: caller.userId, roles: caller.roles };
  const body: Record<string, unknown> = { name: a.image_name, disk_format: diskFormat, container_format: containerFormat, min_disk: row.size };
  if (typeof a.visibility === 'string') body.visibility = a.visibility;
  if (typeof a.protected === 'boolean') body.protected = a.protected;
  const image = await c.image.createImage(body, viewer);
  await setStatus(c, id, [row.status], 'uploading');
  background(c, async () => {
    await c.image!.upload(String(image.id), await c.driver.read(id), viewer);
    await setStatus(c, id, ['uploading'], row.status);
  }, async () => {
    await c.image!.deleteImage(String(image.id), viewer).catch(() => undefined);
    await setStatus(c, id, ['uploading'], row.status);
  });
  const type = await c.db.selectFrom('volume_type').select('name').where('id', '=', row.volume_type_id).executeTakeFirst();
  return {
    id, updated_at: row.updated_at, status: 'uploading', display_description: row.description, size: row.size, volume_type: type ? { name: type.name, id: row.volume_type_id } : null,
    image_id: image.id, container_format: containerFormat, disk_format: diskFormat, image_name: a.image_name, protected: image.protected ?? false, visibility: image.visibility,
  };
}

/** os-retype: one back end here, so a new type is a relabel of an available or in-use volume. */
export async function retype(c: VolumeContext, caller: Caller, id: string, newType: unknown): Promise<void> {
  const row = await getVolume(c, caller, id);
  if (typeof newType !== 'string' || !newType) throw badRequest("Invalid input received: 'new_type' is a required property");
  if (!['available', 'in-use'].includes(row.status)) throw invalidVolume(`Volume ${id} status must be available or in-use, but current status is: ${row.status}.`);
  const t = await findType(c, newType, caller);
  if (t.id === row.volume_type_id) throw badRequest('Invalid input received: New volume type must be different from the original.');
  await setStatus(c, id, [row.status], 'retyping');
  await setStatus(c, id, ['retyping'], row.status, { volume_type_id: t.id });
}
