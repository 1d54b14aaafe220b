import type { Kysely, Migration } from 'kysely';

const ts = 'varchar(32)' as const;
const id = 'varchar(36)' as const;

/** The volume schema as of the first release. */
const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('volume_type')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('description', 'text')
      .addColumn('is_public', 'integer', (c) => c.notNull())
      .addColumn('extra_specs', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createTable('volume')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)')
      .addColumn('description', 'text')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('attach_status', 'varchar(32)', (c) => c.notNull())
      .addColumn('availability_zone', 'varchar(255)', (c) => c.notNull())
      .addColumn('volume_type_id', id, (c) => c.notNull())
      .addColumn('snapshot_id', id)
      .addColumn('source_volid', id)
      .addColumn('bootable', 'integer', (c) => c.notNull())
      .addColumn('readonly', 'integer', (c) => c.notNull())
      .addColumn('multiattach', 'integer', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('image_metadata', 'text')
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts)
      .execute();
    await db.schema.createIndex('volume_project').on('volume').column('project_id').execute();
    await db.schema.createTable('volume_attachment')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('volume_id', id, (c) => c.notNull())
      .addColumn('instance_uuid', id)
      .addColumn('attached_host', 'varchar(255)')
      .addColumn('mountpoint', 'varchar(255)')
      .addColumn('attach_status', 'varchar(32)', (c) => c.notNull())
      .addColumn('attach_mode', 'varchar(8)', (c) => c.notNull())
      .addColumn('attached_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('volume_attachment_volume').on('volume_attachment').column('volume_id').execute();
    await db.schema.createTable('snapshot')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('volume_id', id, (c) => c.notNull())
      .addColumn('name', 'varchar(255)')
      .addColumn('description', 'text')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(32)', (c) => c.notNull())
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts)
      .execute();
    await db.schema.createIndex('snapshot_volume').on('snapshot').column('volume_id').execute();
    await db.schema.createTable('quota')
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource', 'varchar(255)', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('volume_quota_pk', ['project_id', 'resource'])
      .execute();
  },
};

/** A snapshot's progress as os-update_snapshot_status sets it. */
const snapshotProgress: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('snapshot').addColumn('progress', 'varchar(32)').execute();
  },
};

/** Projects a private volume type is shared with (os-volume-type-access). */
const typeAccess: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('volume_type_project')
      .addColumn('type_id', id, (c) => c.notNull())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('volume_type_project_pk', ['type_id', 'project_id'])
      .execute();
  },
};

/** QoS specs (recorded and associated with volume types; not enforced by this build's back ends). */
const qosSpecs: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('qos_spec')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('consumer', 'varchar(32)', (c) => c.notNull())
      .addColumn('specs', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.alterTable('volume_type').addColumn('qos_specs_id', id).execute();
  },
};

/** Volume transfers between projects (os-volume-transfer): the key is kept as a salted hash. */
const transfers: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('transfer')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('volume_id', id, (c) => c.notNull().unique())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)')
      .addColumn('salt', 'varchar(64)', (c) => c.notNull())
      .addColumn('crypt_hash', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
  },
};

/** Volume type encryption specs (os-volume-type-encryption). */
const typeEncryption: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('volume_type_encryption')
      .addColumn('volume_type_id', id, (c) => c.primaryKey())
      .addColumn('encryption_id', id, (c) => c.notNull())
      .addColumn('provider', 'varchar(255)', (c) => c.notNull())
      .addColumn('cipher', 'varchar(255)')
      .addColumn('key_size', 'integer')
      .addColumn('control_location', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts)
      .execute();
  },
};

export const volumeMigrations: Record<string, Migration> = {
  '001-initial': initial, '002-snapshot-progress': snapshotProgress, '003-type-access': typeAccess, '004-qos-specs': qosSpecs, '005-transfers': transfers,
  '006-type-encryption': typeEncryption,
};
