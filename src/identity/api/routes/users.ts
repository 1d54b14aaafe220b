import { notFound } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import { boolParam, one } from '../query.js';
import { collectionLinks, groupView, projectView, userView } from '../views.js';
import { bool, nameSchema, nullableString, shortName, splitExtra, wrap } from './schemas.js';

const USER_FIELDS = ['name', 'domain_id', 'enabled', 'default_project_id', 'password', 'options', 'id', 'links', 'password_expires_at'];
const GROUP_FIELDS = ['name', 'domain_id', 'description', 'id', 'links'];

const userBody = (required: boolean) => wrap('user', {
  required: required ? ['name'] : [],
  properties: { name: nameSchema, domain_id: { type: 'string' }, enabled: bool, default_project_id: nullableString, password: nullableString, options: { type: 'object' } },
});
const groupBody = (required: boolean) => wrap('group', {
  required: required ? ['name'] : [],
  properties: { name: shortName, domain_id: { type: 'string' }, description: nullableString },
});

/** The domain a new user or group lands in: the one asked for, else the token's. */
const defaultDomain = (ctx: RequestCtx, asked?: string) => asked ?? ctx.auth.projectDomainId ?? ctx.auth.domainId ?? 'default';

/** Users, self-service password change, groups and membership. */
export const userRoutes = (s: IdentityServices): Route[] => {
  const userTarget = async ({ params }: { params: Record<string, string> }) => {
    const u = await s.users.get(params.user_id);
    return { target: { user: { id: u.id, domain_id: u.domainId } } };
  };
  const groupTarget = async ({ params }: { params: Record<string, string> }) => {
    const g = await s.groups.get(params.group_id);
    return { target: { group: { id: g.id, domain_id: g.domainId } } };
  };
  const membershipTarget = async ({ params }: { params: Record<string, string> }) => {
    const g = await s.groups.get(params.group_id);
    const u = await s.users.get(params.user_id);
    return { target: { group: { id: g.id, domain_id: g.domainId }, user: { id: u.id, domain_id: u.domainId } } };
  };
  return [
    {
      method: 'POST', url: '/v3/users', policy: 'identity:create_user', schema: { body: userBody(true) }, status: 201,
      handler: async (ctx) => {
        const u = ctx.body.user;
        const domainId = defaultDomain(ctx, u.domain_id);
        await s.projects.getDomain(domainId);
        if (u.default_project_id) await s.projects.getProject(u.default_project_id);
        const created = await s.users.create({
          name: u.name, domainId, enabled: u.enabled, defaultProjectId: u.default_project_id, password: u.password,
          options: u.options, extra: splitExtra(u, USER_FIELDS),
        });
        return { user: userView(ctx.req, created) };
      },
    },
    {
      method: 'GET', url: '/v3/users', policy: 'identity:list_users',
      handler: async ({ req, query }) => {
        const list = await s.users.list({ name: one(query, 'name'), domainId: one(query, 'domain_id'), enabled: boolParam(query, 'enabled') });
        return { users: list.map((u) => userView(req, u)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id', policy: 'identity:get_user', target: userTarget,
      handler: async ({ req, params }) => ({ user: userView(req, await s.users.get(params.user_id)) }),
    },
    {
      method: 'PATCH', url: '/v3/users/:user_id', policy: 'identity:update_user', schema: { body: userBody(false) }, target: userTarget,
      handler: async ({ req, params, body }) => {
        const u = body.user;
        if (u.default_project_id) await s.projects.getProject(u.default_project_id);
        const extra = splitExtra(u, USER_FIELDS);
        const updated = await s.users.update(params.user_id, {
          name: u.name, enabled: u.enabled, defaultProjectId: u.default_project_id, password: u.password, options: u.options,
          extra: Object.keys(extra).length ? extra : undefined,
        });
        if (u.enabled === false || u.password) await s.revocations.revoke({ userId: params.user_id });
        return { user: userView(req, updated) };
      },
    },
    {
      method: 'DELETE', url: '/v3/users/:user_id', policy: 'identity:delete_user', target: userTarget,
      handler: async ({ params }) => {
        await s.trusts.deleteForUser(params.user_id);
        await s.users.delete(params.user_id);
        await s.revocations.revoke({ userId: params.user_id });
      },
    },
    {
      // Not policy-protected (as in Keystone): the original password is the proof, so an
      // expired password can still be changed.
      method: 'POST', url: '/v3/users/:user_id/password', policy: 'public',
      schema: { body: wrap('user', { required: ['password', 'original_password'], properties: { password: { type: 'string', minLength: 1 }, original_password: { type: 'string' } } }) },
      handler: async ({ params, body }) => {
        await s.users.get(params.user_id);
        await s.users.changeOwnPassword(params.user_id, body.user.original_password, body.user.password);
        await s.revocations.revoke({ userId: params.user_id });
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id/projects', policy: 'identity:list_user_projects', target: userTarget,
      handler: async ({ req, params, query }) => {
        const ids = await s.assignments.projectsOfUser(params.user_id);
        let list = await s.projects.list({ ids, isDomain: false, name: one(query, 'name'), enabled: boolParam(query, 'enabled') });
        const domainId = one(query, 'domain_id');
        if (domainId) list = list.filter((p) => p.domainId === domainId);
        return { projects: list.map((p) => projectView(req, p)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id/groups', policy: 'identity:list_groups_for_user', target: userTarget,
      handler: async ({ req, params }) => {
        const list = await s.groups.list({ ids: await s.users.groupIds(params.user_id) });
        return { groups: list.map((g) => groupView(req, g)), links: collectionLinks(req) };
      },
    },

    // --- groups
    {
      method: 'POST', url: '/v3/groups', policy: 'identity:create_group', schema: { body: groupBody(true) }, status: 201,
      handler: async (ctx) => {
        const g = ctx.body.group;
        const domainId = defaultDomain(ctx, g.domain_id);
        await s.projects.getDomain(domainId);
        const created = await s.groups.create({ name: g.name, domainId, description: g.description, extra: splitExtra(g, GROUP_FIELDS) });
        return { group: groupView(ctx.req, created) };
      },
    },
    {
      method: 'GET', url: '/v3/groups', policy: 'identity:list_groups',
      handler: async ({ req, query }) => {
        const list = await s.groups.list({ name: one(query, 'name'), domainId: one(query, 'domain_id') });
        return { groups: list.map((g) => groupView(req, g)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/groups/:group_id', policy: 'identity:get_group', target: groupTarget,
      handler: async ({ req, params }) => ({ group: groupView(req, await s.groups.get(params.group_id)) }),
    },
    {
      method: 'PATCH', url: '/v3/groups/:group_id', policy: 'identity:update_group', schema: { body: groupBody(false) }, target: groupTarget,
      handler: async ({ req, params, body }) => {
        const g = body.group;
        const extra = splitExtra(g, GROUP_FIELDS);
        return { group: groupView(req, await s.groups.update(params.group_id, { name: g.name, description: g.description, extra: Object.keys(extra).length ? extra : undefined })) };
      },
    },
    {
      method: 'DELETE', url: '/v3/groups/:group_id', policy: 'identity:delete_group', target: groupTarget,
      handler: async ({ params }) => { await s.groups.delete(params.group_id); },
    },
    {
      method: 'GET', url: '/v3/groups/:group_id/users', policy: 'identity:list_users_in_group', target: groupTarget,
      handler: async ({ req, params, query }) => {
        let list = await s.users.list({ ids: await s.groups.userIds(params.group_id), enabled: boolParam(query, 'enabled') });
        const name = one(query, 'name');
        if (name) list = list.filter((u) => u.name === name);
        return { users: list.map((u) => userView(req, u)), links: collectionLinks(req) };
      },
    },
    {
      method: 'PUT', url: '/v3/groups/:group_id/users/:user_id', policy: 'identity:add_user_to_group', target: membershipTarget,
      handler: async ({ params }) => { await s.groups.addUser(params.group_id, params.user_id); },
    },
    {
      method: 'HEAD', url: '/v3/groups/:group_id/users/:user_id', policy: 'identity:check_user_in_group', target: membershipTarget,
      handler: async ({ params }) => {
        if (!(await s.groups.hasUser(params.group_id, params.user_id))) throw notFound(`User ${params.user_id} is not in group ${params.group_id}.`);
      },
    },
    {
      method: 'GET', url: '/v3/groups/:group_id/users/:user_id', policy: 'identity:check_user_in_group', target: membershipTarget,
      handler: async ({ params }) => {
        if (!(await s.groups.hasUser(params.group_id, params.user_id))) throw notFound(`User ${params.user_id} is not in group ${params.group_id}.`);
      },
    },
    {
      method: 'DELETE', url: '/v3/groups/:group_id/users/:user_id', policy: 'identity:remove_user_from_group', target: membershipTarget,
      handler: async ({ params }) => {
        await s.groups.removeUser(params.group_id, params.user_id);
      },
    },
  ];
};
