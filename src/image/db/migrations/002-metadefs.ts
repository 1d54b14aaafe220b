import type { Kysely, Migration } from 'kysely';

const ts = 'varchar(32)' as const;

/** Resource types Glance's shipped metadata definitions declare, so clients find some. */
const RESOURCE_TYPES = ['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Flavor', 'OS::Nova::Aggregate', 'OS::Nova::Server'];

/** Metadata definitions (metadefs): namespaces and what they hold, resource types. */
export const metadefs: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('metadef_namespace')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('namespace', 'varchar(80)', (c) => c.notNull().unique())
      .addColumn('display_name', 'varchar(80)')
      .addColumn('description', 'text')
      .addColumn('visibility', 'varchar(32)', (c) => c.notNull())
      .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('owner', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    // Objects, properties and tags of a namespace: each a JSON document under its name.
    await db.schema.createTable('metadef_item')
      .addColumn('namespace_id', 'varchar(36)', (c) => c.notNull().references('metadef_namespace.id').onDelete('cascade'))
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('metadef_item_pk', ['namespace_id', 'kind', 'name'])
      .execute();
    await db.schema.createTable('metadef_resource_type')
      .addColumn('name', 'varchar(80)', (c) => c.primaryKey())
      .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute();
    await db.schema.createTable('metadef_association')
      .addColumn('namespace_id', 'varchar(36)', (c) => c.notNull().references('metadef_namespace.id').onDelete('cascade'))
      .addColumn('resource_type', 'varchar(80)', (c) => c.notNull().references('metadef_resource_type.name'))
      .addColumn('prefix', 'varchar(80)')
      .addColumn('properties_target', 'varchar(80)')
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('metadef_association_pk', ['namespace_id', 'resource_type'])
      .execute();
    const now = new Date().toISOString();
    await db.insertInto('metadef_resource_type')
      .values(RESOURCE_TYPES.map((name) => ({ name, protected: 1, created_at: now, updated_at: now }))).execute();
  },
};
