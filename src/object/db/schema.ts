/** The object service's tables (shared by the Swift front end and, later, S3). */
export interface AccountTable {
  name: string;
  project_id: string;
  /** Swift X-Timestamp of creation ("1700000000.12345"). */
  created_at: string;
  /** JSON: persisted headers by lower-case name (x-account-meta-*, quotas). */
  meta: string;
}

export interface ContainerTable {
  account: string;
  name: string;
  created_at: string;
  /** Last PUT/POST. */
  updated_at: string;
  /** JSON: x-container-meta-*, x-container-read/-write, x-versions-location... */
  meta: string;
}

export interface ObjectTable {
  account: string;
  container: string;
  name: string;
  size: number;
  etag: string;
  content_type: string;
  /** X-Timestamp of the PUT/POST that wrote this version. */
  timestamp: string;
  /** Last-Modified, ms since the epoch (of the data or of the last POST). */
  modified_ms: number;
  /** JSON: x-object-meta-*, content-encoding, content-disposition, x-object-manifest... */
  headers: string;
  /** Where the bytes are in the ObjectStore. */
  data_key: string;
  /** X-Delete-At in seconds since the epoch, or null. */
  delete_at: number | null;
}

export interface ObjectDB {
  swift_account: AccountTable;
  swift_container: ContainerTable;
  swift_object: ObjectTable;
}
