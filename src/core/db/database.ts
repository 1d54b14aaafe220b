import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';

// int8 (COUNT, bigint columns) as numbers, not strings: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number.parseInt(v, 10));

export interface DatabaseOptions {
  /** undefined → SQLite files in dataDir; a path ending in .sqlite; or postgres://... */
  url?: string;
  dataDir: string;
  /** PostgreSQL: prefix of the per-service schema name (tests use a random one). */
  schemaPrefix?: string;
}

export type DbKind = 'sqlite' | 'postgres';

export interface ServiceDatabase<DB> {
  db: Kysely<DB>;
  kind: DbKind;
  /** PostgreSQL schema the service's tables live in. */
  schema?: string;
  close(): Promise<void>;
}

const isPostgres = (url?: string) => !!url && /^postgres(ql)?:\/\//.test(url);

/**
 * Opens the database a service owns: its own SQLite file (WAL) in the data directory,
 * or its own schema in a shared PostgreSQL database. No service reads another's tables.
 */
export async function openServiceDatabase<DB>(service: string, opts: DatabaseOptions): Promise<ServiceDatabase<DB>> {
  if (isPostgres(opts.url)) {
    const schema = `${opts.schemaPrefix ?? ''}${service}`.replace(/[^a-z0-9_]/gi, '_');
    const admin = new pg.Client({ connectionString: opts.url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } finally {
      await admin.end();
    }
    const pool = new pg.Pool({ connectionString: opts.url, max: 10, options: `-c search_path="${schema}"` });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', schema, close: () => db.destroy() };
  }
  let file: string;
  if (opts.url && opts.url !== '') {
    file = opts.url.replace(/^sqlite:\/\//, '');
    if (file !== ':memory:' && !file.endsWith('.sqlite')) file = join(file, `${service}.sqlite`);
  } else {
    mkdirSync(opts.dataDir, { recursive: true });
    file = join(opts.dataDir, `${service}.sqlite`);
  }
  const sqlite = new SQLite(file);
  // WAL: readers never block the writer; a crash leaves only committed transactions.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, kind: 'sqlite', close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; on SQLite preparing costs as much as running a small
 * query. Prepared statements are reusable (Kysely runs each to completion at once), so keep
 * the most recent ones by SQL text.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = sqlite.prepare.bind(sqlite);
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return (source: string) => {
        let stmt = cache.get(source);
        if (stmt) {
          cache.delete(source);
        } else {
          stmt = prepare(source);
          if (cache.size >= max) cache.delete(cache.keys().next().value!);
        }
        cache.set(source, stmt);
        return stmt;
      };
    },
  });
}

/**
 * Runs a service's migrations (kept in code, ordered by name) to the latest. On PostgreSQL the
 * bookkeeping tables live in the service's own schema: Kysely would otherwise find another
 * schema's tables and skip creating its own.
 */
export async function migrateToLatest(db: Kysely<any>, migrations: Record<string, Migration>, schema?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? error}`);
  }
}

/** True when an error is a unique-constraint violation on either engine. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A row refers to one that does not exist (SQLite with foreign_keys on, PostgreSQL). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export { sql };

/** PostgreSQL: serialises writers of one key inside a transaction (SQLite writers are serial anyway). */
export async function lockKey(trx: Kysely<any>, kind: DbKind, key: string): Promise<void> {
  if (kind !== 'postgres') return;
  await sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
}

/** Lists and objects live in JSON text columns (one schema for SQLite and PostgreSQL). */
export const toJson = (x: unknown) => JSON.stringify(x ?? null);
export const fromJson = <T>(s: string | null | undefined, fallback: T): T => {
  if (s === null || s === undefined || s === '') return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
};
