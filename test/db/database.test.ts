import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUniqueViolation, migrateToLatest, openServiceDatabase } from '../../src/core/db/database.js';
import { identityMigrations } from '../../src/identity/db/migrations/index.js';
import { dropSchemas } from '../helpers/cloud.js';

const PG = process.env.NUBO_TEST_DATABASE || 'postgres://postgres@127.0.0.1:5432/test';

/** The database layer's contract, run on SQLite and on the machine's PostgreSQL. */
const engines = [
  { name: 'sqlite', open: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-db-'));
    const d = await openServiceDatabase<any>('identity', { dataDir: dir });
    return { ...d, cleanup: async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); } };
  } },
  { name: 'postgres', open: async () => {
    const prefix = `t${randomBytes(4).toString('hex')}_`;
    const d = await openServiceDatabase<any>('identity', { url: PG, dataDir: '/nonexistent', schemaPrefix: prefix });
    return { ...d, cleanup: async () => { await d.close(); await dropSchemas(prefix, PG); } };
  } },
];

for (const engine of engines) {
  describe(`database layer on ${engine.name}`, () => {
    it('migrates to the latest schema, twice without harm', async () => {
      const d = await engine.open();
      try {
        await migrateToLatest(d.db, identityMigrations, d.schema);
        await migrateToLatest(d.db, identityMigrations, d.schema);
        const tables = await d.db.introspection.getTables();
        const names = tables.map((t) => t.name);
        for (const t of ['project', 'user', 'assignment', 'revocation_event']) assert.ok(names.includes(t), `${t} missing: ${names}`);
        const applied = await (d.db as Kysely<any>).withSchema(d.schema ?? 'main').selectFrom('kysely_migration').select('name').execute();
        assert.deepEqual(applied.map((r) => r.name).sort(), Object.keys(identityMigrations).sort());
        assert.equal(d.kind, engine.name);
      } finally {
        await d.cleanup();
      }
    });

    it('reports unique violations the same way on both engines', async () => {
      const d = await engine.open();
      try {
        await migrateToLatest(d.db, identityMigrations, d.schema);
        const row = { id: 'r1', name: 'dup', domain_id: '<<null>>', description: null, options: '{}', extra: '{}' };
        await d.db.insertInto('role').values(row).execute();
        const err = await d.db.insertInto('role').values({ ...row, id: 'r2' }).execute().catch((e: unknown) => e);
        assert.ok(isUniqueViolation(err), `not recognised: ${String(err)}`);
        assert.equal(isUniqueViolation(new Error('other')), false);
      } finally {
        await d.cleanup();
      }
    });

    it('rolls a failed transaction back completely', async () => {
      const d = await engine.open();
      try {
        await migrateToLatest(d.db, identityMigrations, d.schema);
        const db = d.db as Kysely<any>;
        await assert.rejects(db.transaction().execute(async (tx) => {
          await tx.insertInto('role').values({ id: 'a', name: 'a', domain_id: '<<null>>', description: null, options: '{}', extra: '{}' }).execute();
          await tx.insertInto('role').values({ id: 'a', name: 'b', domain_id: '<<null>>', description: null, options: '{}', extra: '{}' }).execute();
        }));
        const rows = await db.selectFrom('role').selectAll().execute();
        assert.equal(rows.length, 0);
      } finally {
        await d.cleanup();
      }
    });

    it('keeps booleans and timestamps comparable as stored', async () => {
      const d = await engine.open();
      try {
        await migrateToLatest(d.db, identityMigrations, d.schema);
        const db = d.db as Kysely<any>;
        const base = { domain_id: null, project_id: null, role_id: null, trust_id: null, consumer_id: null, audit_id: null, audit_chain_id: null, user_id: 'u' };
        await db.insertInto('revocation_event').values({ ...base, id: '1', issued_before: '2026-01-01T00:00:00.000Z', expires_at: '2026-01-02T00:00:00.000Z', revoked_at: '2026-01-01T00:00:00.000Z' }).execute();
        await db.insertInto('revocation_event').values({ ...base, id: '2', issued_before: '2026-03-01T00:00:00.000Z', expires_at: '2026-03-02T00:00:00.000Z', revoked_at: '2026-03-01T00:00:00.000Z' }).execute();
        const later = await db.selectFrom('revocation_event').select('id').where('issued_before', '>=', '2026-02-01T00:00:00.000Z').execute();
        assert.deepEqual(later.map((r) => r.id), ['2']);
        const count = await db.selectFrom('revocation_event').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
        assert.equal(Number(count?.n), 2);
      } finally {
        await d.cleanup();
      }
    });
  });
}
