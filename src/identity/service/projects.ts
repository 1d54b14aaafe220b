import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import { ROOT_DOMAIN_ID, type ProjectRow } from '../db/schema.js';
import { bool, int, parseJson, type Db } from './deps.js';

/** A project or a domain (a project with is_domain), as the API shows it. */
export interface Project {
  id: string;
  name: string;
  domainId: string | null;
  parentId: string | null;
  description: string | null;
  enabled: boolean;
  isDomain: boolean;
  tags: string[];
  extra: Record<string, unknown>;
}

export interface ProjectInput {
  name?: string;
  description?: string | null;
  enabled?: boolean;
  domainId?: string;
  parentId?: string | null;
  isDomain?: boolean;
  tags?: string[];
  extra?: Record<string, unknown>;
}

const toProject = (r: ProjectRow, tags: string[]): Project => ({
  id: r.id,
  name: r.name,
  domainId: r.is_domain ? null : r.domain_id,
  parentId: r.parent_id,
  description: r.description,
  enabled: bool(r.enabled),
  isDomain: bool(r.is_domain),
  tags,
  extra: parseJson(r.extra),
});

export interface ProjectFilter {
  name?: string;
  domainId?: string;
  parentId?: string;
  enabled?: boolean;
  isDomain?: boolean;
  ids?: string[];
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  notTagsAny?: string[];
}

/** Domains and projects share one table, as in Keystone. */
export class Projects {
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<Project | undefined> {
    const row = await this.db.selectFrom('project').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toProject(row, await this.tagsOf(id)) : undefined;
  }

  /** A project; with allowDomain, also a domain seen through the projects API (is_domain). */
  async getProject(id: string, allowDomain = false): Promise<Project> {
    const p = await this.get(id);
    if (!p || (p.isDomain && !allowDomain)) throw notFound(`Could not find project: ${id}.`);
    return p;
  }

  async getDomain(id: string): Promise<Project> {
    const p = await this.get(id);
    if (!p || !p.isDomain) throw notFound(`Could not find domain: ${id}.`);
    return p;
  }

  async findByName(name: string, domainId: string): Promise<Project | undefined> {
    const row = await this.db.selectFrom('project').selectAll()
      .where('name', '=', name).where('domain_id', '=', domainId).where('is_domain', '=', 0).executeTakeFirst();
    return row ? toProject(row, await this.tagsOf(row.id)) : undefined;
  }

  async findDomainByName(name: string): Promise<Project | undefined> {
    const row = await this.db.selectFrom('project').selectAll()
      .where('name', '=', name).where('domain_id', '=', ROOT_DOMAIN_ID).executeTakeFirst();
    return row ? toProject(row, []) : undefined;
  }

