import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { LimitRow, RegisteredLimitRow } from '../db/schema.js';
import type { Catalog } from './catalog.js';
import type { Db } from './deps.js';
import type { Projects } from './projects.js';

export interface RegisteredLimit {
  id: string;
  serviceId: string;
  regionId: string | null;
  resourceName: string;
  defaultLimit: number;
  description: string | null;
}

export interface Limit {
  id: string;
  projectId: string | null;
  domainId: string | null;
  serviceId: string;
  regionId: string | null;
  resourceName: string;
  resourceLimit: number;
  description: string | null;
}

export interface RegisteredLimitInput {
  service_id: string;
  region_id?: string | null;
  resource_name: string;
  default_limit: number;
  description?: string | null;
}

export interface LimitInput {
  project_id?: string;
  domain_id?: string;
  service_id: string;
  region_id?: string;
  resource_name: string;
  resource_limit: number;
  description?: string | null;
}

export interface LimitFilter {
  serviceId?: string;
  regionId?: string;
  resourceName?: string;
  projectId?: string;
  domainId?: string;
  /** Only these projects' limits and these domains' limits (a domain-scoped caller). */
  within?: { projectIds: string[]; domainId: string };
}

const toRegistered = (r: RegisteredLimitRow): RegisteredLimit => ({
  id: r.id, serviceId: r.service_id, regionId: r.region_id, resourceName: r.resource_name, defaultLimit: Number(r.default_limit), description: r.description,
});
const toLimit = (r: LimitRow): Limit => ({
  id: r.id, projectId: r.project_id, domainId: r.domain_id, serviceId: r.service_id, regionId: r.region_id,
  resourceName: r.resource_name, resourceLimit: Number(r.resource_limit), description: r.description,
});

const invalid = (attr: string, target: string) => badRequest(`Expecting to find ${attr} in ${target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`);

export const LIMIT_MODEL = {
  name: 'flat',
  description: 'Limit enforcement and validation does not take project hierarchy into consideration.',
};

/**
 * Unified limits, flat model: registered limits are a service's defaults per resource (and
 * region); limits override them for one project or domain and need a registered limit to
 * exist. Duplicates are refused inside a transaction that first locks the parent row, so
 * concurrent creates on PostgreSQL cannot both pass the check.
 */
export class Limits {
  constructor(private readonly db: Db, private readonly catalog: Catalog, private readonly projects: Projects) {}

  model() {
    return { ...LIMIT_MODEL };
  }

  // --- registered limits

  private async assertCatalogRefs(serviceId: string | undefined, regionId: string | null | undefined, target: string): Promise<void> {
    if (serviceId !== undefined) await this.catalog.getService(serviceId).catch(() => { throw invalid('service_id', target); });
    if (regionId !== undefined && regionId !== null) await this.catalog.getRegion(regionId).catch(() => { throw invalid('region_id', target); });
  }

  async createRegistered(items: RegisteredLimitInput[]): Promise<RegisteredLimit[]> {
    for (const it of items) await this.assertCatalogRefs(it.service_id, it.region_id, 'registered_limit');
    const rows: RegisteredLimitRow[] = items.map((it) => ({
      id: newId(), service_id: it.service_id, region_id: it.region_id ?? null, resource_name: it.resource_name,
      default_limit: it.default_limit, description: it.description ?? null,
    }));
    await this.db.transaction().execute(async (tx) => {
      for (const serviceId of [...new Set(rows.map((r) => r.service_id))].sort()) await lockService(tx, serviceId);
      const seen = new Set<string>();
      for (const row of rows) {
        const key = JSON.stringify([row.service_id, row.region_id, row.resource_name]);
        if (seen.has(key) || (await findRegistered(tx, row.service_id, row.region_id, row.resource_name))) {
          throw conflict('Conflict occurred attempting to store registered_limit - Duplicate entry.');
        }
        seen.add(key);
        await tx.insertInto('registered_limit').values(row).execute();
      }
    });
    return rows.map(toRegistered);
  }

