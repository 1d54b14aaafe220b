import type { FastifyRequest } from 'fastify';
import type { Route } from '../../../core/http/routes.js';
import { badRequest } from '../../../core/errors.js';
import type { IdentityServices } from '../../service/index.js';
import type { AssignmentView } from '../../service/assignments.js';
import { boolParam, one } from '../query.js';
import { collectionLinks, v3 } from '../views.js';

/** GET /v3/role_assignments: Keystone's filters, effective expansion and include_names. */
export const roleAssignmentRoutes = (s: IdentityServices): Route[] => [
  {
    method: 'GET', url: '/v3/role_assignments', policy: 'identity:list_role_assignments',
    handler: async ({ req, query }) => {
      const effective = boolParam(query, 'effective') === true;
      const includeNames = boolParam(query, 'include_names') === true;
      const inheritedTo = one(query, 'scope.OS-INHERIT:inherited_to');
      const userId = one(query, 'user.id');
      const groupId = one(query, 'group.id');
      if (effective && groupId) throw badRequest('Combining effective and group filter will always result in an empty list.');
      const projectId = one(query, 'scope.project.id');
      const domainId = one(query, 'scope.domain.id');
      if (projectId && domainId) throw badRequest('Specify one of domain or project.');
      let views = await s.assignments.list({
        userId, groupId, roleId: one(query, 'role.id'), projectId, domainId,
        system: one(query, 'scope.system') !== undefined ? true : undefined,
        inherited: inheritedTo ? true : undefined, effective,
      });
      if (boolParam(query, 'include_subtree') && projectId) {
        const sub = await s.projects.descendants(projectId);
        const more = await Promise.all(sub.map((p) => s.assignments.list({ userId, groupId, roleId: one(query, 'role.id'), projectId: p, effective })));
        views = [...views, ...more.flat()];
      }
      const out = [];
      for (const v of views) out.push(await render(req, s, v, includeNames));
      return { role_assignments: out, links: collectionLinks(req) };
    },
  },
];

async function render(req: FastifyRequest, s: IdentityServices, v: AssignmentView, names: boolean) {
  const base = v3(req);
  const role: Record<string, unknown> = { id: v.roleId };
  const entry: Record<string, unknown> = { role };
  const scope: Record<string, unknown> = {};
  if (v.projectId) scope.project = { id: v.projectId };
  else if (v.domainId) scope.domain = { id: v.domainId };
  else if (v.system) scope.system = { all: true };
  if (v.inherited) scope['OS-INHERIT:inherited_to'] = 'projects';
  entry.scope = scope;
  if (v.userId) entry.user = { id: v.userId };
  if (v.groupId) entry.group = { id: v.groupId };

  const actorPath = v.groupId ? `groups/${v.groupId}` : `users/${v.userId}`;
  let targetPath: string;
  if (v.inheritedFrom) targetPath = v.inheritedFrom.domain ? `OS-INHERIT/domains/${v.inheritedFrom.domain}` : `OS-INHERIT/projects/${v.inheritedFrom.project}`;
  else if (v.inherited) targetPath = v.domainId ? `OS-INHERIT/domains/${v.domainId}` : `OS-INHERIT/projects/${v.projectId}`;
  else targetPath = v.projectId ? `projects/${v.projectId}` : v.domainId ? `domains/${v.domainId}` : 'system';
  const roleId = v.viaPriorRoleId ?? v.roleId;
  const assignmentActor = v.viaGroupId ? `groups/${v.viaGroupId}` : actorPath;
  const links: Record<string, string> = {
    assignment: `${base}/${targetPath}/${assignmentActor}/roles/${roleId}${v.inherited || v.inheritedFrom ? '/inherited_to_projects' : ''}`,
  };
  if (v.viaGroupId) links.membership = `${base}/groups/${v.viaGroupId}/users/${v.userId}`;
  if (v.viaPriorRoleId) links.prior_role = `${base}/roles/${v.viaPriorRoleId}`;
  entry.links = links;

  if (names) {
    const r = await s.roles.get(v.roleId).catch(() => undefined);
    if (r) {
      role.name = r.name;
      if (r.domainId) role.domain = await domainRef(s, r.domainId);
    }
    if (v.userId) {
      const u = await s.users.find(v.userId);
      if (u) entry.user = { id: u.id, name: u.name, domain: await domainRef(s, u.domainId) };
    }
    if (v.groupId) {
      const g = await s.groups.get(v.groupId).catch(() => undefined);
      if (g) entry.group = { id: g.id, name: g.name, domain: await domainRef(s, g.domainId) };
    }
    if (v.projectId) {
      const p = await s.projects.get(v.projectId);
      if (p) scope.project = { id: p.id, name: p.name, domain: await domainRef(s, p.domainId!) };
    } else if (v.domainId) {
      scope.domain = await domainRef(s, v.domainId);
    }
  }
  return entry;
}

async function domainRef(s: IdentityServices, id: string) {
  const d = await s.projects.get(id);
  return { id, name: d?.name ?? '' };
}
