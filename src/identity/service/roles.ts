import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import { NULL_DOMAIN_ID, type RoleRow } from '../db/schema.js';
import { parseJson, type Db } from './deps.js';

export interface Role {
  id: string;
  name: string;
  domainId: string | null;
  description: string | null;
  options: Record<string, unknown>;
  extra: Record<string, unknown>;
}

const toRole = (r: RoleRow): Role => ({
  id: r.id,
  name: r.name,
  domainId: r.domain_id === NULL_DOMAIN_ID ? null : r.domain_id,
  description: r.description,
  options: parseJson(r.options),
  extra: parseJson(r.extra),
});

/** Roles (global and domain-specific) and role implications (prior → implied). */
export class Roles {
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<Role> {
    const r = await this.db.selectFrom('role').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find role: ${id}.`);
    return toRole(r);
  }

  async findByName(name: string, domainId: string | null = null): Promise<Role | undefined> {
    const r = await this.db.selectFrom('role').selectAll().where('name', '=', name).where('domain_id', '=', domainId ?? NULL_DOMAIN_ID).executeTakeFirst();
    return r ? toRole(r) : undefined;
  }

  async byIds(ids: string[]): Promise<Role[]> {
    if (ids.length === 0) return [];
    return (await this.db.selectFrom('role').selectAll().where('id', 'in', ids).execute()).map(toRole);
  }

  async list(f: { name?: string; domainId?: string | null }): Promise<Role[]> {
    let q = this.db.selectFrom('role').selectAll();
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    q = q.where('domain_id', '=', f.domainId ?? NULL_DOMAIN_ID);
    return (await q.orderBy('name').execute()).map(toRole);
  }

  async create(input: { id?: string; name?: string; domainId?: string | null; description?: string | null; options?: Record<string, unknown>; extra?: Record<string, unknown> }): Promise<Role> {
    if (!input.name || input.name.trim() === '' || input.name.length > 255) throw badRequest("Invalid input for field 'name'.");
    const row: RoleRow = {
      id: input.id ?? newId(),
      name: input.name,
      domain_id: input.domainId ?? NULL_DOMAIN_ID,
      description: input.description ?? null,
      options: JSON.stringify(input.options ?? {}),
      extra: JSON.stringify(input.extra ?? {}),
    };
    try {
      await this.db.insertInto('role').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store role - Duplicate entry found with name ${input.name}.`);
      throw e;
    }
    return toRole(row);
  }

  async update(id: string, input: { name?: string; description?: string | null; options?: Record<string, unknown>; extra?: Record<string, unknown> }): Promise<Role> {
    const cur = await this.get(id);
    if (cur.options.immutable && !(input.options && input.options.immutable === false)) throw forbidden(`Role ${id} is immutable.`);
    const patch: Partial<RoleRow> = {};
    if (input.name !== undefined) {
      if (input.name.trim() === '' || input.name.length > 255) throw badRequest("Invalid input for field 'name'.");
      patch.name = input.name;
    }
    if (input.description !== undefined) patch.description = input.description;
    if (input.options !== undefined) patch.options = JSON.stringify({ ...cur.options, ...input.options });
    if (input.extra !== undefined) patch.extra = JSON.stringify({ ...cur.extra, ...input.extra });
    try {
      if (Object.keys(patch).length) await this.db.updateTable('role').set(patch).where('id', '=', id).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store role - Duplicate entry found with name ${input.name}.`);
      throw e;
    }
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    const cur = await this.get(id);
    if (cur.options.immutable) throw forbidden(`Role ${id} is immutable.`);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('assignment').where('role_id', '=', id).execute();
      await tx.deleteFrom('trust_role').where('role_id', '=', id).execute();
      await tx.deleteFrom('application_credential_role').where('role_id', '=', id).execute();
      await tx.deleteFrom('role').where('id', '=', id).execute();
    });
  }

  async addImplied(priorId: string, impliedId: string): Promise<void> {
    const prior = await this.get(priorId);
    const implied = await this.get(impliedId);
    if (implied.domainId !== null && prior.domainId === null) {
      throw forbidden('A global role cannot imply a domain-specific role.');
    }
    if (priorId === impliedId || (await this.expand([impliedId])).includes(priorId)) {
      throw forbidden(`Role ${priorId} cannot imply ${impliedId}: it would create a cycle.`);
    }
    try {
      await this.db.insertInto('implied_role').values({ prior_role_id: priorId, implied_role_id: impliedId }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
  }

  async checkImplied(priorId: string, impliedId: string): Promise<void> {
    await this.get(priorId);
    await this.get(impliedId);
    const r = await this.db.selectFrom('implied_role').select('prior_role_id').where('prior_role_id', '=', priorId).where('implied_role_id', '=', impliedId).executeTakeFirst();
    if (!r) throw notFound(`Could not find implied role: ${priorId} implies ${impliedId}.`);
  }

  async removeImplied(priorId: string, impliedId: string): Promise<void> {
    await this.checkImplied(priorId, impliedId);
    await this.db.deleteFrom('implied_role').where('prior_role_id', '=', priorId).where('implied_role_id', '=', impliedId).execute();
  }

  async impliedBy(priorId: string): Promise<Role[]> {
    const rows = await this.db.selectFrom('implied_role').select('implied_role_id').where('prior_role_id', '=', priorId).execute();
    return this.byIds(rows.map((r) => r.implied_role_id));
  }

  async allImplications(): Promise<{ prior_role_id: string; implied_role_id: string }[]> {
    return this.db.selectFrom('implied_role').selectAll().execute();
  }

  /** The given roles plus everything they imply, transitively. */
  async expand(roleIds: string[]): Promise<string[]> {
    const seen = new Set(roleIds);
    let frontier = [...roleIds];
    while (frontier.length) {
      const rows = await this.db.selectFrom('implied_role').select('implied_role_id').where('prior_role_id', 'in', frontier).execute();
      frontier = rows.map((r) => r.implied_role_id).filter((id) => !seen.has(id));
      frontier.forEach((id) => seen.add(id));
    }
    return [...seen];
  }
}
