import type { Kysely, Migration } from 'kysely';

const ts = 'varchar(32)' as const;
const uuid = 'varchar(36)' as const;
const json = 'text' as const;

/** The compute schema as of the first release. */
const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('flavor')
      .addColumn('flavorid', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('vcpus', 'integer', (c) => c.notNull())
      .addColumn('memory_mb', 'integer', (c) => c.notNull())
      .addColumn('root_gb', 'integer', (c) => c.notNull())
      .addColumn('ephemeral_gb', 'integer', (c) => c.notNull())
      .addColumn('swap', 'integer', (c) => c.notNull())
      .addColumn('rxtx_factor', 'double precision', (c) => c.notNull())
      .addColumn('is_public', 'integer', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts)
      .execute();
    await db.schema.createTable('flavor_extra_spec')
      .addColumn('flavorid', 'varchar(255)', (c) => c.notNull().references('flavor.flavorid').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('flavor_extra_spec_pk', ['flavorid', 'key'])
      .execute();
    await db.schema.createTable('flavor_project')
      .addColumn('flavorid', 'varchar(255)', (c) => c.notNull().references('flavor.flavorid').onDelete('cascade'))
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('flavor_project_pk', ['flavorid', 'project_id'])
      .execute();
    await db.schema.createTable('keypair')
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('keypair_pk', ['user_id', 'name'])
      .execute();
    await db.schema.createTable('instance')
      .addColumn('uuid', uuid, (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('flavor', json, (c) => c.notNull())
      .addColumn('new_flavor', json)
      .addColumn('image_ref', 'varchar(255)', (c) => c.notNull())
      .addColumn('key_name', 'varchar(255)')
      .addColumn('key_data', 'text')
      .addColumn('user_data', 'text')
      .addColumn('vm_state', 'varchar(32)', (c) => c.notNull())
      .addColumn('task_state', 'varchar(64)')
      .addColumn('power_state', 'integer', (c) => c.notNull())
      .addColumn('host', 'varchar(255)')
      .addColumn('node', 'varchar(255)')
      .addColumn('availability_zone', 'varchar(255)')
      .addColumn('reservation_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('launch_index', 'integer', (c) => c.notNull())
      .addColumn('config_drive', 'varchar(255)', (c) => c.notNull())
      .addColumn('access_ip_v4', 'varchar(64)')
      .addColumn('access_ip_v6', 'varchar(64)')
      .addColumn('locked', 'integer', (c) => c.notNull())
      .addColumn('locked_by', 'varchar(16)')
      .addColumn('locked_reason', 'text')
      .addColumn('progress', 'integer', (c) => c.notNull())
      .addColumn('network_info', json, (c) => c.notNull())
      .addColumn('requested_networks', json, (c) => c.notNull())
      .addColumn('security_groups', json, (c) => c.notNull())
      .addColumn('block_device_mapping', json, (c) => c.notNull())
      .addColumn('scheduler_hints', json, (c) => c.notNull())
      .addColumn('fault', json)
      .addColumn('driver_info', json, (c) => c.notNull())
      .addColumn('launched_at', ts)
      .addColumn('terminated_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addColumn('deleted_at', ts)
      .addColumn('deleted', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('instance_project').on('instance').columns(['project_id', 'deleted', 'created_at']).execute();
    await db.schema.createIndex('instance_host').on('instance').columns(['host', 'deleted']).execute();
    await db.schema.createIndex('instance_updated').on('instance').column('updated_at').execute();
    await db.schema.createTable('instance_metadata')
      .addColumn('instance_uuid', uuid, (c) => c.notNull().references('instance.uuid').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('instance_metadata_pk', ['instance_uuid', 'key'])
      .execute();
    await db.schema.createTable('instance_tag')
      .addColumn('instance_uuid', uuid, (c) => c.notNull().references('instance.uuid').onDelete('cascade'))
      .addColumn('tag', 'varchar(80)', (c) => c.notNull())
      .addPrimaryKeyConstraint('instance_tag_pk', ['instance_uuid', 'tag'])
      .execute();
    await db.schema.createTable('instance_action')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('instance_uuid', uuid, (c) => c.notNull())
      .addColumn('action', 'varchar(255)', (c) => c.notNull())
      .addColumn('request_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('start_time', ts, (c) => c.notNull())
      .addColumn('finish_time', ts)
      .addColumn('message', 'text')
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('instance_action_instance').on('instance_action').columns(['instance_uuid', 'start_time']).execute();
    await db.schema.createIndex('instance_action_request').on('instance_action').columns(['instance_uuid', 'request_id']).execute();
    await db.schema.createTable('instance_action_event')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('action_id', uuid, (c) => c.notNull().references('instance_action.id').onDelete('cascade'))
      .addColumn('event', 'varchar(255)', (c) => c.notNull())
      .addColumn('start_time', ts, (c) => c.notNull())
      .addColumn('finish_time', ts)
      .addColumn('result', 'varchar(255)')
      .addColumn('traceback', 'text')
      .addColumn('host', 'varchar(255)')
      .addColumn('details', 'text')
      .execute();
    await db.schema.createIndex('instance_action_event_action').on('instance_action_event').column('action_id').execute();
    await db.schema.createTable('service')
      .addColumn('id', uuid, (c) => c.primaryKey())
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addColumn('binary', 'varchar(255)', (c) => c.notNull())
      .addColumn('topic', 'varchar(255)', (c) => c.notNull())
      .addColumn('zone', 'varchar(255)', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull())
      .addColumn('disabled_reason', 'varchar(255)')
      .addColumn('forced_down', 'integer', (c) => c.notNull())
      .addColumn('last_seen_up', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addUniqueConstraint('service_host_binary', ['host', 'binary'])
      .execute();
    await db.schema.createTable('compute_node')
      .addColumn('uuid', uuid, (c) => c.primaryKey())
      .addColumn('id', 'integer', (c) => c.notNull().unique())
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addColumn('hypervisor_hostname', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('hypervisor_type', 'varchar(255)', (c) => c.notNull())
      .addColumn('hypervisor_version', 'bigint', (c) => c.notNull())
      .addColumn('vcpus', 'integer', (c) => c.notNull())
      .addColumn('memory_mb', 'integer', (c) => c.notNull())
      .addColumn('local_gb', 'integer', (c) => c.notNull())
      .addColumn('host_ip', 'varchar(64)', (c) => c.notNull())
      .addColumn('cpu_info', json, (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('compute_node_host').on('compute_node').column('host').execute();
    await db.schema.createTable('aggregate')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('uuid', uuid, (c) => c.notNull().unique())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('availability_zone', 'varchar(255)')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts)
      .execute();
    await db.schema.createTable('aggregate_host')
      .addColumn('aggregate_id', 'integer', (c) => c.notNull().references('aggregate.id').onDelete('cascade'))
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('aggregate_host_pk', ['aggregate_id', 'host'])
      .execute();
    await db.schema.createTable('aggregate_metadata')
      .addColumn('aggregate_id', 'integer', (c) => c.notNull().references('aggregate.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('aggregate_metadata_pk', ['aggregate_id', 'key'])
      .execute();
    await db.schema.createTable('server_group')
      .addColumn('uuid', uuid, (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('policy', 'varchar(64)', (c) => c.notNull())
      .addColumn('rules', json, (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createTable('server_group_member')
      .addColumn('group_uuid', uuid, (c) => c.notNull().references('server_group.uuid').onDelete('cascade'))
      .addColumn('instance_uuid', uuid, (c) => c.notNull())
      .addPrimaryKeyConstraint('server_group_member_pk', ['group_uuid', 'instance_uuid'])
      .execute();
    await db.schema.createTable('quota')
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource', 'varchar(255)', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_pk', ['project_id', 'user_id', 'resource'])
      .execute();
    await db.schema.createTable('quota_class')
      .addColumn('class_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource', 'varchar(255)', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_class_pk', ['class_name', 'resource'])
      .execute();
    await db.schema.createTable('migration')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('uuid', uuid, (c) => c.notNull().unique())
      .addColumn('instance_uuid', uuid, (c) => c.notNull())
      .addColumn('migration_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('source_compute', 'varchar(255)')
      .addColumn('dest_compute', 'varchar(255)')
      .addColumn('source_node', 'varchar(255)')
      .addColumn('dest_node', 'varchar(255)')
      .addColumn('old_flavorid', 'varchar(255)')
      .addColumn('new_flavorid', 'varchar(255)')
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('migration_instance').on('migration').column('instance_uuid').execute();
  },
};

/** Security groups and their rules, served by compute until the network service exists. */
const securityGroups: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('security_group')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('uuid', uuid, (c) => c.notNull().unique())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addUniqueConstraint('security_group_project_name', ['project_id', 'name'])
      .execute();
    await db.schema.createTable('security_group_rule')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('group_id', 'integer', (c) => c.notNull().references('security_group.id').onDelete('cascade'))
      .addColumn('ip_protocol', 'varchar(16)')
      .addColumn('from_port', 'integer')
      .addColumn('to_port', 'integer')
      .addColumn('cidr', 'varchar(64)')
      .addColumn('source_group_id', 'integer', (c) => c.references('security_group.id').onDelete('cascade'))
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('security_group_rule_group').on('security_group_rule').column('group_id').execute();
    await db.schema.createIndex('security_group_rule_source').on('security_group_rule').column('source_group_id').execute();
  },
};

/** OS-DCF:diskConfig of each server (AUTO or MANUAL), kept as the create, rebuild, resize or update set it. */
const diskConfig: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('instance').addColumn('disk_config', 'varchar(8)', (c) => c.notNull().defaultTo('MANUAL')).execute();
  },
};

/** Personality (files injected at create or rebuild, before 2.57): served by the metadata service and the config drive. */
const injectedFiles: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('instance_file')
      .addColumn('instance_uuid', uuid, (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('contents', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('instance_file_pk', ['instance_uuid', 'seq'])
      .execute();
  },
};

/** Volumes attached to servers (Nova's block_device_mapping, for volumes only: the root disk is the instance's own). */
const volumeAttachments: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('block_device_mapping')
      .addColumn('uuid', uuid, (c) => c.primaryKey())
      .addColumn('instance_uuid', uuid, (c) => c.notNull())
      .addColumn('volume_id', uuid, (c) => c.notNull())
      .addColumn('attachment_id', uuid, (c) => c.notNull())
      .addColumn('device_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('tag', 'varchar(255)')
      .addColumn('delete_on_termination', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('bdm_instance_volume').on('block_device_mapping').columns(['instance_uuid', 'volume_id']).unique().execute();
  },
};

export const computeMigrations: Record<string, Migration> = {
  '001-initial': initial, '002-security-groups': securityGroups, '003-disk-config': diskConfig, '004-injected-files': injectedFiles,
  '005-volume-attachments': volumeAttachments,
};
