import type { CreateTableBuilder, Kysely, Migration } from 'kysely';

const ts = 'varchar(32)' as const;
const uuid = 'varchar(36)' as const;
const json = 'text' as const;
const name = 'varchar(255)' as const;

/** Neutron's standard attributes, on every resource table. */
const standard = (t: CreateTableBuilder<any, any>): CreateTableBuilder<any, any> =>
  t.addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull());

/** The network schema as of the first release. */
const initial: Migration = {
  async up(db: Kysely<any>) {
    await standard(db.schema.createTable('network')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('admin_state_up', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('shared', 'integer', (c) => c.notNull())
      .addColumn('external', 'integer', (c) => c.notNull())
      .addColumn('is_default', 'integer', (c) => c.notNull())
      .addColumn('mtu', 'integer', (c) => c.notNull())
      .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
      .addColumn('provider_network_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('provider_physical_network', name)
      .addColumn('provider_segmentation_id', 'integer')
      .addColumn('availability_zone_hints', json, (c) => c.notNull())
      .addColumn('dns_domain', name, (c) => c.notNull()))
      // a VNI (or VLAN id) belongs to one network
      .addUniqueConstraint('network_segment_uq', ['provider_network_type', 'provider_segmentation_id'])
      .execute();

    await standard(db.schema.createTable('subnet')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('network_id', uuid, (c) => c.notNull().references('network.id'))
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('ip_version', 'integer', (c) => c.notNull())
      .addColumn('cidr', 'varchar(64)', (c) => c.notNull())
      .addColumn('gateway_ip', 'varchar(64)')
      .addColumn('enable_dhcp', 'integer', (c) => c.notNull())
      .addColumn('ipv6_ra_mode', 'varchar(32)')
      .addColumn('ipv6_address_mode', 'varchar(32)')
      .addColumn('subnetpool_id', uuid)
      .addColumn('dns_nameservers', json, (c) => c.notNull())
      .addColumn('host_routes', json, (c) => c.notNull())
      .addColumn('allocation_pools', json, (c) => c.notNull())
      .addColumn('service_types', json, (c) => c.notNull())
      .addColumn('segment_id', uuid))
      .execute();
    await db.schema.createIndex('subnet_network_idx').on('subnet').column('network_id').execute();

    await standard(db.schema.createTable('port')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('network_id', uuid, (c) => c.notNull().references('network.id'))
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('mac_address', 'varchar(32)', (c) => c.notNull())
      .addColumn('admin_state_up', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('device_id', name, (c) => c.notNull())
      .addColumn('device_owner', name, (c) => c.notNull())
      .addColumn('binding_host_id', name, (c) => c.notNull())
      .addColumn('binding_vnic_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('binding_vif_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('binding_profile', json, (c) => c.notNull())
      .addColumn('binding_vif_details', json, (c) => c.notNull())
      .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
      .addColumn('allowed_address_pairs', json, (c) => c.notNull())
      .addColumn('extra_dhcp_opts', json, (c) => c.notNull())
      .addColumn('dns_name', name, (c) => c.notNull())
      .addColumn('security_groups', json, (c) => c.notNull())
      .addColumn('propagate_uplink_status', 'integer', (c) => c.notNull()))
      .addUniqueConstraint('port_mac_uq', ['network_id', 'mac_address'])
      .execute();
    await db.schema.createIndex('port_network_idx').on('port').column('network_id').execute();
    await db.schema.createIndex('port_device_idx').on('port').column('device_id').execute();

    await db.schema.createTable('ip_allocation')
      .addColumn('subnet_id', uuid, (c) => c.notNull().references('subnet.id'))
      .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
      .addColumn('network_id', uuid, (c) => c.notNull())
      .addColumn('port_id', uuid, (c) => c.notNull().references('port.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('ip_allocation_pk', ['subnet_id', 'ip_address'])
      .execute();
    await db.schema.createIndex('ip_allocation_port_idx').on('ip_allocation').column('port_id').execute();

    await standard(db.schema.createTable('security_group')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('stateful', 'integer', (c) => c.notNull()))
      .execute();
    await standard(db.schema.createTable('security_group_rule')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('security_group_id', uuid, (c) => c.notNull().references('security_group.id').onDelete('cascade'))
      .addColumn('direction', 'varchar(8)', (c) => c.notNull())
      .addColumn('ethertype', 'varchar(8)', (c) => c.notNull())
      .addColumn('protocol', 'varchar(40)')
      .addColumn('port_range_min', 'integer')
      .addColumn('port_range_max', 'integer')
      .addColumn('remote_ip_prefix', 'varchar(64)')
      .addColumn('remote_group_id', uuid)
      .addColumn('remote_address_group_id', uuid))
      .execute();
    await db.schema.createIndex('sg_rule_group_idx').on('security_group_rule').column('security_group_id').execute();
    await db.schema.createTable('default_security_group')
      .addColumn('project_id', name, (c) => c.primaryKey())
      .addColumn('security_group_id', uuid, (c) => c.notNull().references('security_group.id').onDelete('cascade'))
      .execute();
    await db.schema.createTable('port_security_group')
      .addColumn('port_id', uuid, (c) => c.notNull().references('port.id').onDelete('cascade'))
      .addColumn('security_group_id', uuid, (c) => c.notNull().references('security_group.id'))
      .addPrimaryKeyConstraint('port_security_group_pk', ['port_id', 'security_group_id'])
      .execute();
    await db.schema.createIndex('port_sg_group_idx').on('port_security_group').column('security_group_id').execute();

    await standard(db.schema.createTable('router')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('admin_state_up', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('gw_network_id', uuid)
      .addColumn('gw_port_id', uuid)
      .addColumn('enable_snat', 'integer', (c) => c.notNull())
      .addColumn('routes', json, (c) => c.notNull())
      .addColumn('distributed', 'integer', (c) => c.notNull())
      .addColumn('ha', 'integer', (c) => c.notNull())
      .addColumn('availability_zone_hints', json, (c) => c.notNull())
      .addColumn('host', name))
      .execute();

    await standard(db.schema.createTable('floating_ip')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('floating_network_id', uuid, (c) => c.notNull())
      .addColumn('floating_ip_address', 'varchar(64)', (c) => c.notNull())
      .addColumn('floating_port_id', uuid, (c) => c.notNull())
      .addColumn('port_id', uuid)
      .addColumn('fixed_ip_address', 'varchar(64)')
      .addColumn('router_id', uuid)
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('dns_name', name, (c) => c.notNull())
      .addColumn('dns_domain', name, (c) => c.notNull()))
      .execute();
    await db.schema.createTable('port_forwarding')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('floatingip_id', uuid, (c) => c.notNull().references('floating_ip.id').onDelete('cascade'))
      .addColumn('internal_port_id', uuid, (c) => c.notNull())
      .addColumn('internal_ip_address', 'varchar(64)', (c) => c.notNull())
      .addColumn('internal_port', 'integer', (c) => c.notNull())
      .addColumn('external_port', 'integer', (c) => c.notNull())
      .addColumn('protocol', 'varchar(8)', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addUniqueConstraint('port_forwarding_ext_uq', ['floatingip_id', 'external_port', 'protocol'])
      .execute();

    await standard(db.schema.createTable('subnet_pool')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('ip_version', 'integer', (c) => c.notNull())
      .addColumn('prefixes', json, (c) => c.notNull())
      .addColumn('default_prefixlen', 'integer', (c) => c.notNull())
      .addColumn('min_prefixlen', 'integer', (c) => c.notNull())
      .addColumn('max_prefixlen', 'integer', (c) => c.notNull())
      .addColumn('shared', 'integer', (c) => c.notNull())
      .addColumn('is_default', 'integer', (c) => c.notNull())
      .addColumn('default_quota', 'integer')
      .addColumn('address_scope_id', uuid))
      .execute();
    await standard(db.schema.createTable('address_scope')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('ip_version', 'integer', (c) => c.notNull())
      .addColumn('shared', 'integer', (c) => c.notNull()))
      .execute();

    await standard(db.schema.createTable('rbac_policy')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('object_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('object_id', uuid, (c) => c.notNull())
      .addColumn('action', 'varchar(32)', (c) => c.notNull())
      .addColumn('target_tenant', name, (c) => c.notNull()))
      .addUniqueConstraint('rbac_policy_uq', ['object_type', 'object_id', 'action', 'target_tenant'])
      .execute();

    await db.schema.createTable('quota')
      .addColumn('project_id', name, (c) => c.notNull())
      .addColumn('resource', 'varchar(64)', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_pk', ['project_id', 'resource'])
      .execute();
    await db.schema.createTable('tag')
      .addColumn('resource_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('resource_id', uuid, (c) => c.notNull())
      .addColumn('tag', name, (c) => c.notNull())
      .addPrimaryKeyConstraint('tag_pk', ['resource_id', 'tag'])
      .execute();
    await db.schema.createTable('agent')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('agent_type', 'varchar(64)', (c) => c.notNull())
      .addColumn('binary', name, (c) => c.notNull())
      .addColumn('host', name, (c) => c.notNull())
      .addColumn('topic', name, (c) => c.notNull())
      .addColumn('availability_zone', name)
      .addColumn('admin_state_up', 'integer', (c) => c.notNull())
      .addColumn('configurations', json, (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('started_at', ts, (c) => c.notNull())
      .addColumn('heartbeat_timestamp', ts, (c) => c.notNull())
      .addColumn('tunnel_ip', 'varchar(64)')
      .addUniqueConstraint('agent_type_host_uq', ['agent_type', 'host'])
      .execute();
    await db.schema.createTable('auto_allocated_topology')
      .addColumn('project_id', name, (c) => c.primaryKey())
      .addColumn('network_id', uuid, (c) => c.notNull())
      .addColumn('router_id', uuid)
      .execute();
  },
};

export const networkMigrations: Record<string, Migration> = {
  '001_initial': initial,
};
