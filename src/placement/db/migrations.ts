import type { Kysely, Migration } from 'kysely';

const ts = 'varchar(32)' as const;

/** The placement schema as of the first release. */
const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('resource_provider')
      .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(200)', (c) => c.notNull().unique())
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('parent_uuid', 'varchar(36)', (c) => c.references('resource_provider.uuid'))
      .addColumn('root_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('resource_provider_root').on('resource_provider').column('root_uuid').execute();
    await db.schema.createIndex('resource_provider_parent').on('resource_provider').column('parent_uuid').execute();
    await db.schema.createTable('inventory')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid').onDelete('cascade'))
      .addColumn('resource_class', 'varchar(255)', (c) => c.notNull())
      .addColumn('total', 'bigint', (c) => c.notNull())
      .addColumn('reserved', 'bigint', (c) => c.notNull())
      .addColumn('min_unit', 'bigint', (c) => c.notNull())
      .addColumn('max_unit', 'bigint', (c) => c.notNull())
      .addColumn('step_size', 'bigint', (c) => c.notNull())
      .addColumn('allocation_ratio', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint('inventory_pk', ['provider_uuid', 'resource_class'])
      .execute();
    await db.schema.createTable('consumer')
      .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('consumer_type', 'varchar(255)')
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('consumer_project_user').on('consumer').columns(['project_id', 'user_id']).execute();
    await db.schema.createTable('allocation')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid'))
      .addColumn('consumer_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('resource_class', 'varchar(255)', (c) => c.notNull())
      .addColumn('used', 'bigint', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('allocation_pk', ['consumer_uuid', 'provider_uuid', 'resource_class'])
      .execute();
    await db.schema.createIndex('allocation_provider').on('allocation').columns(['provider_uuid', 'resource_class']).execute();
    await db.schema.createTable('custom_resource_class')
      .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createTable('custom_trait')
      .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('created_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createTable('provider_trait')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid').onDelete('cascade'))
      .addColumn('trait', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_trait_pk', ['provider_uuid', 'trait'])
      .execute();
    await db.schema.createIndex('provider_trait_trait').on('provider_trait').column('trait').execute();
    await db.schema.createTable('provider_aggregate')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid').onDelete('cascade'))
      .addColumn('aggregate_uuid', 'varchar(36)', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_aggregate_pk', ['provider_uuid', 'aggregate_uuid'])
      .execute();
    await db.schema.createIndex('provider_aggregate_agg').on('provider_aggregate').column('aggregate_uuid').execute();
  },
};

export const placementMigrations: Record<string, Migration> = { '001-initial': initial };
