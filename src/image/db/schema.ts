/**
 * The image service's tables (Kysely types). Booleans are 0/1 integers, timestamps ISO-8601
 * text with milliseconds (sortable as text), sizes 64-bit integers; the same queries run on
 * SQLite and PostgreSQL.
 */
export interface ImageDB {
  image: ImageRow;
  image_property: { image_id: string; name: string; value: string };
  image_tag: { image_id: string; value: string };
  image_member: MemberRow;
  image_task: TaskRow;
  metadef_namespace: NamespaceRow;
  metadef_item: MetadefItemRow;
  metadef_resource_type: { name: string; protected: number; created_at: string; updated_at: string };
  metadef_association: AssociationRow;
}

export interface NamespaceRow {
  id: string;
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: string;
  protected: number;
  owner: string;
  created_at: string;
  updated_at: string;
}

/** An object, property or tag of a metadata definition namespace. */
export interface MetadefItemRow {
  namespace_id: string;
  kind: 'object' | 'property' | 'tag';
  name: string;
  /** JSON document (the object, the property schema, or {} for a tag). */
  body: string;
  created_at: string;
  updated_at: string;
}

export interface AssociationRow {
  namespace_id: string;
  resource_type: string;
  prefix: string | null;
  properties_target: string | null;
  created_at: string;
  updated_at: string;
}

export interface ImageRow {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  protected: number;
  os_hidden: number;
  owner: string | null;
  created_at: string;
  updated_at: string;
  /** 1 once deleted: the id stays taken, as in Glance. */
  deleted: number;
  deleted_at: string | null;
  /** Store id and key of the image data (the store's own name for it), when there is data. */
  store_id: string | null;
  store_key: string | null;
  /** Who is moving data for this image (saving, uploading, importing): `<host>:<boot id>`. */
  worker: string | null;
}

export interface MemberRow {
  image_id: string;
  member: string;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface TaskRow {
  id: string;
  type: string;
  status: string;
  owner: string;
  image_id: string;
  user_id: string;
  request_id: string;
  /** JSON */
  input: string;
  /** JSON or null */
  result: string | null;
  message: string;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
}
