import type { Route } from '../../../core/http/routes.js';
import { paginate, parsePage } from '../../../core/http/pagination.js';
import type { AssociationRow, MetadefItemRow } from '../../db/schema.js';
import type { ImageServices } from '../../service/index.js';
import type { NamespaceDetail } from '../../service/metadefs.js';
import { callerOf, jsonBody, one } from '../http.js';
import { isotime } from '../views.js';

const NS = '/v2/metadefs/namespaces';
const compact = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
const body = (r: MetadefItemRow) => JSON.parse(r.body) as Record<string, unknown>;
const times = (r: { created_at: string; updated_at: string }) => ({ created_at: isotime(r.created_at), updated_at: isotime(r.updated_at) });

const objectView = (ns: string, r: MetadefItemRow) => compact({
  name: r.name, ...body(r), ...times(r), self: `${NS}/${ns}/objects/${r.name}`, schema: 'v2/schemas/metadefs/object',
});
const propertyView = (r: MetadefItemRow) => ({ name: r.name, ...body(r) });
const tagView = (r: MetadefItemRow) => ({ name: r.name, ...times(r) });
const associationView = (a: AssociationRow) => compact({ name: a.resource_type, prefix: a.prefix, properties_target: a.properties_target, ...times(a) });

function namespaceView(d: NamespaceDetail) {
  const { ns } = d;
  return compact({
    namespace: ns.namespace, display_name: ns.display_name, description: ns.description, visibility: ns.visibility,
    protected: ns.protected === 1, owner: ns.owner, ...times(ns),
    resource_type_associations: d.associations.length ? d.associations.map(associationView) : undefined,
    properties: d.properties?.length ? Object.fromEntries(d.properties.map((p) => [p.name, body(p)])) : undefined,
    objects: d.objects?.length ? d.objects.map((o) => objectView(ns.namespace, o)) : undefined,
    tags: d.tags?.length ? d.tags.map((t) => ({ name: t.name })) : undefined,
    self: `${NS}/${ns.namespace}`, schema: '/v2/schemas/metadefs/namespace',
  });
}