  async listRegistered(f: { serviceId?: string; regionId?: string; resourceName?: string } = {}): Promise<RegisteredLimit[]> {
    let q = this.db.selectFrom('registered_limit').selectAll();
    if (f.serviceId !== undefined) q = q.where('service_id', '=', f.serviceId);
    if (f.regionId !== undefined) q = q.where('region_id', '=', f.regionId);
    if (f.resourceName !== undefined) q = q.where('resource_name', '=', f.resourceName);
    return (await q.orderBy('service_id').orderBy('resource_name').orderBy('id').execute()).map(toRegistered);
  }

  async getRegistered(id: string): Promise<RegisteredLimit> {
    const r = await this.db.selectFrom('registered_limit').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find registered limit for ${id}.`);
    return toRegistered(r);
  }

  /** As Keystone: refused (403) while project or domain limits depend on it. */
  async updateRegistered(id: string, patch: Partial<RegisteredLimitInput>): Promise<RegisteredLimit> {
    await this.assertCatalogRefs(patch.service_id, patch.region_id, 'registered_limit');
    await this.db.transaction().execute(async (tx) => {
      if (!(await lockRegistered(tx, id))) throw notFound(`Could not find registered limit for ${id}.`);
      const cur = (await tx.selectFrom('registered_limit').selectAll().where('id', '=', id).executeTakeFirst())!;
      if (await referencingLimit(tx, cur)) throw referencedError(id);
      const next: RegisteredLimitRow = {
        ...cur,
        ...(patch.service_id !== undefined ? { service_id: patch.service_id } : {}),
        ...(patch.region_id !== undefined ? { region_id: patch.region_id } : {}),
        ...(patch.resource_name !== undefined ? { resource_name: patch.resource_name } : {}),
        ...(patch.default_limit !== undefined ? { default_limit: patch.default_limit } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
      };
      if (next.service_id !== cur.service_id || next.region_id !== cur.region_id || next.resource_name !== cur.resource_name) {
        await lockService(tx, next.service_id);
        const other = await findRegistered(tx, next.service_id, next.region_id, next.resource_name);
        if (other && other.id !== id) throw conflict('Conflict occurred attempting to store registered_limit - Duplicate entry.');
      }
      const { id: _id, ...set } = next;
      await tx.updateTable('registered_limit').set(set).where('id', '=', id).execute();
    });
    return this.getRegistered(id);
  }

  async deleteRegistered(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      if (!(await lockRegistered(tx, id))) throw notFound(`Could not find registered limit for ${id}.`);
      const cur = (await tx.selectFrom('registered_limit').selectAll().where('id', '=', id).executeTakeFirst())!;
      if (await referencingLimit(tx, cur)) throw referencedError(id);
      await tx.deleteFrom('registered_limit').where('id', '=', id).execute();
    });
  }

  // --- limits

  async createLimits(items: LimitInput[]): Promise<Limit[]> {
    const rows: LimitRow[] = [];
    for (const it of items) {
      await this.assertCatalogRefs(it.service_id, it.region_id, 'limit');
      let projectId: string | null = null;
      let domainId: string | null = null;
      if (it.project_id !== undefined) {
        const p = await this.projects.get(it.project_id);
        if (!p) throw invalid('project_id', 'limit');
        // A domain named as a project is a domain limit (Keystone does the same).
        if (p.isDomain) domainId = p.id;
        else projectId = p.id;
      } else if (it.domain_id !== undefined) {
        const d = await this.projects.get(it.domain_id);
        if (!d || !d.isDomain) throw invalid('domain_id', 'limit');
        domainId = d.id;
      }
      rows.push({
        id: newId(), project_id: projectId, domain_id: domainId, service_id: it.service_id, region_id: it.region_id ?? null,
        resource_name: it.resource_name, resource_limit: it.resource_limit, description: it.description ?? null,
      });
    }
    await this.db.transaction().execute(async (tx) => {
      const regs = [];
      for (const row of rows) {
        const reg = await findRegistered(tx, row.service_id, row.region_id, row.resource_name);
        if (!reg) throw noReference();
        regs.push(reg);
      }
      // Locks in a fixed order: serialises creates against each other and against the
      // registered limits' update and delete, without deadlocks.
      for (const regId of [...new Set(regs.map((r) => r.id))].sort()) {
        if (!(await lockRegistered(tx, regId))) throw noReference();
      }
      const seen = new Set<string>();
      for (const [i, row] of rows.entries()) {
        const key = JSON.stringify([regs[i].id, row.project_id, row.domain_id]);
        if (seen.has(key)) throw conflict('Conflict occurred attempting to store limit - Duplicate entry.');
        seen.add(key);
        let q = tx.selectFrom('limit').select('id')
          .where('service_id', '=', row.service_id).where('resource_name', '=', row.resource_name);
        q = row.region_id === null ? q.where('region_id', 'is', null) : q.where('region_id', '=', row.region_id);
        q = row.project_id !== null ? q.where('project_id', '=', row.project_id) : q.where('domain_id', '=', row.domain_id!).where('project_id', 'is', null);
        if (await q.executeTakeFirst()) throw conflict('Conflict occurred attempting to store limit - Duplicate entry.');
        await tx.insertInto('limit').values(row).execute();
      }
    });
    return rows.map(toLimit);
  }

  async listLimits(f: LimitFilter = {}): Promise<Limit[]> {
    let q = this.db.selectFrom('limit').selectAll();
    if (f.serviceId !== undefined) q = q.where('service_id', '=', f.serviceId);
    if (f.regionId !== undefined) q = q.where('region_id', '=', f.regionId);
    if (f.resourceName !== undefined) q = q.where('resource_name', '=', f.resourceName);
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.within) {
      const { projectIds, domainId } = f.within;
      q = q.where((eb) => eb.or([
        ...(projectIds.length ? [eb('project_id', 'in', projectIds)] : []),
        eb.and([eb('project_id', 'is', null), eb('domain_id', '=', domainId)]),
      ]));
    }
    return (await q.orderBy('service_id').orderBy('resource_name').orderBy('id').execute()).map(toLimit);
  }

  async getLimit(id: string): Promise<Limit> {
    const r = await this.db.selectFrom('limit').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find limit for ${id}.`);
    return toLimit(r);
  }

  async updateLimit(id: string, patch: { resource_limit?: number; description?: string | null }): Promise<Limit> {
    await this.getLimit(id);
    const set: Partial<LimitRow> = {};
    if (patch.resource_limit !== undefined) set.resource_limit = patch.resource_limit;
    if (patch.description !== undefined) set.description = patch.description;
    if (Object.keys(set).length) await this.db.updateTable('limit').set(set).where('id', '=', id).execute();
    return this.getLimit(id);
  }

  async deleteLimit(id: string): Promise<void> {
    const r = await this.db.deleteFrom('limit').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Could not find limit for ${id}.`);
  }
}

const noReference = () => forbidden('Unable to create a limit that has no corresponding registered limit.');

const referencedError = (id: string) =>
  forbidden(`Unable to update or delete registered limit ${id} because there are project limits associated with it.`);

async function findRegistered(tx: Db, serviceId: string, regionId: string | null, resourceName: string) {
  let q = tx.selectFrom('registered_limit').selectAll().where('service_id', '=', serviceId).where('resource_name', '=', resourceName);
  q = regionId === null ? q.where('region_id', 'is', null) : q.where('region_id', '=', regionId);
  return q.executeTakeFirst();
}

async function referencingLimit(tx: Db, reg: RegisteredLimitRow) {
  let q = tx.selectFrom('limit').select('id').where('service_id', '=', reg.service_id).where('resource_name', '=', reg.resource_name);
  q = reg.region_id === null ? q.where('region_id', 'is', null) : q.where('region_id', '=', reg.region_id);
  return q.limit(1).executeTakeFirst();
}

/** A no-op write that takes the row's lock (PostgreSQL row lock; SQLite's write lock). */
async function lockService(tx: Db, serviceId: string): Promise<void> {
  await tx.updateTable('service').set((eb) => ({ type: eb.ref('type') })).where('id', '=', serviceId).execute();
}

/** False when the registered limit is gone. */
async function lockRegistered(tx: Db, id: string): Promise<boolean> {
  const r = await tx.updateTable('registered_limit').set((eb) => ({ default_limit: eb.ref('default_limit') })).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
