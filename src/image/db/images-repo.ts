import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { DbKind } from '../../core/db/database.js';
import type { ImageDB, ImageRow } from './schema.js';

/** An image row with its custom properties and tags. */
export type ImageRecord = ImageRow & { properties: Record<string, string>; tags: string[] };

export const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
const NULLABLE_SORT_KEYS = new Set<SortKey>(['name', 'container_format', 'disk_format', 'size']);
const NUMERIC_SORT_KEYS = new Set<SortKey>(['size']);

/** Columns a list may filter on, and how. */
export const FILTER_COLUMNS = [
  'name', 'id', 'status', 'container_format', 'disk_format', 'created_at', 'updated_at', 'size', 'virtual_size',
  'min_disk', 'min_ram', 'owner', 'checksum', 'os_hash_value', 'protected', 'os_hidden', 'visibility',
] as const;
export type FilterColumn = (typeof FILTER_COLUMNS)[number];
export type FilterOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'in';

export interface ColumnFilter {
  column: FilterColumn;
  op: FilterOp;
  value: string | number | (string | number)[];
}

export interface ImageListQuery {
  /** Whose view: admins see every image, others what Glance's visibility rules allow. */
  viewer: { projectId: string | null; isAdmin: boolean };
  memberStatus: 'pending' | 'accepted' | 'rejected' | 'all';
  /** A visibility, 'all', or undefined (every visibility but others' community images). */
  visibility?: string;
  filters: ColumnFilter[];
  properties: [string, string][];
  tags: string[];
  sort: { key: SortKey; dir: 'asc' | 'desc' }[];
  /** The image the page starts after. */
  marker?: ImageRow;
  limit: number;
}

const OPS: Record<Exclude<FilterOp, 'in'>, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** Images, their properties and tags: every query the image service makes about them. */
export class ImageRepo {
  constructor(private readonly db: Kysely<ImageDB>, private readonly kind: DbKind) {}

  /** A non-deleted image; with includeDeleted, also a deleted one (ids are never reused). */
  async get(id: string, includeDeleted = false): Promise<ImageRecord | undefined> {
    let q = this.db.selectFrom('image').selectAll().where('id', '=', id);
    if (!includeDeleted) q = q.where('deleted', '=', 0);
    const row = await q.executeTakeFirst();
    if (!row) return undefined;
    return (await this.withDetails([row]))[0];
  }