/** Metadata definitions: namespaces, their objects, properties and tags, resource types. */
export function metadefRoutes(s: ImageServices): Route[] {
  const m = s.metadefs;
  const ns = (ctx: { params: Record<string, string> }) => ctx.params.namespace;
  return [
    {
      method: 'GET', url: NS, policy: 'authenticated',
      handler: async (ctx) => {
        const rt = one(ctx.query, 'resource_types');
        const all = await m.list(callerOf(ctx), { visibility: one(ctx.query, 'visibility'), resourceTypes: rt ? rt.split(',') : undefined });
        const rows = all.map((d) => ({ id: d.ns.namespace, d }));
        const page = paginate(rows, parsePage(ctx.query), 404);
        const out: Record<string, unknown> = { namespaces: page.items.map((r) => namespaceView(r.d)), first: NS, schema: '/v2/schemas/metadefs/namespaces' };
        if (page.more) out.next = `${NS}?marker=${encodeURIComponent(page.items[page.items.length - 1].id)}&limit=${page.items.length}`;
        return out;
      },
    },
    { method: 'POST', url: NS, policy: 'authenticated', status: 201, handler: async (ctx) => namespaceView(await m.create(callerOf(ctx), await jsonBody(ctx))) },
    { method: 'GET', url: `${NS}/:namespace`, policy: 'authenticated', handler: async (ctx) => namespaceView(await m.detail(callerOf(ctx), ns(ctx), true)) },
    { method: 'PUT', url: `${NS}/:namespace`, policy: 'authenticated', handler: async (ctx) => namespaceView(await m.update(callerOf(ctx), ns(ctx), await jsonBody(ctx))) },
    { method: 'DELETE', url: `${NS}/:namespace`, policy: 'authenticated', handler: async (ctx) => { await m.delete(callerOf(ctx), ns(ctx)); } },

    {
      method: 'GET', url: `${NS}/:namespace/objects`, policy: 'authenticated',
      handler: async (ctx) => ({ objects: (await m.items(callerOf(ctx), ns(ctx), 'object')).map((o) => objectView(ns(ctx), o)), schema: 'v2/schemas/metadefs/objects' }),
    },
    { method: 'POST', url: `${NS}/:namespace/objects`, policy: 'authenticated', status: 201, handler: async (ctx) => objectView(ns(ctx), await m.addItem(callerOf(ctx), ns(ctx), 'object', await jsonBody(ctx))) },
    { method: 'DELETE', url: `${NS}/:namespace/objects`, policy: 'authenticated', handler: async (ctx) => { await m.deleteItem(callerOf(ctx), ns(ctx), 'object'); } },
    { method: 'GET', url: `${NS}/:namespace/objects/:name`, policy: 'authenticated', handler: async (ctx) => objectView(ns(ctx), await m.item(callerOf(ctx), ns(ctx), 'object', ctx.params.name)) },
    { method: 'PUT', url: `${NS}/:namespace/objects/:name`, policy: 'authenticated', handler: async (ctx) => objectView(ns(ctx), await m.updateItem(callerOf(ctx), ns(ctx), 'object', ctx.params.name, await jsonBody(ctx))) },
    { method: 'DELETE', url: `${NS}/:namespace/objects/:name`, policy: 'authenticated', handler: async (ctx) => { await m.deleteItem(callerOf(ctx), ns(ctx), 'object', ctx.params.name); } },

    {
      method: 'GET', url: `${NS}/:namespace/properties`, policy: 'authenticated',
      handler: async (ctx) => ({ properties: Object.fromEntries((await m.items(callerOf(ctx), ns(ctx), 'property')).map((p) => [p.name, body(p)])) }),
    },
    { method: 'POST', url: `${NS}/:namespace/properties`, policy: 'authenticated', status: 201, handler: async (ctx) => propertyView(await m.addItem(callerOf(ctx), ns(ctx), 'property', await jsonBody(ctx))) },
    { method: 'DELETE', url: `${NS}/:namespace/properties`, policy: 'authenticated', handler: async (ctx) => { await m.deleteItem(callerOf(ctx), ns(ctx), 'property'); } },
    { method: 'GET', url: `${NS}/:namespace/properties/:name`, policy: 'authenticated', handler: async (ctx) => propertyView(await m.item(callerOf(ctx), ns(ctx), 'property', ctx.params.name)) },
    { method: 'PUT', url: `${NS}/:namespace/properties/:name`, policy: 'authenticated', handler: async (ctx) => propertyView(await m.updateItem(callerOf(ctx), ns(ctx), 'property', ctx.params.name, await jsonBody(ctx))) },
    { method: 'DELETE', url: `${NS}/:namespace/properties/:name`, policy: 'authenticated', handler: async (ctx) => { await m.deleteItem(callerOf(ctx), ns(ctx), 'property', ctx.params.name); } },

    { method: 'GET', url: `${NS}/:namespace/tags`, policy: 'authenticated', handler: async (ctx) => ({ tags: (await m.items(callerOf(ctx), ns(ctx), 'tag')).map(tagView) }) },
    {
      method: 'POST', url: `${NS}/:namespace/tags`, policy: 'authenticated', status: 201,
      handler: async (ctx) => {
        const append = String(ctx.req.headers['x-openstack-append'] ?? '').toLowerCase() === 'true';
        return { tags: (await m.addTags(callerOf(ctx), ns(ctx), await jsonBody(ctx), append)).map(tagView) };
      },
    },
    { method: 'DELETE', url: `${NS}/:namespace/tags`, policy: 'authenticated', handler: async (ctx) => { await m.deleteItem(callerOf(ctx), ns(ctx), 'tag'); } },
    { method: 'GET', url: `${NS}/:namespace/tags/:name`, policy: 'authenticated', handler: async (ctx) => tagView(await m.item(callerOf(ctx), ns(ctx), 'tag', ctx.params.name)) },
    { method: 'POST', url: `${NS}/:namespace/tags/:name`, policy: 'authenticated', status: 201, handler: async (ctx) => tagView(await m.addTag(callerOf(ctx), ns(ctx), ctx.params.name)) },
    { method: 'PUT', url: `${NS}/:namespace/tags/:name`, policy: 'authenticated', handler: async (ctx) => tagView(await m.updateItem(callerOf(ctx), ns(ctx), 'tag', ctx.params.name, await jsonBody(ctx))) },
    { method: 'DELETE', url: `${NS}/:namespace/tags/:name`, policy: 'authenticated', handler: async (ctx) => { await m.deleteItem(callerOf(ctx), ns(ctx), 'tag', ctx.params.name); } },

    {
      method: 'GET', url: '/v2/metadefs/resource_types', policy: 'authenticated',
      handler: async (ctx) => ({ resource_types: (await m.resourceTypes(callerOf(ctx))).map((r) => ({ name: r.name, ...times(r) })) }),
    },
    {
      method: 'GET', url: `${NS}/:namespace/resource_types`, policy: 'authenticated',
      handler: async (ctx) => ({ resource_type_associations: (await m.associations(callerOf(ctx), ns(ctx))).map(associationView) }),
    },
    { method: 'POST', url: `${NS}/:namespace/resource_types`, policy: 'authenticated', status: 201, handler: async (ctx) => associationView(await m.associate(callerOf(ctx), ns(ctx), await jsonBody(ctx))) },
    { method: 'DELETE', url: `${NS}/:namespace/resource_types/:name`, policy: 'authenticated', handler: async (ctx) => { await m.dissociate(callerOf(ctx), ns(ctx), ctx.params.name); } },
  ];
}
