import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import type { EndpointRow } from '../db/schema.js';
import { bool, int, parseJson, type Db } from './deps.js';

export interface Region { id: string; description: string; parentRegionId: string | null; extra: Record<string, unknown> }
export interface Service { id: string; type: string; enabled: boolean; name: string | null; description: string | null; extra: Record<string, unknown> }
export interface Endpoint { id: string; serviceId: string; interface: string; url: string; regionId: string | null; enabled: boolean; extra: Record<string, unknown> }

/** The token catalog: services with their enabled endpoints. */
export interface CatalogEntry {
  id: string;
  type: string;
  name: string;
  endpoints: { id: string; interface: string; region: string | null; region_id: string | null; url: string }[];
}

const INTERFACES = ['public', 'internal', 'admin'];

const toService = (r: { id: string; type: string; enabled: number; extra: string }): Service => {
  const extra = parseJson(r.extra);
  const { name, description, ...rest } = extra as { name?: string; description?: string };
  return { id: r.id, type: r.type, enabled: bool(r.enabled), name: name ?? null, description: description ?? null, extra: rest };
};
const toEndpoint = (r: EndpointRow): Endpoint => ({
  id: r.id, serviceId: r.service_id, interface: r.interface, url: r.url, regionId: r.region_id, enabled: bool(r.enabled), extra: parseJson(r.extra),
});

/** Regions, services and endpoints: the service catalog. */
export class Catalog {
  constructor(private readonly db: Db) {}

