/**
 * The extensions this build really implements, as /v2.0/extensions lists them. Clients and
 * Tempest decide what to use and test from this list, so an alias goes here only with its code.
 */
export interface Extension { alias: string; name: string; description: string }

const ext = (alias: string, name: string, description: string): Extension => ({ alias, name, description });

export const EXTENSIONS: Extension[] = [
  ext('network_availability_zone', 'Network Availability Zone', 'Availability zone support for network.'),
  ext('availability_zone', 'Availability Zone', 'The availability zone extension.'),
  ext('external-net', 'Neutron external network', 'Adds external network attribute to network resource.'),
  ext('net-mtu', 'Network MTU', 'Provides MTU attribute for a network resource.'),
  ext('net-mtu-writable', 'Network MTU (writable)', 'Provides a writable MTU attribute for a network resource.'),
  ext('port-security', 'Port Security', 'Provides port security'),
  ext('provider', 'Provider Network', 'Expose mapping of virtual networks to physical networks'),
  ext('standard-attr-description', 'standard-attr-description', 'Extension to add descriptions to standard attributes'),
  ext('standard-attr-revisions', 'Resource revision numbers', 'This extension will display the revision number of neutron resources.'),
  ext('standard-attr-timestamp', 'Resource timestamps', 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.'),
  ext('project-id', 'project_id field enabled', 'Extension that indicates that project_id field is enabled.'),
  ext('pagination', 'Pagination support', 'Extension that indicates that pagination is enabled.'),
  ext('sorting', 'Sorting support', 'Extension that indicates that sorting is enabled.'),
  ext('fields', 'Fields support', 'Extension that indicates that the fields parameter is supported.'),
  ext('subnet_allocation', 'Subnet Allocation', 'Enables allocation of subnets from a subnet pool'),
  ext('allowed-address-pairs', 'Allowed Address Pairs', 'Provides allowed address pairs'),
  ext('extra_dhcp_opt', 'Neutron Extra DHCP options', 'Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)'),
  ext('binding', 'Port Binding', 'Expose port bindings of a virtual port to external application'),
  ext('ip-substring-filtering', 'IP address substring filtering', 'Provides IP address substring filtering when listing ports'),
  ext('network-ip-availability', 'Network IP Availability', 'Provides IP availability data for each network and subnet.'),
  ext('default-subnetpools', 'Default Subnetpools', 'Provides ability to mark and use a subnetpool as the default.'),
  ext('security-group', 'security-group', 'The security groups extension.'),
  ext('stateful-security-group', 'Stateful security group', 'Indicates if the security group is stateful or not'),
  ext('rbac-security-groups', 'RBAC Security Groups', 'Add security_group type to network RBAC'),
  ext('quotas', 'Quota management support', 'Expose functions for quotas management per project'),
  ext('quota_details', 'Quota details management support', 'Expose functions for quotas usage statistics per project'),
  ext('rbac-policies', 'RBAC Policies', 'Allows creation and modification of policies that control tenant access to resources.'),
  ext('standard-attr-tag', 'Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip', 'Enables to set tag on resources with standard attribute.'),
  ext('tag-ext', 'Tag support for resources: subnet, subnetpool, port, router', 'Extends tag support to more L2 and L3 resources.'),
  ext('tag', 'Tag support', 'Enables to set tag on resources.'),
  ext('agent', 'agent', 'The agent management extension.'),
  ext('service-type', 'Neutron Service Type Management', 'API for retrieving service providers for Neutron advanced services'),
  ext('router', 'Neutron L3 Router', 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.'),
  ext('ext-gw-mode', 'Neutron L3 Configurable external gateway mode', 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway'),
  ext('extraroute', 'Neutron Extra Route', 'Extra routes configuration for L3 router'),
  ext('extraroute-atomic', 'Atomically add/remove extra routes', 'Edit extra routes of a router on server side by atomically adding/removing extra routes'),
  ext('router_availability_zone', 'Router Availability Zone', 'Availability zone support for router.'),
  ext('floatingip-pools', 'Floating IP Pools Extension', 'Provides a floating IP pools API.'),
  ext('fip-port-details', 'Floating IP Port Details Extension', 'Add port_details attribute to Floating IP resource'),
  ext('floating-ip-port-forwarding', 'Floating IP Port Forwarding', 'Provide port forwarding to floating IP.'),
  ext('auto-allocated-topology', 'Auto Allocated Topology Services', 'Auto Allocated Topology Services.'),
];

export function extensionView(e: Extension): Record<string, unknown> {
  return { alias: e.alias, name: e.name, description: e.description, updated: '2013-01-20T00:00:00-00:00', links: [] };
}
