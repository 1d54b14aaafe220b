import type { FastifyRequest } from 'fastify';
import type { Route, RequestCtx } from '../../core/http/routes.js';
import { atLeast, type Microversion } from '../../core/http/microversion.js';
import type { ProviderRow } from '../db/schema.js';
import { allocationCandidates, capacityOf } from '../service/candidates.js';
import { bad, conflict, missing } from '../service/errors.js';
import { MAX_INT, type ConsumerAllocations, type InventoryInput, type PlacementService } from '../service/placement.js';
import { parseGroups, parseMemberOf, parseRequired, parseResources, single, UUID_RE, values } from './query.js';

export const MIN_VERSION = '1.0';
export const MAX_VERSION = '1.39';

/** The negotiated microversion of each request (set by the service's onRequest hook). */
export const versions = new WeakMap<FastifyRequest, Microversion>();
const ver = (ctx: RequestCtx) => versions.get(ctx.req)!;
const at = (ctx: RequestCtx, v: string) => atLeast(ver(ctx), v);
const need = (ctx: RequestCtx, v: string) => {
  if (!at(ctx, v)) throw missing('The resource could not be found.');
};

const P = 'placement:';
const isObj = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown, min = 0): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= MAX_INT;
const uuidNorm = (u: string) => (u.includes('-') ? u.toLowerCase() : u.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5').toLowerCase());

function providerView(ctx: RequestCtx, p: ProviderRow) {
  const base = `/resource_providers/${p.uuid}`;
  const links = [{ rel: 'self', href: base }, { rel: 'inventories', href: `${base}/inventories` }, { rel: 'usages', href: `${base}/usages` }];
  if (at(ctx, '1.1')) links.push({ rel: 'aggregates', href: `${base}/aggregates` });
  if (at(ctx, '1.6')) links.push({ rel: 'traits', href: `${base}/traits` });
  if (at(ctx, '1.11')) links.push({ rel: 'allocations', href: `${base}/allocations` });
  return {
    uuid: p.uuid, name: p.name, generation: p.generation,
    ...(at(ctx, '1.14') ? { parent_provider_uuid: p.parent_uuid, root_provider_uuid: p.root_uuid } : {}),
    links,
  };
}

function requireGeneration(body: Record<string, any>, key = 'resource_provider_generation'): number {
  if (!isInt(body[key])) throw bad(`JSON does not validate: '${key}' is a required property`);
  return body[key];
}

function inventoryInput(rc: string, raw: unknown): InventoryInput {
  if (!isObj(raw)) throw bad(`JSON does not validate: inventory for ${rc} is not an object`);
  const allowed = new Set(['total', 'reserved', 'min_unit', 'max_unit', 'step_size', 'allocation_ratio', 'resource_provider_generation']);
  for (const k of Object.keys(raw)) if (!allowed.has(k)) throw bad(`JSON does not validate: Additional properties are not allowed ('${k}' was unexpected)`);
  if (!isInt(raw.total, 1)) throw bad(`JSON does not validate: 'total' is a required integer property of at least 1 (${rc})`);
  for (const k of ['reserved', 'min_unit', 'max_unit', 'step_size'] as const) {
    if (raw[k] !== undefined && !isInt(raw[k], k === 'reserved' ? 0 : 1)) throw bad(`JSON does not validate: '${k}' of ${rc} must be an integer of at least ${k === 'reserved' ? 0 : 1}`);
  }
  if (raw.allocation_ratio !== undefined && (typeof raw.allocation_ratio !== 'number' || raw.allocation_ratio <= 0 || raw.allocation_ratio > 3.40282e38)) {
    throw bad(`JSON does not validate: 'allocation_ratio' of ${rc} must be a positive number`);
  }
  return raw as InventoryInput;
}

/** A consumer's allocations body, in the list form (before 1.12) or the dict form. */
function allocationsInput(ctx: RequestCtx, consumer: string, body: unknown): ConsumerAllocations {
  if (!isObj(body)) throw bad('JSON does not validate: the body must be an object');
  const out: ConsumerAllocations = { consumer, allocations: {} };
  const dict = at(ctx, '1.12');
  if (dict) {
    if (!isObj(body.allocations)) throw bad(`JSON does not validate: 'allocations' is a required property`);
    for (const [rp, a] of Object.entries(body.allocations)) {
      if (!UUID_RE.test(rp) || !isObj(a) || !isObj(a.resources)) throw bad(`JSON does not validate: allocations of ${rp} need a 'resources' object`);
      out.allocations[uuidNorm(rp)] = resourcesInput(a.resources, at(ctx, '1.28') ? 1 : 1);
    }
  } else {
    if (!Array.isArray(body.allocations) || body.allocations.length === 0) throw bad(`JSON does not validate: 'allocations' is a required non-empty array`);
    for (const a of body.allocations) {
      if (!isObj(a) || !isObj(a.resource_provider) || typeof a.resource_provider.uuid !== 'string' || !isObj(a.resources)) {
        throw bad(`JSON does not validate: each allocation needs resource_provider.uuid and resources`);
      }
      out.allocations[uuidNorm(a.resource_provider.uuid)] = resourcesInput(a.resources, 1);
    }
  }
  if (at(ctx, '1.8')) {
    for (const k of ['project_id', 'user_id'] as const) {
      if (typeof body[k] !== 'string' || body[k] === '') throw bad(`JSON does not validate: '${k}' is a required property`);
      out[k] = body[k];
    }
  }
  if (at(ctx, '1.28')) {
    if (!('consumer_generation' in body) || (body.consumer_generation !== null && !isInt(body.consumer_generation))) {
      throw bad(`JSON does not validate: 'consumer_generation' is a required property`);
    }
    out.consumer_generation = body.consumer_generation;
  } else if (dict && Object.keys(out.allocations).length === 0) {
    throw bad(`JSON does not validate: {} does not have enough properties`);
  }
  if (at(ctx, '1.38')) {
    if (typeof body.consumer_type !== 'string' || !/^[A-Z0-9_]+$/.test(body.consumer_type)) throw bad(`JSON does not validate: 'consumer_type' is a required property`);
    out.consumer_type = body.consumer_type;
  }
  return out;
}

function resourcesInput(r: Record<string, unknown>, min: number): Record<string, number> {
  if (Object.keys(r).length === 0) throw bad('JSON does not validate: resources must not be empty');
  for (const [rc, n] of Object.entries(r)) {
    if (!/^[A-Z0-9_]+$/.test(rc) || !isInt(n, min)) throw bad(`JSON does not validate: resource amount of ${rc} must be an integer of at least ${min}`);
  }
  return r as Record<string, number>;
}

/** The Placement API (1.0 – 1.39, Zed), as a route table. */
export function placementRoutes(s: PlacementService): Route[] {
  const body = (ctx: RequestCtx): Record<string, any> => {
    if (!isObj(ctx.body)) throw bad('Malformed JSON: the body must be a JSON object');
    return ctx.body;
  };
  const invView = (gen: number, inv: Record<string, unknown>) => ({ resource_provider_generation: gen, ...inv });
  const providerSummary = (ctx: RequestCtx, p: import('../service/candidates.js').SnapProvider) => {
    const resources: Record<string, { capacity: number; used: number }> = {};
    for (const [rc, inv] of p.inventories) resources[rc] = { capacity: capacityOf(inv), used: p.usages.get(rc) ?? 0 };
    return {
      resources,
      ...(at(ctx, '1.17') ? { traits: [...p.traits].sort() } : {}),
      ...(at(ctx, '1.29') ? { parent_provider_uuid: p.parent_uuid, root_provider_uuid: p.root_uuid } : {}),
    };
  };

  return [
    {
      method: 'GET', url: '/', policy: 'public',
      handler: () => ({ versions: [{ id: 'v1.0', max_version: MAX_VERSION, min_version: MIN_VERSION, status: 'CURRENT', links: [{ rel: 'self', href: '' }] }] }),
    },

    // ---- resource providers
    {
      method: 'GET', url: '/resource_providers', policy: `${P}resource_providers:list`,
      handler: async (ctx) => {
        const q = ctx.query;
        const allowed = new Set(['name', 'uuid', 'member_of', ...(at(ctx, '1.4') ? ['resources'] : []), ...(at(ctx, '1.14') ? ['in_tree'] : []), ...(at(ctx, '1.18') ? ['required'] : [])]);
        for (const k of Object.keys(q)) if (!allowed.has(k)) throw bad(`Invalid query string parameters: Additional properties are not allowed ('${k}' was unexpected)`);
        const uuid = single(q.uuid);
        if (uuid !== undefined && !UUID_RE.test(uuid)) throw bad(`Invalid query string parameters: '${uuid}' is not a 'uuid'`);
        const inTree = single(q.in_tree);
        if (inTree !== undefined && !UUID_RE.test(inTree)) throw bad(`Invalid query string parameters: '${inTree}' is not a 'uuid'`);
        const mo = parseMemberOf(values(q.member_of), at(ctx, '1.24'), at(ctx, '1.32'));
        const req = parseRequired(values(q.required), at(ctx, '1.22'), at(ctx, '1.39'));
        for (const t of [...req.required.flat(), ...req.forbidden]) if (!(await s.traitExists(t))) throw bad(`No such trait(s): ${t}`);
        const resources = single(q.resources) !== undefined ? parseResources(single(q.resources)!) : undefined;
        for (const rc of resources?.keys() ?? []) if (!(await s.resourceClassExists(rc))) throw bad(`Invalid resource class in resources parameter: No such resource class ${rc}.`);
        const rows = await s.listProviders({
          name: single(q.name), uuid: uuid && uuidNorm(uuid), inTree: inTree && uuidNorm(inTree),
          memberOf: mo.memberOf, forbiddenAggregates: mo.forbidden, required: req.required, forbidden: req.forbidden, resources,
        });
        return { resource_providers: rows.map((p) => providerView(ctx, p)) };
      },
    },
    {
      method: 'POST', url: '/resource_providers', policy: `${P}resource_providers:create`,
      handler: async (ctx) => {
        const b = body(ctx);
        const allowed = new Set(['name', 'uuid', ...(at(ctx, '1.14') ? ['parent_provider_uuid'] : [])]);
        for (const k of Object.keys(b)) if (!allowed.has(k)) throw bad(`JSON does not validate: Additional properties are not allowed ('${k}' was unexpected)`);
        if (typeof b.name !== 'string' || b.name.length < 1 || b.name.length > 200) throw bad(`JSON does not validate: 'name' is a required property`);
        if (b.uuid !== undefined && (typeof b.uuid !== 'string' || !UUID_RE.test(b.uuid))) throw bad(`JSON does not validate: '${b.uuid}' is not a 'uuid'`);
        if (b.parent_provider_uuid != null && (typeof b.parent_provider_uuid !== 'string' || !UUID_RE.test(b.parent_provider_uuid))) throw bad(`JSON does not validate: '${b.parent_provider_uuid}' is not a 'uuid'`);
        const p = await s.createProvider({ name: b.name, uuid: b.uuid && uuidNorm(b.uuid), parent_provider_uuid: b.parent_provider_uuid && uuidNorm(b.parent_provider_uuid) });
        ctx.reply.header('location', `/resource_providers/${p.uuid}`);
        if (!at(ctx, '1.20')) return ctx.reply.code(201).send();
        return ctx.reply.code(200).send(providerView(ctx, p));
      },
    },
    { method: 'GET', url: '/resource_providers/:uuid', policy: `${P}resource_providers:show`, handler: async (ctx) => providerView(ctx, await s.provider(ctx.params.uuid)) },
    {
      method: 'PUT', url: '/resource_providers/:uuid', policy: `${P}resource_providers:update`,
      handler: async (ctx) => {
        const b = body(ctx);
        const allowed = new Set(['name', ...(at(ctx, '1.14') ? ['parent_provider_uuid'] : [])]);
        for (const k of Object.keys(b)) if (!allowed.has(k)) throw bad(`JSON does not validate: Additional properties are not allowed ('${k}' was unexpected)`);
        if (typeof b.name !== 'string' || b.name.length < 1 || b.name.length > 200) throw bad(`JSON does not validate: 'name' is a required property`);
        const parent = b.parent_provider_uuid === undefined ? undefined : b.parent_provider_uuid === null ? null : uuidNorm(String(b.parent_provider_uuid));
        const p = await s.updateProvider(ctx.params.uuid, b.name, parent, at(ctx, '1.37'));
        return providerView(ctx, p);
      },
    },
    { method: 'DELETE', url: '/resource_providers/:uuid', policy: `${P}resource_providers:delete`, handler: async (ctx) => { await s.deleteProvider(ctx.params.uuid); } },

    // ---- inventories
    {
      method: 'GET', url: '/resource_providers/:uuid/inventories', policy: `${P}resource_providers:inventories:list`,
      handler: async (ctx) => {
        const r = await s.inventories(ctx.params.uuid);
        return { resource_provider_generation: r.generation, inventories: r.inventories };
      },
    },
    {
      method: 'PUT', url: '/resource_providers/:uuid/inventories', policy: `${P}resource_providers:inventories:update`,
      handler: async (ctx) => {
        const b = body(ctx);
        const gen = requireGeneration(b);
        if (!isObj(b.inventories)) throw bad(`JSON does not validate: 'inventories' is a required property`);
        const input = Object.fromEntries(Object.entries(b.inventories).map(([rc, i]) => [rc, inventoryInput(rc, i)]));
        await s.setInventories(ctx.params.uuid, gen, input, { replaceAll: true, reservedCanBeTotal: at(ctx, '1.26') });
        const r = await s.inventories(ctx.params.uuid);
        return { resource_provider_generation: r.generation, inventories: r.inventories };
      },
    },
    {
      method: 'POST', url: '/resource_providers/:uuid/inventories', policy: `${P}resource_providers:inventories:create`, status: 201,
      handler: async (ctx) => {
        const b = body(ctx);
        const gen = requireGeneration(b);
        if (typeof b.resource_class !== 'string') throw bad(`JSON does not validate: 'resource_class' is a required property`);
        const { resource_class: rc, resource_provider_generation: _g, ...rest } = b;
        const cur = await s.inventories(ctx.params.uuid);
        if (cur.inventories[rc]) throw conflict(`Update conflict: Inventory for ${rc} on resource provider ${ctx.params.uuid} already exists.`);
        await s.setInventories(ctx.params.uuid, gen, { [rc]: inventoryInput(rc, rest) }, { replaceAll: false, reservedCanBeTotal: at(ctx, '1.26') });
        const r = await s.inventories(ctx.params.uuid);
        ctx.reply.header('location', `/resource_providers/${ctx.params.uuid}/inventories/${rc}`);
        return invView(r.generation, r.inventories[rc]);
      },
    },
    {
      method: 'DELETE', url: '/resource_providers/:uuid/inventories', policy: `${P}resource_providers:inventories:delete`,
      handler: async (ctx) => {
        need(ctx, '1.5');
        await s.deleteInventory(ctx.params.uuid, undefined);
      },
    },
    {
      method: 'GET', url: '/resource_providers/:uuid/inventories/:rc', policy: `${P}resource_providers:inventories:show`,
      handler: async (ctx) => {
        const r = await s.inventories(ctx.params.uuid);
        const inv = r.inventories[ctx.params.rc];
        if (!inv) throw missing(`No inventory of class ${ctx.params.rc} for ${ctx.params.uuid}`);
        return invView(r.generation, inv);
      },
    },
    {
      method: 'PUT', url: '/resource_providers/:uuid/inventories/:rc', policy: `${P}resource_providers:inventories:update`,
      handler: async (ctx) => {
        const b = body(ctx);
        const gen = requireGeneration(b);
        const { resource_provider_generation: _g, ...rest } = b;
        const rc = ctx.params.rc;
        await s.setInventories(ctx.params.uuid, gen, { [rc]: inventoryInput(rc, rest) }, { replaceAll: false, reservedCanBeTotal: at(ctx, '1.26') });
        const r = await s.inventories(ctx.params.uuid);
        return invView(r.generation, r.inventories[rc]);
      },
    },
    {
      method: 'DELETE', url: '/resource_providers/:uuid/inventories/:rc', policy: `${P}resource_providers:inventories:delete`,
      handler: async (ctx) => { await s.deleteInventory(ctx.params.uuid, ctx.params.rc); },
    },

    // ---- usages
    {
      method: 'GET', url: '/resource_providers/:uuid/usages', policy: `${P}resource_providers:usages`,
      handler: async (ctx) => {
        const r = await s.providerUsages(ctx.params.uuid);
        return { resource_provider_generation: r.generation, usages: r.usages };
      },
    },
    {
      method: 'GET', url: '/usages', policy: `${P}usages`,
      handler: async (ctx) => {
        need(ctx, '1.9');
        const project = single(ctx.query.project_id);
        if (!project) throw bad(`Invalid query string parameters: 'project_id' is a required property`);
        const rows = await s.projectUsages(project, single(ctx.query.user_id), at(ctx, '1.38') ? single(ctx.query.consumer_type) : undefined);
        if (!at(ctx, '1.38')) {
          const usages: Record<string, number> = {};
          for (const r of rows) usages[r.rc] = (usages[r.rc] ?? 0) + r.used;
          return { usages };
        }
        const usages: Record<string, Record<string, number>> = {};
        const consumers: Record<string, Set<string>> = {};
        for (const r of rows) {
          for (const t of single(ctx.query.consumer_type) === 'all' ? ['all'] : [r.type]) {
            usages[t] ??= {};
            usages[t][r.rc] = (usages[t][r.rc] ?? 0) + r.used;
            (consumers[t] ??= new Set()).add(r.consumer);
          }
        }
        for (const t of Object.keys(usages)) usages[t].consumer_count = consumers[t].size;
        return { usages };
      },
    },

    // ---- aggregates
    {
      method: 'GET', url: '/resource_providers/:uuid/aggregates', policy: `${P}resource_providers:aggregates:list`,
      handler: async (ctx) => {
        need(ctx, '1.1');
        const r = await s.providerAggregates(ctx.params.uuid);
        return { aggregates: r.aggregates, ...(at(ctx, '1.19') ? { resource_provider_generation: r.generation } : {}) };
      },
    },
    {
      method: 'PUT', url: '/resource_providers/:uuid/aggregates', policy: `${P}resource_providers:aggregates:update`,
      handler: async (ctx) => {
        need(ctx, '1.1');
        let aggs: unknown;
        let gen: number | undefined;
        if (at(ctx, '1.19')) {
          const b = body(ctx);
          gen = requireGeneration(b);
          aggs = b.aggregates;
        } else aggs = ctx.body;
        if (!Array.isArray(aggs) || aggs.some((a) => typeof a !== 'string' || !UUID_RE.test(a))) throw bad(`JSON does not validate: 'aggregates' must be a list of uuids`);
        if (new Set(aggs).size !== aggs.length) throw bad('JSON does not validate: aggregates has non-unique elements');
        const g = await s.setProviderAggregates(ctx.params.uuid, gen, (aggs as string[]).map(uuidNorm));
        const r = await s.providerAggregates(ctx.params.uuid);
        return { aggregates: r.aggregates, ...(at(ctx, '1.19') ? { resource_provider_generation: g } : {}) };
      },
    },

    // ---- resource classes
    {
      method: 'GET', url: '/resource_classes', policy: `${P}resource_classes:list`,
      handler: async (ctx) => { need(ctx, '1.2'); return { resource_classes: (await s.resourceClasses()).map((name) => ({ name, links: [{ rel: 'self', href: `/resource_classes/${name}` }] })) }; },
    },
    {
      method: 'POST', url: '/resource_classes', policy: `${P}resource_classes:create`, status: 201,
      handler: async (ctx) => {
        need(ctx, '1.2');
        const b = body(ctx);
        if (typeof b.name !== 'string') throw bad(`JSON does not validate: 'name' is a required property`);
        await s.createResourceClass(b.name, true);
        ctx.reply.header('location', `/resource_classes/${b.name}`);
        return ctx.reply.code(201).send();
      },
    },
    {
      method: 'GET', url: '/resource_classes/:name', policy: `${P}resource_classes:show`,
      handler: async (ctx) => {
        need(ctx, '1.2');
        if (!(await s.resourceClassExists(ctx.params.name))) throw missing(`No such resource class ${ctx.params.name}.`);
        return { name: ctx.params.name, links: [{ rel: 'self', href: `/resource_classes/${ctx.params.name}` }] };
      },
    },
    {
      method: 'PUT', url: '/resource_classes/:name', policy: `${P}resource_classes:update`,
      handler: async (ctx) => {
        need(ctx, '1.7');
        const created = await s.createResourceClass(ctx.params.name, false);
        ctx.reply.header('location', `/resource_classes/${ctx.params.name}`);
        return ctx.reply.code(created ? 201 : 204).send();
      },
    },
    { method: 'DELETE', url: '/resource_classes/:name', policy: `${P}resource_classes:delete`, handler: async (ctx) => { need(ctx, '1.2'); await s.deleteResourceClass(ctx.params.name); } },

    // ---- traits
    {
      method: 'GET', url: '/traits', policy: `${P}traits:list`,
      handler: async (ctx) => {
        need(ctx, '1.6');
        const name = single(ctx.query.name);
        const assoc = single(ctx.query.associated);
        if (assoc !== undefined && !['true', 'false'].includes(assoc)) throw bad(`Invalid query string parameters: 'associated' must be true or false`);
        let filter: { startsWith?: string; in?: string[] } = {};
        if (name !== undefined) {
          if (name.startsWith('startswith:')) filter = { startsWith: name.slice(11) };
          else if (name.startsWith('in:')) filter = { in: name.slice(3).split(',') };
          else throw bad(`Badly formed name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "${name}"`);
        }
        return { traits: await s.traits({ ...filter, associated: assoc === undefined ? undefined : assoc === 'true' }) };
      },
    },
    {
      method: 'GET', url: '/traits/:name', policy: `${P}traits:show`,
      handler: async (ctx) => {
        need(ctx, '1.6');
        if (!(await s.traitExists(ctx.params.name))) throw missing(`No such trait(s): ${ctx.params.name}.`);
      },
    },
    {
      method: 'PUT', url: '/traits/:name', policy: `${P}traits:update`,
      handler: async (ctx) => {
        need(ctx, '1.6');
        const created = await s.createTrait(ctx.params.name);
        ctx.reply.header('location', `/traits/${ctx.params.name}`);
        return ctx.reply.code(created ? 201 : 204).send();
      },
    },
    { method: 'DELETE', url: '/traits/:name', policy: `${P}traits:delete`, handler: async (ctx) => { need(ctx, '1.6'); await s.deleteTrait(ctx.params.name); } },
    {
      method: 'GET', url: '/resource_providers/:uuid/traits', policy: `${P}resource_providers:traits:list`,
      handler: async (ctx) => {
        need(ctx, '1.6');
        const r = await s.providerTraits(ctx.params.uuid);
        return { traits: r.traits, resource_provider_generation: r.generation };
      },
    },
    {
      method: 'PUT', url: '/resource_providers/:uuid/traits', policy: `${P}resource_providers:traits:update`,
      handler: async (ctx) => {
        need(ctx, '1.6');
        const b = body(ctx);
        const gen = requireGeneration(b);
        if (!Array.isArray(b.traits) || b.traits.some((t: unknown) => typeof t !== 'string')) throw bad(`JSON does not validate: 'traits' is a required property`);
        const g = await s.setProviderTraits(ctx.params.uuid, gen, b.traits);
        return { traits: [...new Set(b.traits as string[])].sort(), resource_provider_generation: g };
      },
    },
    {
      method: 'DELETE', url: '/resource_providers/:uuid/traits', policy: `${P}resource_providers:traits:delete`,
      handler: async (ctx) => {
        need(ctx, '1.6');
        const p = await s.provider(ctx.params.uuid);
        await s.setProviderTraits(ctx.params.uuid, p.generation, []);
      },
    },

    // ---- allocations
    {
      method: 'GET', url: '/allocations/:consumer', policy: `${P}allocations:list`,
      handler: async (ctx) => {
        const r = await s.consumerAllocations(ctx.params.consumer);
        const allocations = at(ctx, '1.0') ? r.allocations : {};
        const out: Record<string, unknown> = { allocations };
        if (r.consumer && at(ctx, '1.12')) Object.assign(out, { project_id: r.consumer.project_id, user_id: r.consumer.user_id });
        if (r.consumer && at(ctx, '1.28')) out.consumer_generation = r.consumer.generation;
        if (r.consumer && at(ctx, '1.38')) out.consumer_type = r.consumer.consumer_type ?? 'unknown';
        return out;
      },
    },
    {
      method: 'PUT', url: '/allocations/:consumer', policy: `${P}allocations:update`,
      handler: async (ctx) => {
        if (!UUID_RE.test(ctx.params.consumer)) throw bad(`Malformed consumer_uuid: ${ctx.params.consumer}`);
        await s.writeAllocations([allocationsInput(ctx, ctx.params.consumer, ctx.body)]);
      },
    },
    {
      method: 'POST', url: '/allocations', policy: `${P}allocations:manage`,
      handler: async (ctx) => {
        need(ctx, '1.13');
        const b = body(ctx);
        const items = Object.entries(b).map(([consumer, v]) => {
          if (!UUID_RE.test(consumer)) throw bad(`JSON does not validate: '${consumer}' is not a consumer uuid`);
          return allocationsInput(ctx, consumer, v);
        });
        await s.writeAllocations(items);
      },
    },
    { method: 'DELETE', url: '/allocations/:consumer', policy: `${P}allocations:delete`, handler: async (ctx) => { await s.deleteAllocations(ctx.params.consumer); } },
    {
      method: 'GET', url: '/resource_providers/:uuid/allocations', policy: `${P}resource_providers:allocations:list`,
      handler: async (ctx) => {
        const r = await s.providerAllocations(ctx.params.uuid);
        return { allocations: r.allocations, resource_provider_generation: r.generation };
      },
    },

    // ---- allocation candidates
    {
      method: 'GET', url: '/allocation_candidates', policy: `${P}allocation_candidates:list`,
      handler: async (ctx) => {
        need(ctx, '1.10');
        const q = ctx.query;
        const groups = parseGroups(q, {
          granular: at(ctx, '1.25'), anySuffix: at(ctx, '1.33'), forbidden: at(ctx, '1.22'), anyOf: at(ctx, '1.39'),
          multiMember: at(ctx, '1.24'), forbiddenAgg: at(ctx, '1.32'), inTree: at(ctx, '1.31'),
        });
        if (!groups.some((g) => g.resources.size > 0)) throw bad(`Invalid query string parameters: 'resources' is a required property`);
        if ((q.required !== undefined && !at(ctx, '1.17')) || (q.member_of !== undefined && !at(ctx, '1.21'))) throw bad('Invalid query string parameters: Additional properties are not allowed');
        for (const g of groups) {
          for (const rc of g.resources.keys()) if (!(await s.resourceClassExists(rc))) throw bad(`Invalid resource class in resources parameter: No such resource class ${rc}.`);
          for (const t of [...g.required.flat(), ...g.forbidden]) if (!(await s.traitExists(t))) throw bad(`Invalid query string parameters: No such trait(s): ${t}`);
        }
        const limitRaw = single(q.limit);
        let limit: number | undefined;
        if (limitRaw !== undefined) {
          if (!at(ctx, '1.16') || !/^[1-9]\d*$/.test(limitRaw)) throw bad(`Invalid query string parameters: Failed validating 'pattern' in schema['properties']['limit']`);
          limit = Number(limitRaw);
        }
        const policy = single(q.group_policy);
        const suffixed = groups.filter((g) => g.suffix !== '').length;
        if (policy !== undefined && !['none', 'isolate'].includes(policy)) throw bad(`Invalid query string parameters: '${policy}' is not one of ['none', 'isolate']`);
        if (suffixed > 1 && policy === undefined && at(ctx, '1.25')) throw bad('The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.');
        const rootReq = at(ctx, '1.35') ? parseRequired(values(q.root_required), true, false) : { required: [], forbidden: [] };
        const snap = await s.cache.get();
        const result = allocationCandidates(snap, {
          groups, groupPolicy: policy as 'none' | 'isolate' | undefined, limit,
          rootRequired: rootReq.required.flat(), rootForbidden: rootReq.forbidden,
        });
        const allocation_requests = result.allocationRequests.map((r) => {
          if (!at(ctx, '1.12')) {
            return { allocations: [...r.allocations].map(([u, m]) => ({ resource_provider: { uuid: u }, resources: Object.fromEntries(m) })) };
          }
          return {
            allocations: Object.fromEntries([...r.allocations].map(([u, m]) => [u, { resources: Object.fromEntries(m) }])),
            ...(at(ctx, '1.34') ? { mappings: Object.fromEntries([...r.mappings].map(([k, v]) => [k, v])) } : {}),
          };
        });
        const requested = new Set(groups.flatMap((g) => [...g.resources.keys()]));
        const provider_summaries: Record<string, unknown> = {};
        for (const u of result.summaryProviders) {
          const p = snap.providers.get(u)!;
          const sum = providerSummary(ctx, p) as { resources: Record<string, unknown> };
          if (!at(ctx, '1.27')) for (const rc of Object.keys(sum.resources)) if (!requested.has(rc)) delete sum.resources[rc];
          // Before 1.29 only providers that take part in a candidate are summarised.
          if (!at(ctx, '1.29') && !result.allocationRequests.some((r) => r.allocations.has(u))) continue;
          provider_summaries[u] = sum;
        }
        return { allocation_requests, provider_summaries };
      },
    },
  ];
}
