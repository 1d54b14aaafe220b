import type { RequestCtx } from '../../core/http/routes.js';
import type { AttachmentRow, SnapshotRow, VolumeRow, VolumeTypeRow } from '../db/schema.js';
import { fromJson } from '../service/context.js';
import { at, cinderTime, links } from './common.js';

export const attachmentView = (a: AttachmentRow) => ({
  server_id: a.instance_uuid, attachment_id: a.id, attached_at: cinderTime(a.attached_at), host_name: a.attached_host,
  volume_id: a.volume_id, device: a.mountpoint, id: a.volume_id,
});

/**
 * A volume as Cinder shows it: `create` (the POST/PUT answer) leaves out the admin and
 * extended attributes; `detail` (show, list detail) has them by microversion.
 */
export function volumeView(ctx: RequestCtx, v: VolumeRow, o: { attachments: AttachmentRow[]; typeName: string; isAdmin: boolean; form: 'create' | 'detail' }) {
  const out: Record<string, unknown> = {
    id: v.id, status: v.status, size: v.size, availability_zone: v.availability_zone, created_at: cinderTime(v.created_at), updated_at: cinderTime(v.updated_at),
    attachments: o.attachments.filter((a) => a.attach_status === 'attached').map(attachmentView),
    name: v.name, description: v.description, volume_type: o.typeName, snapshot_id: v.snapshot_id, source_volid: v.source_volid,
    metadata: fromJson<Record<string, string>>(v.metadata, {}), links: links(ctx, 'volumes', v.id), user_id: v.user_id,
    bootable: v.bootable ? 'true' : 'false', encrypted: false, replication_status: null, consistencygroup_id: null, multiattach: !!v.multiattach,
  };
  if (o.form === 'detail') {
    out['os-vol-tenant-attr:tenant_id'] = v.project_id;
    if (v.image_metadata) out.volume_image_metadata = fromJson(v.image_metadata, {});
    if (o.isAdmin) {
      out['os-vol-host-attr:host'] = v.host;
      out['os-vol-mig-status-attr:migstat'] = null;
      out['os-vol-mig-status-attr:name_id'] = null;
      out.migration_status = null;
    }
  }
  if (at(ctx, '3.13')) out.group_id = null;
  if (at(ctx, '3.21') && o.isAdmin) out.provider_id = null;
  if (at(ctx, '3.48')) {
    out.shared_targets = false;
    out.service_uuid = null;
  }
  if (at(ctx, '3.61') && o.isAdmin && o.form === 'detail') out.cluster_name = null;
  if (at(ctx, '3.63')) out.volume_type_id = v.volume_type_id;
  if (at(ctx, '3.64')) out.encryption_key_id = null;
  if (at(ctx, '3.65')) out.consumes_quota = true;
  return out;
}

export const volumeSummary = (ctx: RequestCtx, v: VolumeRow) => ({ id: v.id, links: links(ctx, 'volumes', v.id), name: v.name });

export function snapshotView(ctx: RequestCtx, s: SnapshotRow, detail: boolean) {
  const out: Record<string, unknown> = {
    id: s.id, status: s.status, description: s.description, created_at: cinderTime(s.created_at), updated_at: cinderTime(s.updated_at),
    name: s.name, volume_id: s.volume_id, metadata: fromJson<Record<string, string>>(s.metadata, {}), size: s.size,
  };
  if (detail) {
    out['os-extended-snapshot-attributes:progress'] = s.progress ?? (s.status === 'available' ? '100%' : '0%');
    out['os-extended-snapshot-attributes:project_id'] = s.project_id;
  }
  if (at(ctx, '3.41')) out.user_id = s.user_id;
  if (at(ctx, '3.65')) out.consumes_quota = true;
  return out;
}

export const typeView = (t: VolumeTypeRow, isAdmin: boolean) => ({
  id: t.id, name: t.name, description: t.description, is_public: !!t.is_public, 'os-volume-type-access:is_public': !!t.is_public,
  ...(isAdmin ? { extra_specs: fromJson<Record<string, string>>(t.extra_specs, {}) } : {}),
});
