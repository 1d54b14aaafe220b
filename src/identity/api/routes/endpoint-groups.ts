import type { FastifyRequest } from 'fastify';
import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import type { EndpointGroup } from '../../service/endpoint-groups.js';
import type { Project } from '../../service/projects.js';
import { one } from '../query.js';
import { collectionLinks, endpointView, projectView, v3 } from '../views.js';
import { nameSchema, nullableString } from './schemas.js';

const properties = { name: nameSchema, description: nullableString, filters: { type: 'object' } };
const createBody = { type: 'object', required: ['endpoint_group'], properties: { endpoint_group: { type: 'object', required: ['name', 'filters'], properties } } };
const updateBody = { type: 'object', required: ['endpoint_group'], properties: { endpoint_group: { type: 'object', minProperties: 1, properties } } };

const PREFIX = '/v3/OS-EP-FILTER';

export function endpointGroupView(req: FastifyRequest, g: EndpointGroup) {
  return { id: g.id, name: g.name, description: g.description, filters: g.filters, links: { self: `${v3(req)}/OS-EP-FILTER/endpoint_groups/${g.id}` } };
}

/** OS-EP-FILTER: endpoint groups, and which projects endpoints and endpoint groups belong to. */
export const endpointGroupRoutes = (s: IdentityServices): Route[] => {
  const eg = s.endpointGroups;
  /** Projects by id, skipping associations whose project has since been deleted. */
  const projects = async (ids: string[]): Promise<Project[]> =>
    (await Promise.all(ids.map((id) => s.projects.get(id)))).filter((p): p is Project => p !== undefined && !p.isDomain);

  return [
    // --- endpoint groups
    {
      method: 'POST', url: `${PREFIX}/endpoint_groups`, policy: 'identity:create_endpoint_group', schema: { body: createBody }, status: 201,
      handler: async ({ req, body }) => {
        const g = body.endpoint_group;
        return { endpoint_group: endpointGroupView(req, await eg.create({ name: g.name, description: g.description, filters: g.filters })) };
      },
    },
    {
      method: 'GET', url: `${PREFIX}/endpoint_groups`, policy: 'identity:list_endpoint_groups',
      handler: async ({ req, query }) => ({
        endpoint_groups: (await eg.list({ name: one(query, 'name') })).map((g) => endpointGroupView(req, g)),
        links: collectionLinks(req),
      }),
    },
    {
      method: 'GET', url: `${PREFIX}/endpoint_groups/:endpoint_group_id`, policy: 'identity:get_endpoint_group',
      handler: async ({ req, params }) => ({ endpoint_group: endpointGroupView(req, await eg.get(params.endpoint_group_id)) }),
    },
    {
      method: 'PATCH', url: `${PREFIX}/endpoint_groups/:endpoint_group_id`, policy: 'identity:update_endpoint_group', schema: { body: updateBody },
      handler: async ({ req, params, body }) => {
        const g = body.endpoint_group;
        return { endpoint_group: endpointGroupView(req, await eg.update(params.endpoint_group_id, { id: g.id, name: g.name, description: g.description, filters: g.filters })) };
      },
    },
    {
      method: 'DELETE', url: `${PREFIX}/endpoint_groups/:endpoint_group_id`, policy: 'identity:delete_endpoint_group',
      handler: async ({ params }) => { await eg.delete(params.endpoint_group_id); },
    },
    {
      method: 'GET', url: `${PREFIX}/endpoint_groups/:endpoint_group_id/endpoints`, policy: 'identity:list_endpoints_associated_with_endpoint_group',
      handler: async ({ req, params }) => ({
        endpoints: (await eg.endpointsOf(params.endpoint_group_id)).map((e) => endpointView(req, e)),
        links: collectionLinks(req),
      }),
    },

    // --- endpoint group ↔ project
    {
      method: 'GET', url: `${PREFIX}/endpoint_groups/:endpoint_group_id/projects`, policy: 'identity:list_projects_associated_with_endpoint_group',
      handler: async ({ req, params }) => ({
        projects: (await projects(await eg.projectIdsOf(params.endpoint_group_id))).map((p) => projectView(req, p)),
        links: collectionLinks(req),
      }),
    },
    {
      method: 'GET', url: `${PREFIX}/endpoint_groups/:endpoint_group_id/projects/:project_id`, policy: 'identity:get_endpoint_group_in_project',
      handler: async ({ req, params }) => {
        await eg.checkInProject(params.endpoint_group_id, params.project_id);
        return {
          project_endpoint_group: {
            endpoint_group_id: params.endpoint_group_id, project_id: params.project_id,
            links: { self: `${v3(req)}/OS-EP-FILTER/endpoint_groups/${params.endpoint_group_id}/projects/${params.project_id}` },
          },
        };
      },
    },
    {
      method: 'PUT', url: `${PREFIX}/endpoint_groups/:endpoint_group_id/projects/:project_id`, policy: 'identity:add_endpoint_group_to_project',
      handler: async ({ params }) => { await eg.addToProject(params.endpoint_group_id, params.project_id); },
    },
    {
      method: 'DELETE', url: `${PREFIX}/endpoint_groups/:endpoint_group_id/projects/:project_id`, policy: 'identity:remove_endpoint_group_from_project',
      handler: async ({ params }) => { await eg.removeFromProject(params.endpoint_group_id, params.project_id); },
    },
    {
      method: 'GET', url: `${PREFIX}/projects/:project_id/endpoint_groups`, policy: 'identity:list_endpoint_groups_for_project',
      handler: async ({ req, params }) => ({
        endpoint_groups: (await eg.groupsOfProject(params.project_id)).map((g) => endpointGroupView(req, g)),
        links: collectionLinks(req),
      }),
    },

    // --- endpoint ↔ project
    {
      method: 'GET', url: `${PREFIX}/projects/:project_id/endpoints`, policy: 'identity:list_endpoints_for_project',
      handler: async ({ req, params }) => ({
        endpoints: (await eg.endpointsOfProject(params.project_id)).map((e) => endpointView(req, e)),
        links: collectionLinks(req),
      }),
    },
    {
      method: 'GET', url: `${PREFIX}/projects/:project_id/endpoints/:endpoint_id`, policy: 'identity:check_endpoint_in_project',
      handler: async ({ params }) => { await eg.checkEndpointInProject(params.endpoint_id, params.project_id); },
    },
    {
      method: 'PUT', url: `${PREFIX}/projects/:project_id/endpoints/:endpoint_id`, policy: 'identity:add_endpoint_to_project',
      handler: async ({ params }) => { await eg.addEndpointToProject(params.endpoint_id, params.project_id); },
    },
    {
      method: 'DELETE', url: `${PREFIX}/projects/:project_id/endpoints/:endpoint_id`, policy: 'identity:remove_endpoint_from_project',
      handler: async ({ params }) => { await eg.removeEndpointFromProject(params.endpoint_id, params.project_id); },
    },
    {
      method: 'GET', url: `${PREFIX}/endpoints/:endpoint_id/projects`, policy: 'identity:list_projects_for_endpoint',
      handler: async ({ req, params }) => ({
        projects: (await projects(await eg.projectIdsOfEndpoint(params.endpoint_id))).map((p) => projectView(req, p)),
        links: collectionLinks(req),
      }),
    },
  ];
};
