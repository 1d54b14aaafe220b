/**
 * The network service's tables (Neutron's model, flattened). Booleans are 0/1 integers and
 * lists are JSON text, as in the other services, so SQLite and PostgreSQL share one schema.
 * Every resource row carries Neutron's standard attributes: description, revision_number,
 * created_at, updated_at (tags live in `tag`).
 */

interface Standard {
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
}

export interface NetworkRow extends Standard {
  id: string;
  project_id: string;
  name: string;
  admin_state_up: number;
  status: string;
  /** Shared with every project (Neutron keeps this as a `access_as_shared` RBAC entry with target '*'; we keep both in sync). */
  shared: number;
  external: number;
  /** The default external network (auto-allocated topology picks it). */
  is_default: number;
  mtu: number;
  port_security_enabled: number;
  provider_network_type: string;
  provider_physical_network: string | null;
  provider_segmentation_id: number | null;
  /** JSON string[] */
  availability_zone_hints: string;
  dns_domain: string;
}

export interface SubnetRow extends Standard {
  id: string;
  project_id: string;
  network_id: string;
  name: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: number;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  subnetpool_id: string | null;
  /** JSON string[] */
  dns_nameservers: string;
  /** JSON {destination, nexthop}[] */
  host_routes: string;
  /** JSON {start, end}[] */
  allocation_pools: string;
  /** JSON string[] */
  service_types: string;
  segment_id: string | null;
}

/** One address handed out; the primary key is what makes IPAM exact under concurrency. */
export interface IpAllocationRow {
  subnet_id: string;
  ip_address: string;
  network_id: string;
  port_id: string;
}

export interface PortRow extends Standard {
  id: string;
  project_id: string;
  network_id: string;
  name: string;
  mac_address: string;
  admin_state_up: number;
  status: string;
  device_id: string;
  device_owner: string;
  binding_host_id: string;
  binding_vnic_type: string;
  binding_vif_type: string;
  /** JSON object */
  binding_profile: string;
  /** JSON object */
  binding_vif_details: string;
  port_security_enabled: number;
  /** JSON {ip_address, mac_address}[] */
  allowed_address_pairs: string;
  /** JSON {opt_name, opt_value, ip_version}[] */
  extra_dhcp_opts: string;
  dns_name: string;
  /** JSON string[]: the order a client gave, kept for display */
  security_groups: string;
  propagate_uplink_status: number;
}

export interface PortSecurityGroupRow {
  port_id: string;
  security_group_id: string;
}

export interface RouterRow extends Standard {
  id: string;
  project_id: string;
  name: string;
  admin_state_up: number;
  status: string;
  /** External gateway network, or null. */
  gw_network_id: string | null;
  gw_port_id: string | null;
  enable_snat: number;
  /** JSON {destination, nexthop}[] */
  routes: string;
  distributed: number;
  ha: number;
  /** JSON string[] */
  availability_zone_hints: string;
  /** The host whose agent runs this router. */
  host: string | null;
}

export interface FloatingIpRow extends Standard {
  id: string;
  project_id: string;
  floating_network_id: string;
  floating_ip_address: string;
  floating_port_id: string;
  port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
  dns_name: string;
  dns_domain: string;
}

export interface PortForwardingRow {
  id: string;
  floatingip_id: string;
  internal_port_id: string;
  internal_ip_address: string;
  internal_port: number;
  external_port: number;
  protocol: string;
  description: string;
}

export interface SecurityGroupRow extends Standard {
  id: string;
  project_id: string;
  name: string;
  stateful: number;
}

export interface SecurityGroupRuleRow extends Standard {
  id: string;
  project_id: string;
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  remote_address_group_id: string | null;
}

/** One default security group per project; the primary key stops a second one under races. */
export interface DefaultSecurityGroupRow {
  project_id: string;
  security_group_id: string;
}

export interface SubnetPoolRow extends Standard {
  id: string;
  project_id: string;
  name: string;
  ip_version: number;
  /** JSON string[] (CIDRs) */
  prefixes: string;
  default_prefixlen: number;
  min_prefixlen: number;
  max_prefixlen: number;
  shared: number;
  is_default: number;
  default_quota: number | null;
  address_scope_id: string | null;
}

export interface AddressScopeRow extends Standard {
  id: string;
  project_id: string;
  name: string;
  ip_version: number;
  shared: number;
}

export interface RbacPolicyRow {
  id: string;
  project_id: string;
  object_type: string;
  object_id: string;
  action: string;
  target_tenant: string;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface QuotaRow {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface TagRow {
  resource_type: string;
  resource_id: string;
  tag: string;
}

export interface AgentRow {
  id: string;
  agent_type: string;
  binary: string;
  host: string;
  topic: string;
  availability_zone: string | null;
  admin_state_up: number;
  /** JSON object */
  configurations: string;
  description: string | null;
  created_at: string;
  started_at: string;
  heartbeat_timestamp: string;
  /** Underlay address other hosts reach this one at (VXLAN). */
  tunnel_ip: string | null;
}

export interface AutoAllocatedTopologyRow {
  project_id: string;
  network_id: string;
  router_id: string | null;
}

export interface NetworkDB {
  network: NetworkRow;
  subnet: SubnetRow;
  ip_allocation: IpAllocationRow;
  port: PortRow;
  port_security_group: PortSecurityGroupRow;
  router: RouterRow;
  floating_ip: FloatingIpRow;
  port_forwarding: PortForwardingRow;
  security_group: SecurityGroupRow;
  security_group_rule: SecurityGroupRuleRow;
  default_security_group: DefaultSecurityGroupRow;
  subnet_pool: SubnetPoolRow;
  address_scope: AddressScopeRow;
  rbac_policy: RbacPolicyRow;
  quota: QuotaRow;
  tag: TagRow;
  agent: AgentRow;
  auto_allocated_topology: AutoAllocatedTopologyRow;
}
