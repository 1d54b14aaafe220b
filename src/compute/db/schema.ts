/**
 * The compute service's tables (its own database or PostgreSQL schema). Booleans are 0/1
 * integers and times ISO-8601 text, so SQLite and PostgreSQL behave alike. JSON columns are text.
 */
export interface FlavorRow {
  flavorid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  rxtx_factor: number;
  is_public: number;
  disabled: number;
  description: string | null;
  created_at: string;
  updated_at: string | null;
}
export interface FlavorExtraSpecRow { flavorid: string; key: string; value: string }
export interface FlavorProjectRow { flavorid: string; project_id: string }

export interface KeypairRow {
  user_id: string;
  name: string;
  type: string;
  public_key: string;
  fingerprint: string;
  created_at: string;
}

export interface InstanceRow {
  uuid: string;
  name: string;
  hostname: string;
  description: string | null;
  project_id: string;
  user_id: string;
  /** The flavor as booked (Nova keeps a copy: later flavor edits do not change servers). JSON. */
  flavor: string;
  /** During a resize: the new flavor (JSON), until confirmed or reverted. */
  new_flavor: string | null;
  image_ref: string;
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  host: string | null;
  node: string | null;
  availability_zone: string | null;
  reservation_id: string;
  launch_index: number;
  config_drive: string;
  access_ip_v4: string | null;
  access_ip_v6: string | null;
  locked: number;
  locked_by: string | null;
  locked_reason: string | null;
  progress: number;
  /** Network info cache, JSON: [{port_id, network, mac, ips: [{address, version, type}]}]. */
  network_info: string;
  /** Requested networks and security groups (JSON), as the create asked. */
  requested_networks: string;
  security_groups: string;
  /** Block device mapping v2 as requested (JSON). */
  block_device_mapping: string;
  scheduler_hints: string;
  /** Last fault (JSON {code, message, details, created}) or null. */
  fault: string | null;
  /** Driver-side facts worth showing (JSON): ssh_port, vnc_port ... */
  driver_info: string;
  launched_at: string | null;
  terminated_at: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  /** 0 while the server exists; 1 once deleted (kept for changes-since, usage, actions). */
  deleted: number;
  /** OS-DCF:diskConfig: 'AUTO' (grow the root partition to the disk) or 'MANUAL'. */
  disk_config: string;
}
export interface InstanceMetadataRow { instance_uuid: string; key: string; value: string }
export interface InstanceTagRow { instance_uuid: string; tag: string }
/** A personality file (create/rebuild before 2.57): its path in the guest and its contents, base64 as given. */
export interface InstanceFileRow { instance_uuid: string; seq: number; path: string; contents: string }

export interface InstanceActionRow {
  id: string;
  instance_uuid: string;
  action: string;
  request_id: string;
  user_id: string;
  project_id: string;
  start_time: string;
  finish_time: string | null;
  message: string | null;
  updated_at: string;
}
export interface InstanceActionEventRow {
  id: string;
  action_id: string;
  event: string;
  start_time: string;
  finish_time: string | null;
  result: string | null;
  traceback: string | null;
  host: string | null;
  details: string | null;
}

/** A compute agent (nova-compute) or other service row, for os-services. */
export interface ServiceRow {
  id: string;
  host: string;
  binary: string;
  topic: string;
  zone: string;
  disabled: number;
  disabled_reason: string | null;
  forced_down: number;
  last_seen_up: string | null;
  created_at: string;
  updated_at: string;
}
/** One hypervisor node; its uuid is its placement resource provider. */
export interface ComputeNodeRow {
  uuid: string;
  id: number;
  host: string;
  hypervisor_hostname: string;
  hypervisor_type: string;
  hypervisor_version: number;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  host_ip: string;
  cpu_info: string;
  created_at: string;
  updated_at: string;
}

export interface AggregateRow { id: number; uuid: string; name: string; availability_zone: string | null; created_at: string; updated_at: string | null }
export interface AggregateHostRow { aggregate_id: number; host: string }
export interface AggregateMetadataRow { aggregate_id: number; key: string; value: string }

export interface ServerGroupRow {
  uuid: string;
  name: string;
  project_id: string;
  user_id: string;
  policy: string;
  rules: string;
  created_at: string;
}
export interface ServerGroupMemberRow { group_uuid: string; instance_uuid: string }

/** Per-project (or per-user) quota overrides; defaults come from quota classes. */
export interface QuotaRow { project_id: string; user_id: string; resource: string; hard_limit: number }
export interface QuotaClassRow { class_name: string; resource: string; hard_limit: number }

export interface MigrationRow {
  id: number;
  uuid: string;
  instance_uuid: string;
  migration_type: string;
  status: string;
  source_compute: string | null;
  dest_compute: string | null;
  source_node: string | null;
  dest_node: string | null;
  old_flavorid: string | null;
  new_flavorid: string | null;
  project_id: string;
  user_id: string;
  created_at: string;
  updated_at: string;
}

/** A nova-network-era security group (integer ids, as Nova served them before Neutron). */
export interface SecurityGroupRow {
  id: number;
  uuid: string;
  project_id: string;
  name: string;
  description: string;
  created_at: string;
}
/** An ingress rule of a security group: a CIDR or a source group, a protocol and a port range. */
export interface SecurityGroupRuleRow {
  id: number;
  /** The group the rule belongs to (Nova's parent_group_id). */
  group_id: number;
  ip_protocol: string | null;
  from_port: number | null;
  to_port: number | null;
  cidr: string | null;
  /** The source group (Nova's rule group_id), or null for a CIDR rule. */
  source_group_id: number | null;
  created_at: string;
}

/** A volume attached to a server (Nova's block device mapping of a volume). */
export interface BlockDeviceMappingRow {
  uuid: string;
  instance_uuid: string;
  volume_id: string;
  /** the volume service's attachment */
  attachment_id: string;
  device_name: string;
  tag: string | null;
  delete_on_termination: number;
  created_at: string;
}

export interface ComputeDB {
  block_device_mapping: BlockDeviceMappingRow;
  flavor: FlavorRow;
  flavor_extra_spec: FlavorExtraSpecRow;
  flavor_project: FlavorProjectRow;
  keypair: KeypairRow;
  instance: InstanceRow;
  instance_metadata: InstanceMetadataRow;
  instance_tag: InstanceTagRow;
  instance_file: InstanceFileRow;
  instance_action: InstanceActionRow;
  instance_action_event: InstanceActionEventRow;
  service: ServiceRow;
  compute_node: ComputeNodeRow;
  aggregate: AggregateRow;
  aggregate_host: AggregateHostRow;
  aggregate_metadata: AggregateMetadataRow;
  server_group: ServerGroupRow;
  server_group_member: ServerGroupMemberRow;
  quota: QuotaRow;
  quota_class: QuotaClassRow;
  migration: MigrationRow;
  security_group: SecurityGroupRow;
  security_group_rule: SecurityGroupRuleRow;
}
