import { sql, type Compilable, type CompiledQuery, type Kysely, type Selectable } from 'kysely';
import type { ObjectDB, ObjectTable } from './schema.js';

export type ObjectRow = Selectable<ObjectTable>;
export interface ContainerRow { account: string; name: string; created_at: string; updated_at: string; meta: Record<string, string> }
export interface Stats { count: number; bytes: number }

/** One page of a name-ordered listing (names compare as UTF-8 bytes). */
export interface ListRange {
  /** Names after this one (before it when reverse). */
  marker?: string;
  endMarker?: string;
  prefix?: string;
  limit: number;
  reverse?: boolean;
}

const num = (v: unknown) => Number(v ?? 0);

/**
 * A query built and compiled once, for the lookups every request makes: on SQLite building
 * and compiling a Kysely query costs more than running it. Values bind in the order the
 * builder took them.
 */
function prepared<R>(q: Compilable<R>): (...values: unknown[]) => CompiledQuery<R> {
  const compiled = q.compile();
  return (...values) => ({ ...compiled, parameters: values });
}
const parse = (s: string): Record<string, string> => JSON.parse(s) as Record<string, string>;

/** Accounts, containers and objects: the metadata both protocol front ends share. */
export class ObjectRepo {
  private readonly q;

  constructor(private readonly db: Kysely<ObjectDB>, private readonly kind: 'sqlite' | 'postgres') {
    this.q = {
      account: prepared(db.selectFrom('swift_account').select(['created_at', 'meta']).where('name', '=', '')),
      container: prepared(db.selectFrom('swift_container').selectAll().where('account', '=', '').where('name', '=', '')),
      object: prepared(db.selectFrom('swift_object').selectAll().where('account', '=', '').where('container', '=', '').where('name', '=', '')),
    };
  }

  /** SELECT ... FOR UPDATE on PostgreSQL (SQLite transactions already serialize writers). */
  private lock<Q extends { forUpdate(): Q }>(q: Q): Q {
    return this.kind === 'postgres' ? q.forUpdate() : q;
  }

  async accountMeta(account: string): Promise<{ created_at: string; meta: Record<string, string> } | undefined> {
    const [r] = (await this.db.executeQuery(this.q.account(account))).rows;
    return r && { created_at: r.created_at, meta: parse(r.meta) };
  }

