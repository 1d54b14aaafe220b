import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../core/db/database.js';
import type { AssociationRow, ImageDB, MetadefItemRow, NamespaceRow } from './schema.js';

export type ItemKind = MetadefItemRow['kind'];

/** Metadata definition namespaces, their objects/properties/tags, and resource types. */
export class MetadefRepo {
  constructor(private readonly db: Kysely<ImageDB>) {}

  namespace(name: string): Promise<NamespaceRow | undefined> {
    return this.db.selectFrom('metadef_namespace').selectAll().where('namespace', '=', name).executeTakeFirst();
  }

  /** Namespaces visible to a project (public or its own; all for admins), optionally with a resource type. */
  namespaces(viewer: { projectId: string | null; isAdmin: boolean }, f: { visibility?: string; resourceTypes?: string[] }): Promise<NamespaceRow[]> {
    let q = this.db.selectFrom('metadef_namespace').selectAll('metadef_namespace');
    if (!viewer.isAdmin) {
      q = q.where((eb) => eb.or([eb('visibility', '=', 'public'), eb('owner', '=', viewer.projectId ?? '')]));
    }
    if (f.visibility) q = q.where('visibility', '=', f.visibility);
    if (f.resourceTypes?.length) {
      q = q.where((eb) => eb.exists(eb.selectFrom('metadef_association as a').select('a.namespace_id')
        .whereRef('a.namespace_id', '=', 'metadef_namespace.id').where('a.resource_type', 'in', f.resourceTypes!)));
    }
    return q.orderBy('created_at').orderBy('namespace').execute();
  }

  /** Inserts; false when the name is taken. */
  async insertNamespace(row: NamespaceRow): Promise<boolean> {
    try {
      await this.db.insertInto('metadef_namespace').values(row).execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async updateNamespace(id: string, change: Partial<NamespaceRow>): Promise<boolean> {
    try {
      await this.db.updateTable('metadef_namespace').set(change).where('id', '=', id).execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async deleteNamespace(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('metadef_item').where('namespace_id', '=', id).execute();
      await tx.deleteFrom('metadef_association').where('namespace_id', '=', id).execute();
      await tx.deleteFrom('metadef_namespace').where('id', '=', id).execute();
    });
  }

  items(namespaceId: string, kind: ItemKind): Promise<MetadefItemRow[]> {
    return this.db.selectFrom('metadef_item').selectAll().where('namespace_id', '=', namespaceId).where('kind', '=', kind)
      .orderBy('created_at').orderBy('name').execute();
  }

  item(namespaceId: string, kind: ItemKind, name: string): Promise<MetadefItemRow | undefined> {
    return this.db.selectFrom('metadef_item').selectAll().where('namespace_id', '=', namespaceId).where('kind', '=', kind)
      .where('name', '=', name).executeTakeFirst();
  }

  /** Inserts items; false (and nothing inserted) when a name is taken. */
  async insertItems(rows: MetadefItemRow[], replaceKind?: { namespaceId: string; kind: ItemKind }): Promise<boolean> {
    try {
      await this.db.transaction().execute(async (tx) => {
        if (replaceKind) await tx.deleteFrom('metadef_item').where('namespace_id', '=', replaceKind.namespaceId).where('kind', '=', replaceKind.kind).execute();
        if (rows.length) await tx.insertInto('metadef_item').values(rows).execute();
      });
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  /** Replaces an item (possibly renaming it); false when the new name is taken. */
  async replaceItem(namespaceId: string, kind: ItemKind, name: string, row: MetadefItemRow): Promise<boolean> {
    try {
      await this.db.updateTable('metadef_item').set({ name: row.name, body: row.body, updated_at: row.updated_at })
        .where('namespace_id', '=', namespaceId).where('kind', '=', kind).where('name', '=', name).execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async deleteItems(namespaceId: string, kind: ItemKind, name?: string): Promise<number> {
    let q = this.db.deleteFrom('metadef_item').where('namespace_id', '=', namespaceId).where('kind', '=', kind);
    if (name !== undefined) q = q.where('name', '=', name);
    return Number((await q.executeTakeFirst()).numDeletedRows);
  }

  resourceTypes() {
    return this.db.selectFrom('metadef_resource_type').selectAll().orderBy('name').execute();
  }

  async ensureResourceType(name: string, now: string): Promise<void> {
    const has = await this.db.selectFrom('metadef_resource_type').select('name').where('name', '=', name).executeTakeFirst();
    if (!has) {
      await this.db.insertInto('metadef_resource_type').values({ name, protected: 0, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doNothing()).execute();
    }
  }

  associations(namespaceId: string): Promise<AssociationRow[]> {
    return this.db.selectFrom('metadef_association').selectAll().where('namespace_id', '=', namespaceId).orderBy('created_at').orderBy('resource_type').execute();
  }

  async associate(row: AssociationRow): Promise<boolean> {
    try {
      await this.db.insertInto('metadef_association').values(row).execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async dissociate(namespaceId: string, resourceType: string): Promise<boolean> {
    const r = await this.db.deleteFrom('metadef_association').where('namespace_id', '=', namespaceId).where('resource_type', '=', resourceType).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
