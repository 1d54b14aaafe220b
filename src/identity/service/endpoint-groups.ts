import { badRequest, conflict, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import type { Catalog, Endpoint } from './catalog.js';
import { parseJson, type Db } from './deps.js';
import type { Projects } from './projects.js';

/** What an endpoint group may filter on (Keystone's valid_filter_keys). */
export const ENDPOINT_GROUP_FILTER_KEYS = ['service_id', 'region_id', 'interface'] as const;

export interface EndpointGroup {
  id: string;
  name: string;
  description: string | null;
  filters: Record<string, unknown>;
}

const toGroup = (r: { id: string; name: string; description: string | null; filters: string }): EndpointGroup => ({
  id: r.id, name: r.name, description: r.description, filters: parseJson(r.filters),
});

/** An endpoint's attributes under the names endpoint-group filters use. */
const filterable = (e: Endpoint): Record<string, unknown> => ({ service_id: e.serviceId, region_id: e.regionId, interface: e.interface });

/**
 * OS-EP-FILTER: endpoint groups (named filters over endpoints) and their association with
 * projects, plus direct project-endpoint associations. The catalog is not filtered by them
 * (Keystone's default SQL catalog does not either).
 */
export class EndpointGroups {
  constructor(private readonly db: Db, private readonly catalog: Catalog, private readonly projects: Projects) {}

  private static checkFilters(filters: unknown): asserts filters is Record<string, unknown> {
    if (typeof filters !== 'object' || filters === null || Array.isArray(filters) || Object.keys(filters).length === 0) {
      throw badRequest('filters field is required and cannot be empty');
    }
    for (const k of Object.keys(filters)) {
      if (!(ENDPOINT_GROUP_FILTER_KEYS as readonly string[]).includes(k)) {
        throw badRequest(`Expecting to find ${ENDPOINT_GROUP_FILTER_KEYS.join(' or ')} in endpoint_group. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`);
      }
    }
  }

  async get(id: string): Promise<EndpointGroup> {
    const r = await this.db.selectFrom('endpoint_group').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find endpoint group: ${id}.`);
    return toGroup(r);
  }

  async list(f: { name?: string } = {}): Promise<EndpointGroup[]> {
    let q = this.db.selectFrom('endpoint_group').selectAll();
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    return (await q.orderBy('name').orderBy('id').execute()).map(toGroup);
  }

  async create(input: { name: string; description?: string | null; filters: unknown }): Promise<EndpointGroup> {
    EndpointGroups.checkFilters(input.filters);
    const row = { id: newId(), name: input.name, description: input.description ?? null, filters: JSON.stringify(input.filters) };
    await this.db.insertInto('endpoint_group').values(row).execute();
    return toGroup(row);
  }

  async update(id: string, input: { id?: string; name?: string; description?: string | null; filters?: unknown }): Promise<EndpointGroup> {
    if (input.id !== undefined && input.id !== id) throw badRequest('Cannot change ID');
    if (input.filters !== undefined) EndpointGroups.checkFilters(input.filters);
    const cur = await this.get(id);
    await this.db.updateTable('endpoint_group').set({
      name: input.name ?? cur.name,
      description: input.description === undefined ? cur.description : input.description,
      filters: input.filters === undefined ? JSON.stringify(cur.filters) : JSON.stringify(input.filters),
    }).where('id', '=', id).execute();
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('project_endpoint_group').where('endpoint_group_id', '=', id).execute();
      await tx.deleteFrom('endpoint_group').where('id', '=', id).execute();
    });
  }

  /** The endpoints a group's filters select. */
  async endpointsOf(id: string): Promise<Endpoint[]> {
    const { filters } = await this.get(id);
    const all = await this.catalog.listEndpoints({});
    return all.filter((e) => Object.entries(filters).every(([k, v]) => filterable(e)[k] === v));
  }

  // --- endpoint group ↔ project

  async addToProject(groupId: string, projectId: string): Promise<void> {
    await this.projects.getProject(projectId);
    await this.get(groupId);
    try {
      await this.db.insertInto('project_endpoint_group').values({ endpoint_group_id: groupId, project_id: projectId }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store project_endpoint_group - Duplicate entry for endpoint group ${groupId} and project ${projectId}.`);
      throw e;
    }
  }

  async checkInProject(groupId: string, projectId: string): Promise<void> {
    await this.projects.getProject(projectId);
    await this.get(groupId);
    const r = await this.db.selectFrom('project_endpoint_group').select('project_id')
      .where('endpoint_group_id', '=', groupId).where('project_id', '=', projectId).executeTakeFirst();
    if (!r) throw notFound('Endpoint Group Project Association not found');
  }

  async removeFromProject(groupId: string, projectId: string): Promise<void> {
    await this.checkInProject(groupId, projectId);
    await this.db.deleteFrom('project_endpoint_group').where('endpoint_group_id', '=', groupId).where('project_id', '=', projectId).execute();
  }

  /** Projects a group is associated with (associations to since-deleted projects are skipped). */
  async projectIdsOf(groupId: string): Promise<string[]> {
    await this.get(groupId);
    const rows = await this.db.selectFrom('project_endpoint_group').select('project_id').where('endpoint_group_id', '=', groupId).orderBy('project_id').execute();
    return rows.map((r) => r.project_id);
  }

  async groupsOfProject(projectId: string): Promise<EndpointGroup[]> {
    await this.projects.getProject(projectId);
    const rows = await this.db.selectFrom('project_endpoint_group').select('endpoint_group_id').where('project_id', '=', projectId).execute();
    if (rows.length === 0) return [];
    return (await this.db.selectFrom('endpoint_group').selectAll().where('id', 'in', rows.map((r) => r.endpoint_group_id)).orderBy('name').execute()).map(toGroup);
  }

  // --- endpoint ↔ project (direct)

  async addEndpointToProject(endpointId: string, projectId: string): Promise<void> {
    await this.catalog.getEndpoint(endpointId);
    await this.projects.getProject(projectId);
    try {
      await this.db.insertInto('project_endpoint').values({ endpoint_id: endpointId, project_id: projectId }).execute();
    } catch (e) {
      // Adding an association that exists is a no-op.
      if (!isUniqueViolation(e)) throw e;
    }
  }

  async checkEndpointInProject(endpointId: string, projectId: string): Promise<void> {
    await this.catalog.getEndpoint(endpointId);
    await this.projects.getProject(projectId);
    const r = await this.db.selectFrom('project_endpoint').select('project_id')
      .where('endpoint_id', '=', endpointId).where('project_id', '=', projectId).executeTakeFirst();
    if (!r) throw notFound(`Endpoint ${endpointId} not found in project ${projectId}`);
  }

  async removeEndpointFromProject(endpointId: string, projectId: string): Promise<void> {
    const r = await this.db.deleteFrom('project_endpoint').where('endpoint_id', '=', endpointId).where('project_id', '=', projectId).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Endpoint ${endpointId} not found in project ${projectId}`);
  }

  /** Projects an endpoint is directly associated with. */
  async projectIdsOfEndpoint(endpointId: string): Promise<string[]> {
    await this.catalog.getEndpoint(endpointId);
    const rows = await this.db.selectFrom('project_endpoint').select('project_id').where('endpoint_id', '=', endpointId).orderBy('project_id').execute();
    return rows.map((r) => r.project_id);
  }

  /** A project's endpoints: direct associations plus what its endpoint groups select. */
  async endpointsOfProject(projectId: string): Promise<Endpoint[]> {
    await this.projects.getProject(projectId);
    const direct = await this.db.selectFrom('project_endpoint').select('endpoint_id').where('project_id', '=', projectId).execute();
    const all = await this.catalog.listEndpoints({});
    const byId = new Map(all.map((e) => [e.id, e]));
    const out = new Map<string, Endpoint>();
    for (const { endpoint_id } of direct) {
      const e = byId.get(endpoint_id);
      // Keystone drops associations to endpoints that no longer exist.
      if (e) out.set(e.id, e);
      else await this.db.deleteFrom('project_endpoint').where('endpoint_id', '=', endpoint_id).where('project_id', '=', projectId).execute();
    }
    for (const g of await this.groupsOfProject(projectId)) {
      for (const e of all) if (!out.has(e.id) && Object.entries(g.filters).every(([k, v]) => filterable(e)[k] === v)) out.set(e.id, e);
    }
    return [...out.values()];
  }
}
