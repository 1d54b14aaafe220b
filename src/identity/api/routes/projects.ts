import { badRequest, forbidden, notFound } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import { boolParam, listParam, one } from '../query.js';
import { collectionLinks, domainView, projectView } from '../views.js';
import { bool, nullableString, shortName, splitExtra, tags, wrap } from './schemas.js';

const PROJECT_FIELDS = ['name', 'description', 'enabled', 'domain_id', 'parent_id', 'is_domain', 'tags', 'options', 'id', 'links'];
const DOMAIN_FIELDS = ['name', 'description', 'enabled', 'tags', 'options', 'explicit_domain_id', 'id', 'links'];

const domainBody = (required: boolean) => wrap('domain', {
  required: required ? ['name'] : [],
  properties: { name: shortName, description: nullableString, enabled: bool, tags, options: { type: 'object' }, explicit_domain_id: { type: 'string' } },
});
const projectBody = (required: boolean) => wrap('project', {
  required: required ? ['name'] : [],
  properties: { name: shortName, description: nullableString, enabled: bool, domain_id: nullableString, parent_id: nullableString, is_domain: bool, tags, options: { type: 'object' } },
});

/** Domains and projects, with project tags. */
export const projectRoutes = (s: IdentityServices): Route[] => {
  const domainTarget = async ({ params }: { params: Record<string, string> }) => ({ target: { domain: { id: (await s.projects.getDomain(params.domain_id)).id } } });
  const projectTarget = async ({ params }: { params: Record<string, string> }) => {
    const p = await s.projects.getProject(params.project_id, true);
    return { target: { project: { id: p.id, domain_id: p.domainId } } };
  };
  return [
    // --- domains
    {
      method: 'POST', url: '/v3/domains', policy: 'identity:create_domain', schema: { body: domainBody(true) }, status: 201,
      handler: async ({ req, body }) => {
        const d = body.domain;
        const created = await s.projects.createDomain({
          id: d.explicit_domain_id, name: d.name, description: d.description, enabled: d.enabled, tags: d.tags, extra: splitExtra(d, DOMAIN_FIELDS),
        });
        return { domain: domainView(req, created) };
      },
    },
    {
      method: 'GET', url: '/v3/domains', policy: 'identity:list_domains',
      handler: async ({ req, query }) => {
        const list = await s.projects.list({ isDomain: true, name: one(query, 'name'), enabled: boolParam(query, 'enabled') });
        return { domains: list.map((d) => domainView(req, d)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/domains/:domain_id', policy: 'identity:get_domain', target: domainTarget,
      handler: async ({ req, params }) => ({ domain: domainView(req, await s.projects.getDomain(params.domain_id)) }),
    },
    {
      method: 'PATCH', url: '/v3/domains/:domain_id', policy: 'identity:update_domain', schema: { body: domainBody(false) }, target: domainTarget,
      handler: async ({ req, params, body }) => {
        const d = body.domain;
        const extra = splitExtra(d, DOMAIN_FIELDS);
        const updated = await s.projects.update(params.domain_id, { name: d.name, description: d.description, enabled: d.enabled, tags: d.tags, extra: Object.keys(extra).length ? extra : undefined }, 'domain');
        if (d.enabled === false) await s.revocations.revoke({ domainId: params.domain_id });
        return { domain: domainView(req, updated) };
      },
    },
    {
      method: 'DELETE', url: '/v3/domains/:domain_id', policy: 'identity:delete_domain', target: domainTarget,
      handler: async ({ params }) => {
        const d = await s.projects.getDomain(params.domain_id);
        if (d.enabled) throw forbidden('Cannot delete a domain that is enabled, please disable it first.');
        await deleteDomainContents(s, d.id);
        await s.revocations.revoke({ domainId: d.id });
      },
    },

    // --- projects
    {
      method: 'POST', url: '/v3/projects', policy: 'identity:create_project', schema: { body: projectBody(true) }, status: 201,
      handler: async ({ req, body, auth }) => {
        const p = body.project;
        const created = await s.projects.createProject({
          name: p.name, description: p.description, enabled: p.enabled, isDomain: p.is_domain, tags: p.tags,
          parentId: p.parent_id, domainId: p.domain_id ?? (p.parent_id ? undefined : auth.projectDomainId ?? auth.domainId ?? 'default'),
          extra: splitExtra(p, PROJECT_FIELDS),
        });
        return { project: projectView(req, created) };
      },
    },
    {
      method: 'GET', url: '/v3/projects', policy: 'identity:list_projects',
      handler: async ({ req, query }) => {
        const isDomain = boolParam(query, 'is_domain');
        const list = await s.projects.list({
          name: one(query, 'name'), domainId: one(query, 'domain_id'), parentId: one(query, 'parent_id'),
          enabled: boolParam(query, 'enabled'), isDomain: isDomain ?? false,
          tags: listParam(query, 'tags'), tagsAny: listParam(query, 'tags-any'),
          notTags: listParam(query, 'not-tags'), notTagsAny: listParam(query, 'not-tags-any'),
        });
        return { projects: list.map((p) => projectView(req, p)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/projects/:project_id', policy: 'identity:get_project', target: projectTarget,
      handler: async ({ req, params, query }) => {
        const p = await s.projects.getProject(params.project_id, true);
        const view: Record<string, unknown> = projectView(req, p);
        if (boolParam(query, 'parents_as_ids')) view.parents = await idTree(s, p.id, 'up');
        if (boolParam(query, 'subtree_as_ids')) view.subtree = await idTree(s, p.id, 'down');
        if (boolParam(query, 'parents_as_list')) view.parents = (await Promise.all((await s.projects.ancestors(p.id)).map((id) => s.projects.getProject(id)))).map((x) => ({ project: projectView(req, x) }));
        if (boolParam(query, 'subtree_as_list')) view.subtree = (await Promise.all((await s.projects.descendants(p.id)).map((id) => s.projects.getProject(id)))).map((x) => ({ project: projectView(req, x) }));
        return { project: view };
      },
    },
    {
      method: 'PATCH', url: '/v3/projects/:project_id', policy: 'identity:update_project', schema: { body: projectBody(false) }, target: projectTarget,
      handler: async ({ req, params, body }) => {
        const p = body.project;
        if (p.is_domain !== undefined && p.is_domain !== false) throw badRequest('Update of `is_domain` is not allowed.');
        const extra = splitExtra(p, PROJECT_FIELDS);
        const updated = await s.projects.update(params.project_id, {
          name: p.name, description: p.description, enabled: p.enabled, tags: p.tags, domainId: p.domain_id, parentId: p.parent_id,
          extra: Object.keys(extra).length ? extra : undefined,
        }, 'project');
        if (p.enabled === false) await s.revocations.revoke({ projectId: params.project_id });
        return { project: projectView(req, updated) };
      },
    },
    {
      method: 'DELETE', url: '/v3/projects/:project_id', policy: 'identity:delete_project', target: projectTarget,
      handler: async ({ params }) => {
        const p = await s.projects.getProject(params.project_id, true);
        if (p.isDomain) {
          if (p.enabled) throw forbidden('Cannot delete a domain that is enabled, please disable it first.');
          await deleteDomainContents(s, p.id);
          await s.revocations.revoke({ domainId: p.id });
          return;
        }
        await s.projects.deleteProject(p.id);
        await s.revocations.revoke({ projectId: p.id });
      },
    },

    // --- project tags
    {
      method: 'GET', url: '/v3/projects/:project_id/tags', policy: 'identity:list_project_tags', target: projectTarget,
      handler: async ({ params }) => ({ tags: await s.projects.tagsOf(params.project_id) }),
    },
    {
      method: 'PUT', url: '/v3/projects/:project_id/tags', policy: 'identity:update_project_tags', target: projectTarget,
      schema: { body: { type: 'object', required: ['tags'], properties: { tags } } },
      handler: async ({ params, body }) => {
        await s.projects.replaceTags(params.project_id, body.tags);
        return { tags: await s.projects.tagsOf(params.project_id) };
      },
    },
    {
      method: 'DELETE', url: '/v3/projects/:project_id/tags', policy: 'identity:delete_project_tags', target: projectTarget,
      handler: async ({ params }) => { await s.projects.replaceTags(params.project_id, []); },
    },
    {
      method: 'GET', url: '/v3/projects/:project_id/tags/:tag', policy: 'identity:get_project_tag', target: projectTarget,
      handler: async ({ params, reply }) => {
        if (!(await s.projects.tagsOf(params.project_id)).includes(params.tag)) throw notFoundTag(params.tag);
        return reply.code(204).send();
      },
    },
    {
      method: 'PUT', url: '/v3/projects/:project_id/tags/:tag', policy: 'identity:create_project_tag', target: projectTarget, status: 201,
      handler: async ({ params, reply, req }) => {
        await s.projects.addTag(params.project_id, params.tag);
        reply.header('location', `${req.url}`);
        return reply.code(201).send();
      },
    },
    {
      method: 'DELETE', url: '/v3/projects/:project_id/tags/:tag', policy: 'identity:delete_project_tag', target: projectTarget,
      handler: async ({ params }) => { await s.projects.removeTag(params.project_id, params.tag); },
    },
  ];
};

const notFoundTag = (tag: string) => notFound(`Tag ${tag} not found.`);

/** parents_as_ids / subtree_as_ids: nested {id: {id: null}} maps. */
async function idTree(s: IdentityServices, id: string, dir: 'up' | 'down'): Promise<Record<string, unknown> | null> {
  if (dir === 'up') {
    const chain = await s.projects.ancestors(id);
    const p = await s.projects.getProject(id);
    let tree: Record<string, unknown> | null = { [p.domainId!]: null };
    for (const a of chain.reverse()) tree = { [a]: tree };
    return tree;
  }
  const children = await s.projects.children(id);
  if (children.length === 0) return null;
  const out: Record<string, unknown> = {};
  for (const c of children) out[c.id] = await idTree(s, c.id, 'down');
  return out;
}

/** A domain's delete removes everything in it (Keystone's cascade), leaves first. */
async function deleteDomainContents(s: IdentityServices, domainId: string): Promise<void> {
  const db = s.deps.db;
  const projects = await s.projects.list({ domainId });
  const depth = new Map<string, number>();
  for (const p of projects) depth.set(p.id, (await s.projects.ancestors(p.id)).length);
  projects.sort((a, b) => depth.get(b.id)! - depth.get(a.id)!);
  for (const p of projects) {
    await db.deleteFrom('assignment').where('target_id', '=', p.id).execute();
    await db.deleteFrom('project').where('id', '=', p.id).execute();
  }
  for (const u of await s.users.list({ domainId })) await s.users.delete(u.id);
  for (const g of await s.groups.list({ domainId })) await s.groups.delete(g.id);
  await db.deleteFrom('role').where('domain_id', '=', domainId).execute();
  await db.deleteFrom('domain_config').where('domain_id', '=', domainId).execute();
  await db.deleteFrom('assignment').where('target_id', '=', domainId).execute();
  await db.deleteFrom('project').where('id', '=', domainId).execute();
}
