import type { Kysely, Migration } from 'kysely';

const ts = 'varchar(32)' as const;

/** The image schema as of the first release. */
export const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('image')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)')
      .addColumn('status', 'varchar(30)', (c) => c.notNull())
      .addColumn('visibility', 'varchar(20)', (c) => c.notNull())
      .addColumn('disk_format', 'varchar(20)')
      .addColumn('container_format', 'varchar(20)')
      .addColumn('size', 'bigint')
      .addColumn('virtual_size', 'bigint')
      .addColumn('checksum', 'varchar(32)')
      .addColumn('os_hash_algo', 'varchar(64)')
      .addColumn('os_hash_value', 'varchar(128)')
      .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('os_hidden', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('owner', 'varchar(255)')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', ts)
      .addColumn('store_id', 'varchar(64)')
      .addColumn('store_key', 'varchar(255)')
      .addColumn('worker', 'varchar(255)')
      .execute();
    await db.schema.createIndex('image_owner').on('image').columns(['owner', 'deleted']).execute();
    await db.schema.createIndex('image_visibility').on('image').columns(['visibility', 'deleted']).execute();
    await db.schema.createIndex('image_created').on('image').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('image_status').on('image').column('status').execute();

    await db.schema.createTable('image_property')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_property_pk', ['image_id', 'name'])
      .execute();
    await db.schema.createIndex('image_property_name_value').on('image_property').columns(['name', 'image_id']).execute();

    await db.schema.createTable('image_tag')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_tag_pk', ['image_id', 'value'])
      .execute();
    await db.schema.createIndex('image_tag_value').on('image_tag').columns(['value', 'image_id']).execute();

    await db.schema.createTable('image_member')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('member', 'varchar(255)', (c) => c.notNull())
      .addColumn('status', 'varchar(20)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('image_member_pk', ['image_id', 'member'])
      .execute();
    await db.schema.createIndex('image_member_member').on('image_member').columns(['member', 'status']).execute();

    await db.schema.createTable('image_task')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(30)', (c) => c.notNull())
      .addColumn('status', 'varchar(30)', (c) => c.notNull())
      .addColumn('owner', 'varchar(255)', (c) => c.notNull())
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('request_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('expires_at', ts)
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('image_task_image').on('image_task').column('image_id').execute();
  },
};