  async insert(rec: ImageRecord): Promise<void> {
    const { properties, tags, ...row } = rec;
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('image').values(row).execute();
      const props = Object.entries(properties).map(([name, value]) => ({ image_id: row.id, name, value }));
      if (props.length) await tx.insertInto('image_property').values(props).execute();
      if (tags.length) await tx.insertInto('image_tag').values(tags.map((value) => ({ image_id: row.id, value }))).execute();
    });
  }

  /**
   * Saves changes to an image in one transaction: columns, properties set and removed, the
   * whole tag set. With `expectStatus` the write happens only while the image is in one of
   * those statuses; returns false when it was not (or the image is gone).
   */
  async save(id: string, change: {
    row?: Partial<ImageRow>;
    setProperties?: Record<string, string>;
    removeProperties?: string[];
    tags?: string[];
    expectStatus?: string[];
  }): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      let u = tx.updateTable('image').set({ ...change.row, updated_at: change.row?.updated_at ?? new Date().toISOString() })
        .where('id', '=', id).where('deleted', '=', 0);
      if (change.expectStatus) u = u.where('status', 'in', change.expectStatus);
      const r = await u.executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      if (change.removeProperties?.length) {
        await tx.deleteFrom('image_property').where('image_id', '=', id).where('name', 'in', change.removeProperties).execute();
      }
      for (const [name, value] of Object.entries(change.setProperties ?? {})) {
        await tx.insertInto('image_property').values({ image_id: id, name, value })
          .onConflict((oc) => oc.columns(['image_id', 'name']).doUpdateSet({ value })).execute();
      }
      if (change.tags) {
        await tx.deleteFrom('image_tag').where('image_id', '=', id).execute();
        if (change.tags.length) await tx.insertInto('image_tag').values(change.tags.map((value) => ({ image_id: id, value }))).execute();
      }
      return true;
    });
  }

  /** Moves an image between statuses atomically: only from one of `from`; false otherwise. */
  transition(id: string, from: string[], to: string, row: Partial<ImageRow> = {}, setProperties?: Record<string, string>, removeProperties?: string[]): Promise<boolean> {
    return this.save(id, { row: { ...row, status: to }, expectStatus: from, setProperties, removeProperties });
  }

  /** Marks an image deleted (its row stays, so the id cannot be reused); members and tags go. */
  async markDeleted(id: string): Promise<boolean> {
    const now = new Date().toISOString();
    return this.db.transaction().execute(async (tx) => {
      const r = await tx.updateTable('image')
        .set({ deleted: 1, deleted_at: now, updated_at: now, status: 'deleted', worker: null })
        .where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await tx.deleteFrom('image_member').where('image_id', '=', id).execute();
      await tx.deleteFrom('image_tag').where('image_id', '=', id).execute();
      return true;
    });
  }

  /** One page of the images a viewer may list, filtered and sorted as Glance does. */
  async list(q: ImageListQuery): Promise<ImageRecord[]> {
    const p = q.viewer.projectId;
    let query = this.db.selectFrom('image').selectAll('image')
      .where('image.deleted', '=', 0).where('image.status', '<>', 'killed');
    if (!q.viewer.isAdmin) {
      query = query.where((eb) => {
        const ors: Expression<SqlBool>[] = [eb('image.visibility', 'in', ['public', 'community'])];
        if (p) {
          ors.push(eb('image.owner', '=', p));
          let member = eb.selectFrom('image_member as m').select('m.image_id')
            .whereRef('m.image_id', '=', 'image.id').where('m.member', '=', p);
          if (q.memberStatus !== 'all') member = member.where('m.status', '=', q.memberStatus);
          ors.push(eb.and([eb('image.visibility', '=', 'shared'), eb.exists(member)]));
        }
        return eb.or(ors);
      });
    }
    if (q.visibility && q.visibility !== 'all') query = query.where('image.visibility', '=', q.visibility);
    else if (!q.visibility) {
      // Without a visibility filter, community images show only to their owner.
      query = p
        ? query.where((eb) => eb.or([eb('image.owner', '=', p), eb('image.visibility', '<>', 'community')]))
        : query.where('image.visibility', '<>', 'community');
    }
    for (const f of q.filters) {
      const ref = sql.ref(`image.${f.column}`);
      if (f.op === 'in') {
        const values = f.value as (string | number)[];
        query = query.where(values.length ? sql<SqlBool>`${ref} in (${sql.join(values)})` : sql<SqlBool>`1 = 0`);
      } else {
        query = query.where(sql<SqlBool>`${ref} ${sql.raw(OPS[f.op])} ${f.value}`);
      }
    }
    for (const [name, value] of q.properties) {
      query = query.where((eb) => eb.exists(eb.selectFrom('image_property as pr').select('pr.image_id')
        .whereRef('pr.image_id', '=', 'image.id').where('pr.name', '=', name).where('pr.value', '=', value)));
    }
    for (const tag of q.tags) {
      query = query.where((eb) => eb.exists(eb.selectFrom('image_tag as tg').select('tg.image_id')
        .whereRef('tg.image_id', '=', 'image.id').where('tg.value', '=', tag)));
    }
    const sort = [...q.sort];
    const defaultDir = q.sort[0]?.dir ?? 'desc';
    for (const key of ['created_at', 'id'] as const) if (!sort.some((s) => s.key === key)) sort.push({ key, dir: defaultDir });
    if (q.marker) query = query.where(this.after(sort, q.marker));
    for (const s of sort) {
      // NULLs sort first ascending and last descending on both engines (as MySQL does).
      if (NULLABLE_SORT_KEYS.has(s.key)) query = query.orderBy(sql`case when ${sql.ref(`image.${s.key}`)} is null then 0 else 1 end`, s.dir);
      query = query.orderBy(this.sortable(s.key), s.dir);
    }
    const rows = await query.limit(q.limit).execute();
    return this.withDetails(rows);
  }

  /** A sort column; text compares bytewise on PostgreSQL too, as on SQLite. */
  private sortable(key: SortKey) {
    const ref = sql.ref(`image.${key}`);
    return this.kind === 'postgres' && !NUMERIC_SORT_KEYS.has(key) ? sql`${ref} collate "C"` : sql`${ref}`;
  }

  /** Rows strictly after the marker in the sort order (lexicographic over the sort keys). */
  private after(sort: { key: SortKey; dir: 'asc' | 'desc' }[], marker: ImageRow): Expression<SqlBool> {
    const ors: ReturnType<typeof sql<SqlBool>>[] = [];
    for (let i = 0; i < sort.length; i++) {
      const parts: ReturnType<typeof sql<SqlBool>>[] = [];
      for (let j = 0; j < i; j++) parts.push(this.equalTo(sort[j].key, marker[sort[j].key]));
      parts.push(this.beyond(sort[i].key, sort[i].dir, marker[sort[i].key]));
      ors.push(sql<SqlBool>`(${sql.join(parts, sql` and `)})`);
    }
    return sql<SqlBool>`(${sql.join(ors, sql` or `)})`;
  }

  private equalTo(key: SortKey, v: unknown) {
    const col = this.sortable(key);
    return v === null || v === undefined ? sql<SqlBool>`${sql.ref(`image.${key}`)} is null` : sql<SqlBool>`${col} = ${v}`;
  }

  private beyond(key: SortKey, dir: 'asc' | 'desc', v: unknown) {
    const ref = sql.ref(`image.${key}`);
    const col = this.sortable(key);
    if (dir === 'asc') return v === null || v === undefined ? sql<SqlBool>`${ref} is not null` : sql<SqlBool>`${col} > ${v}`;
    return v === null || v === undefined ? sql<SqlBool>`1 = 0` : sql<SqlBool>`(${col} < ${v} or ${ref} is null)`;
  }

  private async withDetails(rows: ImageRow[]): Promise<ImageRecord[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const props = await this.db.selectFrom('image_property').selectAll().where('image_id', 'in', ids).execute();
    const tags = await this.db.selectFrom('image_tag').selectAll().where('image_id', 'in', ids).orderBy('value').execute();
    const byId = new Map(rows.map((r) => [r.id, { ...r, properties: {} as Record<string, string>, tags: [] as string[] }]));
    for (const pr of props) byId.get(pr.image_id)!.properties[pr.name] = pr.value;
    for (const t of tags) byId.get(t.image_id)!.tags.push(t.value);
    return rows.map((r) => byId.get(r.id)!);
  }

  // ---- quota usage (Glance counts these per owner) ----

  async countImages(owner: string): Promise<number> {
    const r = await this.db.selectFrom('image').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner', '=', owner).where('deleted', '=', 0).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countUploading(owner: string): Promise<number> {
    const r = await this.db.selectFrom('image').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner', '=', owner).where('deleted', '=', 0).where('status', 'in', ['saving', 'uploading', 'importing'])
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Bytes of image data stored for an owner. */
  async storedBytes(owner: string): Promise<number> {
    const r = await this.db.selectFrom('image').select((eb) => eb.fn.sum<number>('size').as('n'))
      .where('owner', '=', owner).where('deleted', '=', 0).where('store_key', 'is not', null).executeTakeFirstOrThrow();
    return Number(r.n ?? 0);
  }

  /** Bytes waiting in the staging area for an owner. */
  async stagedBytes(owner: string): Promise<number> {
    const r = await this.db.selectFrom('image').select((eb) => eb.fn.sum<number>('size').as('n'))
      .where('owner', '=', owner).where('deleted', '=', 0).where('status', 'in', ['uploading', 'importing'])
      .executeTakeFirstOrThrow();
    return Number(r.n ?? 0);
  }

  // ---- reconciliation ----

  /** Images a process of this host left moving data (status saving, uploading or importing). */
  interrupted(hostPrefix: string, currentWorker: string): Promise<ImageRow[]> {
    return this.db.selectFrom('image').selectAll().where('deleted', '=', 0)
      .where('status', 'in', ['saving', 'uploading', 'importing'])
      .where('worker', 'like', `${hostPrefix}%`).where('worker', '<>', currentWorker).execute();
  }

  /** Store keys that belong to a live image, for one store. */
  async referencedKeys(storeId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('image').select('store_key')
      .where('deleted', '=', 0).where('store_id', '=', storeId).where('store_key', 'is not', null).execute();
    return new Set(rows.map((r) => r.store_key!));
  }

  /** Ids of images whose data waits in staging (status uploading or importing). */
  async stagedIds(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('image').select('id').where('deleted', '=', 0)
      .where('status', 'in', ['uploading', 'importing']).execute();
    return new Set(rows.map((r) => r.id));
  }
}