  async list(f: ProjectFilter): Promise<Project[]> {
    let q = this.db.selectFrom('project').selectAll();
    if (f.isDomain !== undefined) q = q.where('is_domain', '=', int(f.isDomain));
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId).where('is_domain', '=', 0);
    if (f.parentId !== undefined) q = q.where('parent_id', '=', f.parentId);
    if (f.enabled !== undefined) q = q.where('enabled', '=', int(f.enabled));
    if (f.ids !== undefined) {
      if (f.ids.length === 0) return [];
      q = q.where('id', 'in', f.ids);
    }
    const rows = await q.orderBy('name').execute();
    const tagRows = rows.length ? await this.db.selectFrom('project_tag').selectAll().where('project_id', 'in', rows.map((r) => r.id)).execute() : [];
    const tagsBy = new Map<string, string[]>();
    for (const t of tagRows) tagsBy.set(t.project_id, [...(tagsBy.get(t.project_id) ?? []), t.name]);
    return rows.map((r) => toProject(r, tagsBy.get(r.id) ?? [])).filter((p) => matchesTags(p.tags, f));
  }

  async createDomain(input: ProjectInput & { id?: string }): Promise<Project> {
    return this.insert({
      id: input.id ?? newId(),
      name: requireName(input.name),
      domain_id: ROOT_DOMAIN_ID,
      parent_id: null,
      description: input.description ?? '',
      enabled: int(input.enabled ?? true),
      is_domain: 1,
      extra: JSON.stringify(input.extra ?? {}),
    }, input.tags ?? [], 'domain');
  }

  /** Creates a project; a project with isDomain true is a domain. parent_id defaults to the domain. */
  async createProject(input: ProjectInput & { id?: string }): Promise<Project> {
    if (input.isDomain) return this.createDomain(input);
    let domainId = input.domainId;
    let parentId = input.parentId ?? null;
    if (parentId) {
      const parent = await this.get(parentId);
      if (!parent) throw badRequest(`Could not find project: ${parentId}.`);
      const parentDomain = parent.isDomain ? parent.id : parent.domainId!;
      if (domainId && domainId !== parentDomain) throw badRequest('Cannot create project: its domain differs from the parent\'s domain.');
      domainId = parentDomain;
    }
    if (!domainId) throw badRequest('A project needs a domain_id.');
    const domain = await this.get(domainId);
    if (!domain || !domain.isDomain) throw notFound(`Could not find domain: ${domainId}.`);
    parentId ??= domainId;
    return this.insert({
      id: input.id ?? newId(),
      name: requireName(input.name),
      domain_id: domainId,
      parent_id: parentId,
      description: input.description ?? '',
      enabled: int(input.enabled ?? true),
      is_domain: 0,
      extra: JSON.stringify(input.extra ?? {}),
    }, input.tags ?? [], 'project');
  }

  private async insert(row: ProjectRow, tags: string[], kind: string): Promise<Project> {
    validateTags(tags);
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('project').values(row).execute();
        for (const t of new Set(tags)) await tx.insertInto('project_tag').values({ project_id: row.id, name: t }).execute();
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store ${kind} - Duplicate entry found with name ${row.name}.`);
      throw e;
    }
    return toProject(row, [...new Set(tags)]);
  }

  async update(id: string, input: ProjectInput, kind: 'project' | 'domain'): Promise<Project> {
    const cur = kind === 'domain' ? await this.getDomain(id) : await this.getProject(id, true);
    const patch: Partial<ProjectRow> = {};
    if (input.name !== undefined) patch.name = requireName(input.name);
    if (input.description !== undefined) patch.description = input.description;
    if (input.enabled !== undefined) patch.enabled = int(input.enabled);
    if (input.extra !== undefined) patch.extra = JSON.stringify({ ...cur.extra, ...input.extra });
    if (input.domainId !== undefined && input.domainId !== cur.domainId && kind === 'project') {
      throw badRequest('Update of `domain_id` is not allowed.');
    }
    if (input.parentId !== undefined && input.parentId !== cur.parentId && kind === 'project') {
      throw forbidden('Update of `parent_id` is not allowed.');
    }
    try {
      await this.db.transaction().execute(async (tx) => {
        if (Object.keys(patch).length) await tx.updateTable('project').set(patch).where('id', '=', id).execute();
        if (input.tags !== undefined) await this.replaceTags(id, input.tags, tx);
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store ${kind} - Duplicate entry found with name ${input.name}.`);
      throw e;
    }
    return (await this.get(id))!;
  }

  async children(id: string): Promise<Project[]> {
    return this.list({ parentId: id });
  }

  /** Ancestor project ids, nearest first (not including domains). */
  async ancestors(id: string): Promise<string[]> {
    const out: string[] = [];
    let cur = await this.db.selectFrom('project').select(['parent_id', 'is_domain', 'domain_id']).where('id', '=', id).executeTakeFirst();
    while (cur?.parent_id && out.length < 64) {
      const parent = await this.db.selectFrom('project').select(['id', 'parent_id', 'is_domain', 'domain_id']).where('id', '=', cur.parent_id).executeTakeFirst();
      if (!parent || parent.is_domain) break;
      out.push(parent.id);
      cur = parent;
    }
    return out;
  }

  /** All descendants of a project (breadth first). */
  async descendants(id: string): Promise<string[]> {
    const out: string[] = [];
    let frontier = [id];
    while (frontier.length && out.length < 10000) {
      const rows = await this.db.selectFrom('project').select('id').where('parent_id', 'in', frontier).where('is_domain', '=', 0).execute();
      frontier = rows.map((r) => r.id);
      out.push(...frontier);
    }
    return out;
  }

  async deleteProject(id: string): Promise<void> {
    await this.getProject(id);
    if ((await this.children(id)).length > 0) {
      throw forbidden(`Cannot delete the project ${id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.`);
    }
    // What lives in the project goes with it, as in Keystone.
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('assignment').where('target_id', '=', id).execute();
      await tx.deleteFrom('limit').where('project_id', '=', id).execute();
      await tx.deleteFrom('credential').where('project_id', '=', id).execute();
      await tx.deleteFrom('application_credential').where('project_id', '=', id).execute();
      await tx.deleteFrom('project_endpoint').where('project_id', '=', id).execute();
      await tx.deleteFrom('project_endpoint_group').where('project_id', '=', id).execute();
      await tx.deleteFrom('project').where('id', '=', id).execute();
    });
  }

  async tagsOf(id: string): Promise<string[]> {
    const rows = await this.db.selectFrom('project_tag').select('name').where('project_id', '=', id).orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  async replaceTags(id: string, tags: string[], db: Db = this.db): Promise<void> {
    validateTags(tags);
    await db.deleteFrom('project_tag').where('project_id', '=', id).execute();
    for (const t of new Set(tags)) await db.insertInto('project_tag').values({ project_id: id, name: t }).execute();
  }

  async addTag(id: string, tag: string): Promise<void> {
    const tags = await this.tagsOf(id);
    if (tags.includes(tag)) return;
    validateTags([...tags, tag]);
    await this.db.insertInto('project_tag').values({ project_id: id, name: tag }).execute();
  }

  async removeTag(id: string, tag: string): Promise<void> {
    const r = await this.db.deleteFrom('project_tag').where('project_id', '=', id).where('name', '=', tag).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Tag ${tag} not found on project ${id}.`);
  }
}

function requireName(name: string | undefined): string {
  if (name === undefined || name.trim() === '') throw badRequest("Invalid input for field 'name': the name must not be empty.");
  if (name.length > 64) throw badRequest("Invalid input for field 'name': the name is longer than 64 characters.");
  return name;
}

function validateTags(tags: string[]): void {
  if (tags.length > 80) throw badRequest('A project may have at most 80 tags.');
  for (const t of tags) {
    if (typeof t !== 'string' || t.length === 0 || t.length > 255 || t.includes('/') || t.includes(',')) {
      throw badRequest(`Invalid tag '${t}': tags are 1-255 characters without '/' or ','.`);
    }
  }
}

function matchesTags(tags: string[], f: ProjectFilter): boolean {
  if (f.tags && !f.tags.every((t) => tags.includes(t))) return false;
  if (f.tagsAny && !f.tagsAny.some((t) => tags.includes(t))) return false;
  if (f.notTags && f.notTags.every((t) => tags.includes(t))) return false;
  if (f.notTagsAny && f.notTagsAny.some((t) => tags.includes(t))) return false;
  return true;
}