  /** Creates the account row if needed and applies a change to its metadata. */
  async updateAccount(account: string, projectId: string, now: string, change: (m: Record<string, string>) => void): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const r = await this.lock(tx.selectFrom('swift_account').select('meta').where('name', '=', account)).executeTakeFirst();
      const meta = r ? parse(r.meta) : {};
      change(meta);
      if (r) await tx.updateTable('swift_account').set({ meta: JSON.stringify(meta) }).where('name', '=', account).execute();
      else await tx.insertInto('swift_account').values({ name: account, project_id: projectId, created_at: now, meta: JSON.stringify(meta) }).onConflict((oc) => oc.doNothing()).execute();
    });
  }

  async accountStats(account: string, now: number): Promise<{ containers: number } & Stats> {
    const c = await this.db.selectFrom('swift_container').select((eb) => eb.fn.countAll().as('n')).where('account', '=', account).executeTakeFirst();
    const o = await this.db.selectFrom('swift_object')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('size').as('b')])
      .where('account', '=', account).where(live(now)).executeTakeFirst();
    return { containers: num(c?.n), count: num(o?.n), bytes: num(o?.b) };
  }

  async listContainers(account: string, range: ListRange, now: number): Promise<(ContainerRow & Stats)[]> {
    let q = this.db.selectFrom('swift_container').selectAll().where('account', '=', account);
    q = applyRange(q, range);
    const rows = await q.execute();
    const out: (ContainerRow & Stats)[] = [];
    for (const r of rows) out.push({ ...r, meta: parse(r.meta), ...(await this.containerStats(account, r.name, now)) });
    return out;
  }

  async container(account: string, name: string): Promise<ContainerRow | undefined> {
    const [r] = (await this.db.executeQuery(this.q.container(account, name))).rows;
    return r && { ...r, meta: parse(r.meta) };
  }

  async containerStats(account: string, name: string, now: number): Promise<Stats> {
    const o = await this.db.selectFrom('swift_object')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('size').as('b')])
      .where('account', '=', account).where('container', '=', name).where(live(now)).executeTakeFirst();
    return { count: num(o?.n), bytes: num(o?.b) };
  }

  /** Creates a container or updates its metadata; true when it was created. */
  async putContainer(account: string, name: string, now: string, change: (m: Record<string, string>) => void): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const r = await this.lock(tx.selectFrom('swift_container').select('meta').where('account', '=', account).where('name', '=', name)).executeTakeFirst();
      const meta = r ? parse(r.meta) : {};
      change(meta);
      if (r) {
        await tx.updateTable('swift_container').set({ meta: JSON.stringify(meta), updated_at: now }).where('account', '=', account).where('name', '=', name).execute();
        return false;
      }
      const res = await tx.insertInto('swift_container').values({ account, name, created_at: now, updated_at: now, meta: JSON.stringify(meta) })
        .onConflict((oc) => oc.doNothing()).executeTakeFirst();
      return num(res.numInsertedOrUpdatedRows) > 0;
    });
  }

  /** Deletes an empty container: 'deleted', 'missing' or 'not-empty'. */
  async deleteContainer(account: string, name: string): Promise<'deleted' | 'missing' | 'not-empty'> {
    return this.db.transaction().execute(async (tx) => {
      const one = await tx.selectFrom('swift_object').select('name').where('account', '=', account).where('container', '=', name).limit(1).executeTakeFirst();
      if (one) return 'not-empty';
      const res = await tx.deleteFrom('swift_container').where('account', '=', account).where('name', '=', name).executeTakeFirst();
      return num(res.numDeletedRows) > 0 ? 'deleted' : 'missing';
    });
  }

  async object(account: string, container: string, name: string): Promise<ObjectRow | undefined> {
    const [r] = (await this.db.executeQuery(this.q.object(account, container, name))).rows;
    return r;
  }

  /** Writes an object row (replacing any); returns the data key the replaced row had. */
  async putObject(row: ObjectRow): Promise<string | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const old = await this.lock(tx.selectFrom('swift_object').select('data_key')
        .where('account', '=', row.account).where('container', '=', row.container).where('name', '=', row.name)).executeTakeFirst();
      if (old) await tx.deleteFrom('swift_object').where('account', '=', row.account).where('container', '=', row.container).where('name', '=', row.name).execute();
      await tx.insertInto('swift_object').values(row).execute();
      return old?.data_key;
    });
  }

  async updateObject(account: string, container: string, name: string, set: Partial<ObjectRow>): Promise<boolean> {
    const res = await this.db.updateTable('swift_object').set(set).where('account', '=', account).where('container', '=', container).where('name', '=', name).executeTakeFirst();
    return num(res.numUpdatedRows) > 0;
  }

  /** Deletes an object row; returns it (for its data key), or undefined. */
  async deleteObject(account: string, container: string, name: string, onlyKey?: string): Promise<ObjectRow | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const old = await this.lock(tx.selectFrom('swift_object').selectAll().where('account', '=', account).where('container', '=', container).where('name', '=', name)).executeTakeFirst();
      if (!old || (onlyKey && old.data_key !== onlyKey)) return undefined;
      await tx.deleteFrom('swift_object').where('account', '=', account).where('container', '=', container).where('name', '=', name).execute();
      return old;
    });
  }

  async listObjects(account: string, container: string, range: ListRange, now: number): Promise<ObjectRow[]> {
    let q = this.db.selectFrom('swift_object').selectAll().where('account', '=', account).where('container', '=', container).where(live(now));
    q = applyRange(q, range);
    return q.execute();
  }

  /** Objects whose X-Delete-At has passed. */
  async expired(now: number, limit = 100): Promise<ObjectRow[]> {
    return this.db.selectFrom('swift_object').selectAll().where('delete_at', 'is not', null).where('delete_at', '<=', Math.floor(now / 1000)).limit(limit).execute();
  }

  async dataKeys(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('swift_object').select('data_key').execute();
    return new Set(rows.map((r) => r.data_key));
  }
}

/** Not expired: X-Delete-At unset or in the future. */
const live = (now: number) => (eb: any) => eb.or([eb('delete_at', 'is', null), eb('delete_at', '>', Math.floor(now / 1000))]);

function applyRange<Q extends { where: any; orderBy: any; limit: any }>(q: Q, r: ListRange): Q {
  let x: any = q;
  if (r.prefix) x = x.where(sql`substr(name, 1, ${[...r.prefix].length})`, '=', r.prefix);
  if (r.reverse) {
    if (r.marker) x = x.where('name', '<', r.marker);
    if (r.endMarker) x = x.where('name', '>', r.endMarker);
  } else {
    if (r.marker) x = x.where('name', '>', r.marker);
    if (r.endMarker) x = x.where('name', '<', r.endMarker);
  }
  return x.orderBy('name', r.reverse ? 'desc' : 'asc').limit(r.limit);
}
