import type { FastifyRequest } from 'fastify';
import type { Project } from '../service/projects.js';
import type { User } from '../service/users.js';
import type { Group } from '../service/groups.js';
import type { Role } from '../service/roles.js';
import type { Endpoint, Region, Service } from '../service/catalog.js';

/** The URL clients reached us at (Keystone builds links from the request). */
export function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? `${req.hostname}`}`;
}

export const v3 = (req: FastifyRequest) => `${baseUrl(req)}/v3`;

/** A collection's links block (Keystone: self, previous, next). */
export function collectionLinks(req: FastifyRequest) {
  return { self: `${baseUrl(req)}${req.url}`, previous: null, next: null };
}

export function domainView(req: FastifyRequest, d: Project) {
  return {
    id: d.id, name: d.name, description: d.description ?? '', enabled: d.enabled, tags: d.tags,
    options: {}, ...d.extra, links: { self: `${v3(req)}/domains/${d.id}` },
  };
}

export function projectView(req: FastifyRequest, p: Project) {
  if (p.isDomain) {
    return {
      id: p.id, name: p.name, domain_id: null, description: p.description ?? '', enabled: p.enabled, parent_id: null,
      is_domain: true, tags: p.tags, options: {}, ...p.extra, links: { self: `${v3(req)}/projects/${p.id}` },
    };
  }
  return {
    id: p.id, name: p.name, domain_id: p.domainId, description: p.description ?? '', enabled: p.enabled,
    parent_id: p.parentId, is_domain: false, tags: p.tags, options: {}, ...p.extra,
    links: { self: `${v3(req)}/projects/${p.id}` },
  };
}

export function userView(req: FastifyRequest, u: User) {
  return {
    ...u.extra,
    id: u.id, name: u.name, domain_id: u.domainId, enabled: u.enabled,
    ...(u.defaultProjectId ? { default_project_id: u.defaultProjectId } : {}),
    password_expires_at: u.passwordExpiresAt, options: u.options,
    links: { self: `${v3(req)}/users/${u.id}` },
  };
}

export function groupView(req: FastifyRequest, g: Group) {
  return { ...g.extra, id: g.id, name: g.name, domain_id: g.domainId, description: g.description ?? '', links: { self: `${v3(req)}/groups/${g.id}` } };
}

export function roleView(req: FastifyRequest, r: Role) {
  return {
    ...r.extra, id: r.id, name: r.name, domain_id: r.domainId, description: r.description,
    options: r.options, links: { self: `${v3(req)}/roles/${r.id}` },
  };
}

export const roleRef = (req: FastifyRequest, r: Role) => ({ id: r.id, name: r.name, links: { self: `${v3(req)}/roles/${r.id}` } });

export function regionView(req: FastifyRequest, r: Region) {
  return { ...r.extra, id: r.id, description: r.description, parent_region_id: r.parentRegionId, links: { self: `${v3(req)}/regions/${r.id}` } };
}

export function serviceView(req: FastifyRequest, s: Service) {
  return {
    ...s.extra, id: s.id, type: s.type, enabled: s.enabled,
    ...(s.name !== null ? { name: s.name } : {}), ...(s.description !== null ? { description: s.description } : {}),
    links: { self: `${v3(req)}/services/${s.id}` },
  };
}

export function endpointView(req: FastifyRequest, e: Endpoint) {
  return {
    ...e.extra, id: e.id, interface: e.interface, region: e.regionId, region_id: e.regionId, service_id: e.serviceId,
    url: e.url, enabled: e.enabled, links: { self: `${v3(req)}/endpoints/${e.id}` },
  };
}
