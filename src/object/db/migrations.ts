import { sql, type Kysely, type Migration } from 'kysely';
import type { DbKind } from '../../core/db/database.js';

/**
 * The object schema. Names sort as UTF-8 bytes (Swift's listing order): SQLite's BINARY
 * collation does that for TEXT; PostgreSQL needs COLLATE "C".
 */
export function objectMigrations(kind: DbKind): Record<string, Migration> {
  const name = kind === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    '001-initial': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('swift_account')
          .addColumn('name', name, (c) => c.primaryKey())
          .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addColumn('meta', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createTable('swift_container')
          .addColumn('account', name, (c) => c.notNull())
          .addColumn('name', name, (c) => c.notNull())
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
          .addColumn('meta', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('swift_container_pk', ['account', 'name'])
          .execute();
        await db.schema.createTable('swift_object')
          .addColumn('account', name, (c) => c.notNull())
          .addColumn('container', name, (c) => c.notNull())
          .addColumn('name', name, (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('etag', 'varchar(64)', (c) => c.notNull())
          .addColumn('content_type', 'text', (c) => c.notNull())
          .addColumn('timestamp', 'varchar(32)', (c) => c.notNull())
          .addColumn('modified_ms', 'bigint', (c) => c.notNull())
          .addColumn('headers', 'text', (c) => c.notNull())
          .addColumn('data_key', 'varchar(64)', (c) => c.notNull())
          .addColumn('delete_at', 'bigint')
          .addPrimaryKeyConstraint('swift_object_pk', ['account', 'container', 'name'])
          .execute();
        await db.schema.createIndex('swift_object_data_key').on('swift_object').column('data_key').execute();
        await db.schema.createIndex('swift_object_delete_at').on('swift_object').column('delete_at').execute();
      },
    },
  };
}
