import type { ImageRecord } from '../db/images-repo.js';
import type { MemberRow, TaskRow } from '../db/schema.js';
import { LOCATION_STORE } from '../service/image-data.js';

/** Glance's timestamps: ISO 8601 to the second, UTC, with a Z. */
export const isotime = (iso: string | null) => (iso ? `${iso.slice(0, 19)}Z` : null);

/** Properties Glance keeps to itself in responses. */
const HIDDEN = new Set(['os_glance_stage_host']);

/** An image's custom properties as the API shows them. */
export function shownProperties(img: ImageRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(img.properties).filter(([k]) => !HIDDEN.has(k)));
}

/** An image as GET /v2/images/{id} shows it (custom properties at the top level). */
export function imageView(img: ImageRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  Object.assign(view, shownProperties(img));
  Object.assign(view, {
    name: img.name,
    disk_format: img.disk_format,
    container_format: img.container_format,
    visibility: img.visibility,
    size: img.size,
    virtual_size: img.virtual_size,
    status: img.status,
    checksum: img.checksum,
    protected: img.protected === 1,
    min_ram: img.min_ram,
    min_disk: img.min_disk,
    owner: img.owner,
    os_hidden: img.os_hidden === 1,
    os_hash_algo: img.os_hash_algo,
    os_hash_value: img.os_hash_value,
    id: img.id,
    created_at: isotime(img.created_at),
    updated_at: isotime(img.updated_at),
    tags: img.tags,
    self: `/v2/images/${img.id}`,
    file: `/v2/images/${img.id}/file`,
    schema: '/v2/schemas/image',
  });
  // Multi-store Glance names the stores holding the data.
  if (img.store_id && img.store_id !== LOCATION_STORE && (img.status === 'active' || img.status === 'deactivated')) view.stores = img.store_id;
  return view;
}

export function memberView(m: MemberRow) {
  return {
    member_id: m.member,
    image_id: m.image_id,
    status: m.status,
    created_at: isotime(m.created_at),
    updated_at: isotime(m.updated_at),
    schema: '/v2/schemas/member',
  };
}

const json = (s: string | null) => {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

/** A task as GET /v2/images/{id}/tasks lists it. */
export function taskView(t: TaskRow) {
  return {
    id: t.id,
    type: t.type,
    status: t.status,
    owner: t.owner,
    expires_at: t.expires_at,
    created_at: t.created_at,
    updated_at: t.updated_at,
    deleted_at: null,
    deleted: false,
    image_id: t.image_id,
    request_id: t.request_id,
    user_id: t.user_id,
    input: json(t.input),
    result: json(t.result),
    message: t.message,
  };
}
