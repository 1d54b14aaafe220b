import type { Kysely, Migration } from 'kysely';

/** The shared counter that invalidates validated-token caches across processes. */
export const cacheGeneration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('cache_generation')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.insertInto('cache_generation').values({ name: 'identity', value: 0 }).execute();
  },
};
