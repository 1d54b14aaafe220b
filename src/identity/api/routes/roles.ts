import type { FastifyRequest } from 'fastify';
import type { Route } from '../../../core/http/routes.js';
import { notFound } from '../../../core/errors.js';
import type { IdentityServices } from '../../service/index.js';
import type { Actor, Target } from '../../service/assignments.js';
import type { Role } from '../../service/roles.js';
import { one } from '../query.js';
import { collectionLinks, roleRef, roleView, v3 } from '../views.js';
import { nameSchema, nullableString, splitExtra, wrap } from './schemas.js';

const ROLE_FIELDS = ['name', 'domain_id', 'description', 'options', 'id', 'links'];
const roleBody = (required: boolean) => wrap('role', {
  required: required ? ['name'] : [],
  properties: { name: nameSchema, domain_id: nullableString, description: nullableString, options: { type: 'object' } },
});

/** Roles, implied roles and grants (project, domain, system, inherited). */
export const roleRoutes = (s: IdentityServices): Route[] => {
  const roleTarget = async ({ params }: { params: Record<string, string> }) => {
    const r = await s.roles.get(params.role_id ?? params.prior_role_id);
    return { target: { role: { id: r.id, domain_id: r.domainId } } };
  };
  const inference = (req: FastifyRequest, prior: Role, implied: Role) => ({
    role_inference: { prior_role: roleRef(req, prior), implies: roleRef(req, implied) },
    links: { self: `${v3(req)}/roles/${prior.id}/implies/${implied.id}` },
  });
  const routes: Route[] = [
    {
      method: 'POST', url: '/v3/roles', policy: 'identity:create_role', schema: { body: roleBody(true) }, status: 201,
      target: ({ body }) => ({ target: { role: { domain_id: body?.role?.domain_id ?? null } } }),
      handler: async ({ req, body }) => {
        const r = body.role;
        if (r.domain_id) await s.projects.getDomain(r.domain_id);
        const created = await s.roles.create({ name: r.name, domainId: r.domain_id, description: r.description, options: r.options, extra: splitExtra(r, ROLE_FIELDS) });
        return { role: roleView(req, created) };
      },
    },
    {
      method: 'GET', url: '/v3/roles', policy: 'identity:list_roles',
      handler: async ({ req, query }) => {
        const list = await s.roles.list({ name: one(query, 'name'), domainId: one(query, 'domain_id') ?? null });
        return { roles: list.map((r) => roleView(req, r)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/roles/:role_id', policy: 'identity:get_role', target: roleTarget,
      handler: async ({ req, params }) => ({ role: roleView(req, await s.roles.get(params.role_id)) }),
    },
    {
      method: 'PATCH', url: '/v3/roles/:role_id', policy: 'identity:update_role', schema: { body: roleBody(false) }, target: roleTarget,
      handler: async ({ req, params, body }) => {
        const r = body.role;
        const extra = splitExtra(r, ROLE_FIELDS);
        return { role: roleView(req, await s.roles.update(params.role_id, { name: r.name, description: r.description, options: r.options, extra: Object.keys(extra).length ? extra : undefined })) };
      },
    },
    {
      method: 'DELETE', url: '/v3/roles/:role_id', policy: 'identity:delete_role', target: roleTarget,
      handler: async ({ params }) => { await s.roles.delete(params.role_id); },
    },

    // --- implied roles
    {
      method: 'PUT', url: '/v3/roles/:prior_role_id/implies/:implied_role_id', policy: 'identity:create_implied_role', status: 201,
      handler: async ({ req, params }) => {
        await s.roles.addImplied(params.prior_role_id, params.implied_role_id);
        return inference(req, await s.roles.get(params.prior_role_id), await s.roles.get(params.implied_role_id));
      },
    },
    {
      method: 'GET', url: '/v3/roles/:prior_role_id/implies/:implied_role_id', policy: 'identity:get_implied_role',
      handler: async ({ req, params }) => {
        await s.roles.checkImplied(params.prior_role_id, params.implied_role_id);
        return inference(req, await s.roles.get(params.prior_role_id), await s.roles.get(params.implied_role_id));
      },
    },
    {
      method: 'HEAD', url: '/v3/roles/:prior_role_id/implies/:implied_role_id', policy: 'identity:check_implied_role',
      handler: async ({ params }) => { await s.roles.checkImplied(params.prior_role_id, params.implied_role_id); },
    },
    {
      method: 'DELETE', url: '/v3/roles/:prior_role_id/implies/:implied_role_id', policy: 'identity:delete_implied_role',
      handler: async ({ params }) => { await s.roles.removeImplied(params.prior_role_id, params.implied_role_id); },
    },
    {
      method: 'GET', url: '/v3/roles/:prior_role_id/implies', policy: 'identity:list_implied_roles',
      handler: async ({ req, params }) => {
        const prior = await s.roles.get(params.prior_role_id);
        const implied = await s.roles.impliedBy(prior.id);
        return { role_inference: { prior_role: roleRef(req, prior), implies: implied.map((r) => roleRef(req, r)) }, links: { self: `${v3(req)}/roles/${prior.id}/implies` } };
      },
    },
    {
      method: 'GET', url: '/v3/role_inferences', policy: 'identity:list_role_inference_rules',
      handler: async ({ req }) => {
        const rules = await s.roles.allImplications();
        const priors = [...new Set(rules.map((r) => r.prior_role_id))];
        const out = [];
        for (const p of priors) {
          const prior = await s.roles.get(p);
          const implied = await s.roles.byIds(rules.filter((r) => r.prior_role_id === p).map((r) => r.implied_role_id));
          out.push({ prior_role: roleRef(req, prior), implies: implied.map((r) => roleRef(req, r)) });
        }
        return { role_inferences: out, links: collectionLinks(req) };
      },
    },
  ];

  // --- grants: one family of routes per (target kind, actor kind), plus inherited ones.
  const kinds: { targetPath: string; targetParam: string; target: (id: string) => Target; check: (id: string) => Promise<unknown>; inherited: boolean; policy: string }[] = [
    { targetPath: '/v3/projects/:target_id', targetParam: 'project', target: (id) => ({ project: id }), check: (id) => s.projects.getProject(id), inherited: false, policy: 'grant' },
    { targetPath: '/v3/domains/:target_id', targetParam: 'domain', target: (id) => ({ domain: id }), check: (id) => s.projects.getDomain(id), inherited: false, policy: 'grant' },
    { targetPath: '/v3/OS-INHERIT/projects/:target_id', targetParam: 'project', target: (id) => ({ project: id }), check: (id) => s.projects.getProject(id), inherited: true, policy: 'grant' },
    { targetPath: '/v3/OS-INHERIT/domains/:target_id', targetParam: 'domain', target: (id) => ({ domain: id }), check: (id) => s.projects.getDomain(id), inherited: true, policy: 'grant' },
  ];
  const actors: { path: string; actor: (id: string) => Actor; check: (id: string) => Promise<unknown>; name: 'user' | 'group' }[] = [
    { path: 'users/:actor_id', actor: (id) => ({ user: id }), check: (id) => s.users.get(id), name: 'user' },
    { path: 'groups/:actor_id', actor: (id) => ({ group: id }), check: (id) => s.groups.get(id), name: 'group' },
  ];
  for (const k of kinds) {
    for (const a of actors) {
      const suffix = k.inherited ? '/inherited_to_projects' : '';
      const one = `${k.targetPath}/${a.path}/roles/:role_id${suffix}`;
      const load = async (params: Record<string, string>) => {
        await k.check(params.target_id);
        await a.check(params.actor_id);
        if (params.role_id) await s.roles.get(params.role_id);
        return { target: { [k.targetParam]: { id: params.target_id }, [a.name]: { id: params.actor_id }, role: { id: params.role_id } } };
      };
      const check = async (params: Record<string, string>) => {
        if (!(await s.assignments.check(a.actor(params.actor_id), k.target(params.target_id), params.role_id, k.inherited))) {
          throw notFound(`Could not find role assignment with role: ${params.role_id}, ${a.name}: ${params.actor_id}, ${k.targetParam}: ${params.target_id}.`);
        }
      };
      routes.push(
        { method: 'PUT', url: one, policy: 'identity:create_grant', target: ({ params }) => load(params),
          handler: async ({ params }) => { await s.assignments.grant(a.actor(params.actor_id), k.target(params.target_id), params.role_id, k.inherited); } },
        { method: 'HEAD', url: one, policy: 'identity:check_grant', target: ({ params }) => load(params), handler: async ({ params }) => { await check(params); } },
        { method: 'GET', url: one, policy: 'identity:check_grant', target: ({ params }) => load(params), handler: async ({ params }) => { await check(params); } },
        { method: 'DELETE', url: one, policy: 'identity:revoke_grant', target: ({ params }) => load(params),
          handler: async ({ params }) => { await s.assignments.revoke(a.actor(params.actor_id), k.target(params.target_id), params.role_id, k.inherited); } },
        { method: 'GET', url: `${k.targetPath}/${a.path}/roles${suffix}`, policy: 'identity:list_grants', target: ({ params }) => load(params),
          handler: async ({ req, params }) => {
            const ids = await s.assignments.direct(a.actor(params.actor_id), k.target(params.target_id), k.inherited);
            return { roles: (await s.roles.byIds(ids)).map((r) => roleView(req, r)), links: collectionLinks(req) };
          } },
      );
    }
  }

  // --- system grants
  for (const a of actors) {
    const base = `/v3/system/${a.path}/roles`;
    const kind = a.name;
    const load = async (params: Record<string, string>) => {
      await a.check(params.actor_id);
      if (params.role_id) await s.roles.get(params.role_id);
      return { target: { [kind]: { id: params.actor_id }, role: { id: params.role_id } } };
    };
    const check = async (params: Record<string, string>) => {
      if (!(await s.assignments.check(a.actor(params.actor_id), { system: 'all' }, params.role_id))) {
        throw notFound(`Could not find system role assignment with role: ${params.role_id}, ${kind}: ${params.actor_id}.`);
      }
    };
    routes.push(
      { method: 'GET', url: base, policy: `identity:list_system_grants_for_${kind}`, target: ({ params }) => load(params),
        handler: async ({ req, params }) => {
          const ids = await s.assignments.direct(a.actor(params.actor_id), { system: 'all' });
          return { roles: (await s.roles.byIds(ids)).map((r) => roleView(req, r)), links: collectionLinks(req) };
        } },
      { method: 'PUT', url: `${base}/:role_id`, policy: `identity:create_system_grant_for_${kind}`, target: ({ params }) => load(params),
        handler: async ({ params }) => { await s.assignments.grant(a.actor(params.actor_id), { system: 'all' }, params.role_id); } },
      { method: 'HEAD', url: `${base}/:role_id`, policy: `identity:check_system_grant_for_${kind}`, target: ({ params }) => load(params), handler: async ({ params }) => { await check(params); } },
      { method: 'GET', url: `${base}/:role_id`, policy: `identity:check_system_grant_for_${kind}`, target: ({ params }) => load(params), handler: async ({ params }) => { await check(params); } },
      { method: 'DELETE', url: `${base}/:role_id`, policy: `identity:revoke_system_grant_for_${kind}`, target: ({ params }) => load(params),
        handler: async ({ params }) => { await s.assignments.revoke(a.actor(params.actor_id), { system: 'all' }, params.role_id); } },
    );
  }
  return routes;
};
