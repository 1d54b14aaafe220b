import { badRequest, conflict, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import { parseJson, type Db } from './deps.js';

export interface Group {
  id: string;
  name: string;
  domainId: string;
  description: string | null;
  extra: Record<string, unknown>;
}

type GroupRow = { id: string; domain_id: string; name: string; description: string | null; extra: string };
const toGroup = (r: GroupRow): Group => ({ id: r.id, name: r.name, domainId: r.domain_id, description: r.description, extra: parseJson(r.extra) });

/** Groups and their membership. */
export class Groups {
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<Group> {
    const r = await this.db.selectFrom('group').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find group: ${id}.`);
    return toGroup(r);
  }

  async findByName(name: string, domainId: string): Promise<Group | undefined> {
    const r = await this.db.selectFrom('group').selectAll().where('name', '=', name).where('domain_id', '=', domainId).executeTakeFirst();
    return r ? toGroup(r) : undefined;
  }

  async list(f: { name?: string; domainId?: string; ids?: string[] }): Promise<Group[]> {
    let q = this.db.selectFrom('group').selectAll();
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.ids !== undefined) {
      if (f.ids.length === 0) return [];
      q = q.where('id', 'in', f.ids);
    }
    return (await q.orderBy('name').execute()).map(toGroup);
  }

  async create(input: { name?: string; domainId: string; description?: string | null; extra?: Record<string, unknown> }): Promise<Group> {
    if (!input.name || input.name.trim() === '' || input.name.length > 64) throw badRequest("Invalid input for field 'name'.");
    const row: GroupRow = { id: newId(), name: input.name, domain_id: input.domainId, description: input.description ?? null, extra: JSON.stringify(input.extra ?? {}) };
    try {
      await this.db.insertInto('group').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store group - Duplicate entry found with name ${input.name}.`);
      throw e;
    }
    return toGroup(row);
  }

  async update(id: string, input: { name?: string; description?: string | null; extra?: Record<string, unknown> }): Promise<Group> {
    const cur = await this.get(id);
    const patch: Partial<GroupRow> = {};
    if (input.name !== undefined) {
      if (input.name.trim() === '' || input.name.length > 64) throw badRequest("Invalid input for field 'name'.");
      patch.name = input.name;
    }
    if (input.description !== undefined) patch.description = input.description;
    if (input.extra !== undefined) patch.extra = JSON.stringify({ ...cur.extra, ...input.extra });
    try {
      if (Object.keys(patch).length) await this.db.updateTable('group').set(patch).where('id', '=', id).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store group - Duplicate entry found with name ${input.name}.`);
      throw e;
    }
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('assignment').where('actor_id', '=', id).execute();
      await tx.deleteFrom('group').where('id', '=', id).execute();
    });
  }

  async addUser(groupId: string, userId: string): Promise<void> {
    try {
      await this.db.insertInto('user_group_membership').values({ group_id: groupId, user_id: userId }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
  }

  async hasUser(groupId: string, userId: string): Promise<boolean> {
    const r = await this.db.selectFrom('user_group_membership').select('user_id').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    return r !== undefined;
  }

  async removeUser(groupId: string, userId: string): Promise<void> {
    const r = await this.db.deleteFrom('user_group_membership').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`User ${userId} is not a member of group ${groupId}.`);
  }

  async userIds(groupId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('user_group_membership').select('user_id').where('group_id', '=', groupId).execute();
    return rows.map((r) => r.user_id);
  }
}