  // --- regions
  async getRegion(id: string): Promise<Region> {
    const r = await this.db.selectFrom('region').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find region: ${id}.`);
    return { id: r.id, description: r.description, parentRegionId: r.parent_region_id, extra: parseJson(r.extra) };
  }

  async listRegions(f: { parentRegionId?: string }): Promise<Region[]> {
    let q = this.db.selectFrom('region').selectAll();
    if (f.parentRegionId !== undefined) q = q.where('parent_region_id', '=', f.parentRegionId);
    return (await q.orderBy('id').execute()).map((r) => ({ id: r.id, description: r.description, parentRegionId: r.parent_region_id, extra: parseJson(r.extra) }));
  }

  async createRegion(input: { id?: string; description?: string; parentRegionId?: string | null; extra?: Record<string, unknown> }): Promise<Region> {
    const id = input.id ?? newId();
    if (input.parentRegionId) {
      await this.getRegion(input.parentRegionId).catch(() => { throw notFound(`Could not find region: ${input.parentRegionId}.`); });
    }
    try {
      await this.db.insertInto('region').values({ id, description: input.description ?? '', parent_region_id: input.parentRegionId ?? null, extra: JSON.stringify(input.extra ?? {}) }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store region - Duplicate ID, ${id}.`);
      throw e;
    }
    return this.getRegion(id);
  }

  async updateRegion(id: string, input: { description?: string; parentRegionId?: string | null; extra?: Record<string, unknown> }): Promise<Region> {
    const cur = await this.getRegion(id);
    if (input.parentRegionId) {
      if (input.parentRegionId === id) throw badRequest('A region cannot be its own parent.');
      await this.getRegion(input.parentRegionId);
    }
    await this.db.updateTable('region').set({
      description: input.description ?? cur.description,
      parent_region_id: input.parentRegionId === undefined ? cur.parentRegionId : input.parentRegionId,
      extra: JSON.stringify({ ...cur.extra, ...(input.extra ?? {}) }),
    }).where('id', '=', id).execute();
    return this.getRegion(id);
  }

  async deleteRegion(id: string): Promise<void> {
    await this.getRegion(id);
    const child = await this.db.selectFrom('region').select('id').where('parent_region_id', '=', id).executeTakeFirst();
    if (child) throw forbidden(`Unable to delete region ${id} because it or its child regions have associated endpoints.`);
    const ep = await this.db.selectFrom('endpoint').select('id').where('region_id', '=', id).executeTakeFirst();
    if (ep) throw forbidden(`Unable to delete region ${id} because it or its child regions have associated endpoints.`);
    await this.db.deleteFrom('region').where('id', '=', id).execute();
  }

  // --- services
  async getService(id: string): Promise<Service> {
    const r = await this.db.selectFrom('service').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find service: ${id}.`);
    return toService(r);
  }

  async listServices(f: { type?: string; name?: string }): Promise<Service[]> {
    let q = this.db.selectFrom('service').selectAll();
    if (f.type !== undefined) q = q.where('type', '=', f.type);
    const all = (await q.execute()).map(toService);
    return f.name !== undefined ? all.filter((s) => s.name === f.name) : all;
  }

  async createService(input: { id?: string; type: string; name?: string; description?: string; enabled?: boolean; extra?: Record<string, unknown> }): Promise<Service> {
    const id = input.id ?? newId();
    const extra = { ...(input.extra ?? {}), ...(input.name !== undefined ? { name: input.name } : {}), ...(input.description !== undefined ? { description: input.description } : {}) };
    await this.db.insertInto('service').values({ id, type: input.type, enabled: int(input.enabled ?? true), extra: JSON.stringify(extra) }).execute();
    return this.getService(id);
  }

  async updateService(id: string, input: { type?: string; name?: string; description?: string; enabled?: boolean; extra?: Record<string, unknown> }): Promise<Service> {
    const cur = await this.getService(id);
    const extra = { ...cur.extra, name: cur.name ?? undefined, description: cur.description ?? undefined, ...(input.extra ?? {}) };
    if (input.name !== undefined) extra.name = input.name;
    if (input.description !== undefined) extra.description = input.description;
    await this.db.updateTable('service').set({
      type: input.type ?? cur.type,
      enabled: int(input.enabled ?? cur.enabled),
      extra: JSON.stringify(extra),
    }).where('id', '=', id).execute();
    return this.getService(id);
  }

  async deleteService(id: string): Promise<void> {
    await this.getService(id);
    await this.db.deleteFrom('service').where('id', '=', id).execute();
  }

  // --- endpoints
  async getEndpoint(id: string): Promise<Endpoint> {
    const r = await this.db.selectFrom('endpoint').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find endpoint: ${id}.`);
    return toEndpoint(r);
  }

  async listEndpoints(f: { serviceId?: string; interface?: string; regionId?: string }): Promise<Endpoint[]> {
    let q = this.db.selectFrom('endpoint').selectAll();
    if (f.serviceId !== undefined) q = q.where('service_id', '=', f.serviceId);
    if (f.interface !== undefined) q = q.where('interface', '=', f.interface);
    if (f.regionId !== undefined) q = q.where('region_id', '=', f.regionId);
    return (await q.execute()).map(toEndpoint);
  }

  async createEndpoint(input: { id?: string; serviceId: string; interface: string; url: string; regionId?: string | null; enabled?: boolean; extra?: Record<string, unknown> }): Promise<Endpoint> {
    if (!INTERFACES.includes(input.interface)) throw badRequest(`Invalid input for field 'interface': must be one of ${INTERFACES.join(', ')}.`);
    await this.getService(input.serviceId).catch(() => { throw badRequest(`Could not find service: ${input.serviceId}.`); });
    if (input.regionId) await this.ensureRegion(input.regionId);
    const id = input.id ?? newId();
    await this.db.insertInto('endpoint').values({
      id, service_id: input.serviceId, interface: input.interface, url: input.url, region_id: input.regionId ?? null,
      enabled: int(input.enabled ?? true), extra: JSON.stringify(input.extra ?? {}),
    }).execute();
    return this.getEndpoint(id);
  }

  async updateEndpoint(id: string, input: { serviceId?: string; interface?: string; url?: string; regionId?: string | null; enabled?: boolean; extra?: Record<string, unknown> }): Promise<Endpoint> {
    const cur = await this.getEndpoint(id);
    if (input.interface !== undefined && !INTERFACES.includes(input.interface)) throw badRequest(`Invalid input for field 'interface'.`);
    if (input.serviceId) await this.getService(input.serviceId).catch(() => { throw badRequest(`Could not find service: ${input.serviceId}.`); });
    if (input.regionId) await this.ensureRegion(input.regionId);
    await this.db.updateTable('endpoint').set({
      service_id: input.serviceId ?? cur.serviceId,
      interface: input.interface ?? cur.interface,
      url: input.url ?? cur.url,
      region_id: input.regionId === undefined ? cur.regionId : input.regionId,
      enabled: int(input.enabled ?? cur.enabled),
      extra: JSON.stringify({ ...cur.extra, ...(input.extra ?? {}) }),
    }).where('id', '=', id).execute();
    return this.getEndpoint(id);
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.getEndpoint(id);
    await this.db.deleteFrom('endpoint').where('id', '=', id).execute();
  }

  /** Keystone creates a region named by an endpoint when it does not exist yet. */
  private async ensureRegion(id: string): Promise<void> {
    const r = await this.db.selectFrom('region').select('id').where('id', '=', id).executeTakeFirst();
    if (!r) await this.createRegion({ id });
  }

  /** The catalog as tokens carry it: enabled services with their enabled endpoints. */
  async build(): Promise<CatalogEntry[]> {
    const services = (await this.db.selectFrom('service').selectAll().where('enabled', '=', 1).execute()).map(toService);
    const endpoints = (await this.db.selectFrom('endpoint').selectAll().where('enabled', '=', 1).execute()).map(toEndpoint);
    return services.map((s) => ({
      id: s.id,
      type: s.type,
      name: s.name ?? '',
      endpoints: endpoints.filter((e) => e.serviceId === s.id).map((e) => ({
        id: e.id, interface: e.interface, region: e.regionId, region_id: e.regionId, url: e.url,
      })),
    }));
  }
}
