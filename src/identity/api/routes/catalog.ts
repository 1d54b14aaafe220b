import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import { boolParam, one } from '../query.js';
import { collectionLinks, endpointView, regionView, serviceView } from '../views.js';
import { bool, nullableString, splitExtra, wrap } from './schemas.js';

const REGION_FIELDS = ['id', 'description', 'parent_region_id', 'links'];
const SERVICE_FIELDS = ['id', 'type', 'name', 'description', 'enabled', 'links'];
const ENDPOINT_FIELDS = ['id', 'service_id', 'interface', 'url', 'region', 'region_id', 'enabled', 'links'];

const regionBody = wrap('region', { properties: { id: { type: 'string', minLength: 1, maxLength: 255 }, description: nullableString, parent_region_id: nullableString } });
const serviceBody = (required: boolean) => wrap('service', {
  required: required ? ['type'] : [],
  properties: { type: { type: 'string', minLength: 1, maxLength: 255 }, name: { type: 'string' }, description: nullableString, enabled: bool },
});
const endpointBody = (required: boolean) => wrap('endpoint', {
  required: required ? ['service_id', 'interface', 'url'] : [],
  properties: {
    service_id: { type: 'string' }, interface: { type: 'string', enum: ['public', 'internal', 'admin'] },
    url: { type: 'string', minLength: 1, maxLength: 225 }, region_id: nullableString, region: nullableString, enabled: bool,
  },
});

/** Regions, services and endpoints. */
export const catalogRoutes = (s: IdentityServices): Route[] => [
  // --- regions
  {
    method: 'POST', url: '/v3/regions', policy: 'identity:create_region', schema: { body: regionBody }, status: 201,
    handler: async ({ req, body }) => {
      const r = body.region;
      return { region: regionView(req, await s.catalog.createRegion({ id: r.id, description: r.description ?? '', parentRegionId: r.parent_region_id, extra: splitExtra(r, REGION_FIELDS) })) };
    },
  },
  {
    method: 'PUT', url: '/v3/regions/:region_id', policy: 'identity:create_region', schema: { body: regionBody }, status: 201,
    handler: async ({ req, body, params }) => {
      const r = body.region;
      return { region: regionView(req, await s.catalog.createRegion({ id: params.region_id, description: r.description ?? '', parentRegionId: r.parent_region_id, extra: splitExtra(r, REGION_FIELDS) })) };
    },
  },
  {
    method: 'GET', url: '/v3/regions', policy: 'identity:list_regions',
    handler: async ({ req, query }) => ({ regions: (await s.catalog.listRegions({ parentRegionId: one(query, 'parent_region_id') })).map((r) => regionView(req, r)), links: collectionLinks(req) }),
  },
  {
    method: 'GET', url: '/v3/regions/:region_id', policy: 'identity:get_region',
    handler: async ({ req, params }) => ({ region: regionView(req, await s.catalog.getRegion(params.region_id)) }),
  },
  {
    method: 'PATCH', url: '/v3/regions/:region_id', policy: 'identity:update_region', schema: { body: regionBody },
    handler: async ({ req, params, body }) => {
      const r = body.region;
      const extra = splitExtra(r, REGION_FIELDS);
      return { region: regionView(req, await s.catalog.updateRegion(params.region_id, { description: r.description ?? undefined, parentRegionId: r.parent_region_id, extra })) };
    },
  },
  {
    method: 'DELETE', url: '/v3/regions/:region_id', policy: 'identity:delete_region',
    handler: async ({ params }) => { await s.catalog.deleteRegion(params.region_id); },
  },

  // --- services
  {
    method: 'POST', url: '/v3/services', policy: 'identity:create_service', schema: { body: serviceBody(true) }, status: 201,
    handler: async ({ req, body }) => {
      const v = body.service;
      return { service: serviceView(req, await s.catalog.createService({ type: v.type, name: v.name, description: v.description, enabled: v.enabled, extra: splitExtra(v, SERVICE_FIELDS) })) };
    },
  },
  {
    method: 'GET', url: '/v3/services', policy: 'identity:list_services',
    handler: async ({ req, query }) => ({ services: (await s.catalog.listServices({ type: one(query, 'type'), name: one(query, 'name') })).map((v) => serviceView(req, v)), links: collectionLinks(req) }),
  },
  {
    method: 'GET', url: '/v3/services/:service_id', policy: 'identity:get_service',
    handler: async ({ req, params }) => ({ service: serviceView(req, await s.catalog.getService(params.service_id)) }),
  },
  {
    method: 'PATCH', url: '/v3/services/:service_id', policy: 'identity:update_service', schema: { body: serviceBody(false) },
    handler: async ({ req, params, body }) => {
      const v = body.service;
      return { service: serviceView(req, await s.catalog.updateService(params.service_id, { type: v.type, name: v.name, description: v.description, enabled: v.enabled, extra: splitExtra(v, SERVICE_FIELDS) })) };
    },
  },
  {
    method: 'DELETE', url: '/v3/services/:service_id', policy: 'identity:delete_service',
    handler: async ({ params }) => { await s.catalog.deleteService(params.service_id); },
  },

  // --- endpoints
  {
    method: 'POST', url: '/v3/endpoints', policy: 'identity:create_endpoint', schema: { body: endpointBody(true) }, status: 201,
    handler: async ({ req, body }) => {
      const e = body.endpoint;
      return { endpoint: endpointView(req, await s.catalog.createEndpoint({ serviceId: e.service_id, interface: e.interface, url: e.url, regionId: e.region_id ?? e.region, enabled: e.enabled, extra: splitExtra(e, ENDPOINT_FIELDS) })) };
    },
  },
  {
    method: 'GET', url: '/v3/endpoints', policy: 'identity:list_endpoints',
    handler: async ({ req, query }) => ({
      endpoints: (await s.catalog.listEndpoints({ serviceId: one(query, 'service_id'), interface: one(query, 'interface'), regionId: one(query, 'region_id') })).map((e) => endpointView(req, e)),
      links: collectionLinks(req),
    }),
  },
  {
    method: 'GET', url: '/v3/endpoints/:endpoint_id', policy: 'identity:get_endpoint',
    handler: async ({ req, params }) => ({ endpoint: endpointView(req, await s.catalog.getEndpoint(params.endpoint_id)) }),
  },
  {
    method: 'PATCH', url: '/v3/endpoints/:endpoint_id', policy: 'identity:update_endpoint', schema: { body: endpointBody(false) },
    handler: async ({ req, params, body }) => {
      const e = body.endpoint;
      const extra = splitExtra(e, ENDPOINT_FIELDS);
      return { endpoint: endpointView(req, await s.catalog.updateEndpoint(params.endpoint_id, { serviceId: e.service_id, interface: e.interface, url: e.url, regionId: e.region_id ?? e.region, enabled: e.enabled, extra })) };
    },
  },
  {
    method: 'DELETE', url: '/v3/endpoints/:endpoint_id', policy: 'identity:delete_endpoint',
    handler: async ({ params }) => { await s.catalog.deleteEndpoint(params.endpoint_id); },
  },
];

