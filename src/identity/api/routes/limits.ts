import type { FastifyRequest } from 'fastify';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import type { Limit, LimitFilter, RegisteredLimit } from '../../service/limits.js';
import { one } from '../query.js';
import { collectionLinks, v3 } from '../views.js';

const idString = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-zA-Z0-9-]+$' };
const resourceName = { type: 'string', minLength: 1, maxLength: 255 };
const limitValue = { type: 'integer', minimum: -1, maximum: 0x7fffffff };
const description = { type: ['string', 'null'] };

const registeredProps = {
  service_id: idString,
  region_id: { type: ['string', 'null'], maxLength: 255 },
  resource_name: resourceName,
  default_limit: limitValue,
  description,
};
const registeredCreate = {
  type: 'object',
  required: ['registered_limits'],
  properties: {
    registered_limits: {
      type: 'array', minItems: 1,
      items: { type: 'object', properties: registeredProps, required: ['service_id', 'resource_name', 'default_limit'], additionalProperties: false },
    },
  },
};
const registeredUpdate = {
  type: 'object',
  required: ['registered_limit'],
  properties: { registered_limit: { type: 'object', properties: registeredProps, additionalProperties: false } },
};

const limitCommon = { service_id: idString, region_id: { type: 'string', maxLength: 255 }, resource_name: resourceName, resource_limit: limitValue, description };
const limitCreate = {
  type: 'object',
  required: ['limits'],
  properties: {
    limits: {
      type: 'array', minItems: 1,
      items: {
        type: 'object',
        oneOf: [
          { properties: { project_id: idString, ...limitCommon }, required: ['project_id', 'service_id', 'resource_name', 'resource_limit'], additionalProperties: false },
          { properties: { domain_id: idString, ...limitCommon }, required: ['domain_id', 'service_id', 'resource_name', 'resource_limit'], additionalProperties: false },
        ],
      },
    },
  },
};
const limitUpdate = {
  type: 'object',
  required: ['limit'],
  properties: { limit: { type: 'object', properties: { resource_limit: limitValue, description }, additionalProperties: false } },
};

export function registeredLimitView(req: FastifyRequest, r: RegisteredLimit) {
  return {
    id: r.id, service_id: r.serviceId, region_id: r.regionId, resource_name: r.resourceName, default_limit: r.defaultLimit,
    description: r.description, links: { self: `${v3(req)}/registered_limits/${r.id}` },
  };
}

export function limitView(req: FastifyRequest, l: Limit) {
  return {
    id: l.id, project_id: l.projectId, domain_id: l.domainId, service_id: l.serviceId, region_id: l.regionId,
    resource_name: l.resourceName, resource_limit: l.resourceLimit, description: l.description,
    links: { self: `${v3(req)}/limits/${l.id}` },
  };
}

/** Unified limits (flat model): registered limits, project and domain limits, the model. */
export const limitRoutes = (s: IdentityServices): Route[] => {
  const limits = s.limits;
  /** The limit with its project (and that project's domain) or domain, for get_limit's policy. */
  const limitTarget = async ({ params }: RequestCtx) => {
    const l = await limits.getLimit(params.limit_id).catch(() => undefined);
    if (!l) return { target: { limit: {} } };
    const project = l.projectId ? await s.projects.get(l.projectId) : undefined;
    return {
      target: {
        limit: {
          id: l.id, project_id: l.projectId, domain_id: l.domainId,
          ...(project ? { project: { id: project.id, domain_id: project.domainId } } : {}),
          ...(l.domainId ? { domain: { id: l.domainId } } : {}),
        },
      },
    };
  };

  return [
    {
      method: 'GET', url: '/v3/limits/model', policy: 'identity:get_limit_model',
      handler: () => ({ model: limits.model() }),
    },

    // --- registered limits
    {
      method: 'POST', url: '/v3/registered_limits', policy: 'identity:create_registered_limits', schema: { body: registeredCreate }, status: 201,
      handler: async ({ req, body }) => ({ registered_limits: (await limits.createRegistered(body.registered_limits)).map((r) => registeredLimitView(req, r)) }),
    },
    {
      method: 'GET', url: '/v3/registered_limits', policy: 'identity:list_registered_limits',
      handler: async ({ req, query }) => {
        const list = await limits.listRegistered({ serviceId: one(query, 'service_id'), regionId: one(query, 'region_id'), resourceName: one(query, 'resource_name') });
        return { registered_limits: list.map((r) => registeredLimitView(req, r)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/registered_limits/:registered_limit_id', policy: 'identity:get_registered_limit',
      handler: async ({ req, params }) => ({ registered_limit: registeredLimitView(req, await limits.getRegistered(params.registered_limit_id)) }),
    },
    {
      method: 'PATCH', url: '/v3/registered_limits/:registered_limit_id', policy: 'identity:update_registered_limit', schema: { body: registeredUpdate },
      handler: async ({ req, params, body }) => ({
        registered_limit: registeredLimitView(req, await limits.updateRegistered(params.registered_limit_id, body.registered_limit)),
      }),
    },
    {
      method: 'DELETE', url: '/v3/registered_limits/:registered_limit_id', policy: 'identity:delete_registered_limit',
      handler: async ({ params }) => { await limits.deleteRegistered(params.registered_limit_id); },
    },

    // --- limits
    {
      method: 'POST', url: '/v3/limits', policy: 'identity:create_limits', schema: { body: limitCreate }, status: 201,
      handler: async ({ req, body }) => ({ limits: (await limits.createLimits(body.limits)).map((l) => limitView(req, l)) }),
    },
    {
      method: 'GET', url: '/v3/limits', policy: 'identity:list_limits',
      handler: async ({ req, query, auth, allowed }) => {
        const f: LimitFilter = {
          serviceId: one(query, 'service_id'), regionId: one(query, 'region_id'), resourceName: one(query, 'resource_name'),
          projectId: one(query, 'project_id'), domainId: one(query, 'domain_id'),
        };
        // System scope (and cloud admins) see everything; a domain its projects and itself; a project itself.
        let list: Limit[];
        if (auth.system || allowed('admin_required')) list = await limits.listLimits(f);
        else if (auth.domainId) {
          const projectIds = (await s.projects.list({ domainId: auth.domainId })).map((p) => p.id);
          list = await limits.listLimits({ ...f, within: { projectIds, domainId: auth.domainId } });
        } else if (auth.projectId) {
          list = f.projectId !== undefined && f.projectId !== auth.projectId ? [] : await limits.listLimits({ ...f, projectId: auth.projectId });
        } else list = [];
        return { limits: list.map((l) => limitView(req, l)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/limits/:limit_id', policy: 'identity:get_limit', target: limitTarget,
      handler: async ({ req, params }) => ({ limit: limitView(req, await limits.getLimit(params.limit_id)) }),
    },
    {
      method: 'PATCH', url: '/v3/limits/:limit_id', policy: 'identity:update_limit', schema: { body: limitUpdate },
      handler: async ({ req, params, body }) => ({ limit: limitView(req, await limits.updateLimit(params.limit_id, body.limit)) }),
    },
    {
      method: 'DELETE', url: '/v3/limits/:limit_id', policy: 'identity:delete_limit',
      handler: async ({ params }) => { await limits.deleteLimit(params.limit_id); },
    },
  ];
};
