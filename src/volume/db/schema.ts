/** The volume service's tables (Cinder's, reduced to what this build serves). */
export interface VolumeRow {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  size: number;
  /** creating, available, reserved, attaching, in-use, detaching, extending, deleting, error, error_deleting, error_extending */
  status: string;
  /** detached, attaching, attached, detaching */
  attach_status: string;
  availability_zone: string;
  volume_type_id: string;
  snapshot_id: string | null;
  source_volid: string | null;
  bootable: number;
  readonly: number;
  multiattach: number;
  /** JSON object of string values */
  metadata: string;
  /** JSON object: the image's properties when made from an image, else null */
  image_metadata: string | null;
  /** the back end's host@backend#pool */
  host: string;
  created_at: string;
  updated_at: string | null;
}

export interface AttachmentRow {
  id: string;
  volume_id: string;
  instance_uuid: string | null;
  attached_host: string | null;
  mountpoint: string | null;
  /** reserved, attaching, attached, detaching */
  attach_status: string;
  attach_mode: string;
  attached_at: string | null;
  created_at: string;
}

export interface SnapshotRow {
  id: string;
  project_id: string;
  user_id: string;
  volume_id: string;
  name: string | null;
  description: string | null;
  size: number;
  /** creating, available, deleting, error */
  status: string;
  metadata: string;
  /** '80%' when a back end reported it (os-update_snapshot_status); else from the status */
  progress: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface VolumeTypeRow {
  id: string;
  name: string;
  description: string | null;
  is_public: number;
  /** JSON object of string values */
  extra_specs: string;
  /** the QoS specs associated with the type */
  qos_specs_id?: string | null;
  created_at: string;
}

/** A volume type's encryption spec (what a front end would use to encrypt its volumes). */
export interface TypeEncryptionRow {
  volume_type_id: string;
  encryption_id: string;
  provider: string;
  cipher: string | null;
  key_size: number | null;
  /** front-end or back-end */
  control_location: string;
  created_at: string;
  updated_at: string | null;
}

export interface TransferRow {
  id: string;
  volume_id: string;
  /** the giving project */
  project_id: string;
  name: string | null;
  salt: string;
  crypt_hash: string;
  created_at: string;
}

export interface QosSpecRow {
  id: string;
  name: string;
  /** front-end, back-end or both */
  consumer: string;
  /** JSON object of string values */
  specs: string;
  created_at: string;
}

export interface VolumeTypeProjectRow {
  type_id: string;
  project_id: string;
}

export interface QuotaRow {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface VolumeDB {
  volume: VolumeRow;
  volume_attachment: AttachmentRow;
  snapshot: SnapshotRow;
  volume_type: VolumeTypeRow;
  volume_type_project: VolumeTypeProjectRow;
  qos_spec: QosSpecRow;
  transfer: TransferRow;
  volume_type_encryption: TypeEncryptionRow;
  quota: QuotaRow;
}
