import type { FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import type { AuthBody } from '../../service/authenticate.js';
import type { ResolvedToken } from '../../service/tokens.js';
import { boolParam } from '../query.js';
import { collectionLinks, domainView, projectView, v3 } from '../views.js';

const ref = { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, domain: { type: 'object' } } };
const authSchema = {
  type: 'object',
  required: ['auth'],
  properties: {
    auth: {
      type: 'object',
      required: ['identity'],
      properties: {
        identity: {
          type: 'object',
          required: ['methods'],
          properties: {
            methods: { type: 'array', items: { type: 'string' }, minItems: 1 },
            password: { type: 'object', required: ['user'], properties: { user: { ...ref, required: ['password'], properties: { ...ref.properties, password: { type: 'string' } } } } },
            token: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
            application_credential: { type: 'object', required: ['secret'], properties: { id: { type: 'string' }, name: { type: 'string' }, secret: { type: 'string' }, user: ref } },
          },
        },
        scope: {
          oneOf: [
            { type: 'string', enum: ['unscoped'] },
            { type: 'object', properties: { project: ref, domain: ref, system: { type: 'object' }, 'OS-TRUST:trust': { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } } },
          ],
        },
      },
    },
  },
};

const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

/** The token as Keystone renders it in POST and GET /v3/auth/tokens. */
export async function tokenView(req: FastifyRequest, s: IdentityServices, t: ResolvedToken, withCatalog: boolean) {
  const body: Record<string, unknown> = {
    methods: t.payload.methods,
    user: {
      id: t.user.id, name: t.user.name, password_expires_at: t.user.passwordExpiresAt,
      domain: { id: t.userDomain.id, name: t.userDomain.name },
    },
    audit_ids: t.payload.auditIds,
    expires_at: iso(t.payload.expiresAt),
    issued_at: iso(t.payload.issuedAt),
  };
  if (t.project) {
    body.project = { id: t.project.id, name: t.project.name, domain: { id: t.projectDomain!.id, name: t.projectDomain!.name } };
    body.is_domain = false;
  } else if (t.domain) {
    body.domain = { id: t.domain.id, name: t.domain.name };
  } else if (t.system) {
    body.system = { all: true };
  }
  if (t.payload.scope) {
    body.roles = t.roles.map((r) => ({ id: r.id, name: r.name }));
    if (withCatalog) body.catalog = await s.tokens.catalogFor(t);
  }
  if (t.project && t.isAdminProject) body.is_admin_project = true;
  if (t.trust) {
    body['OS-TRUST:trust'] = {
      id: t.trust.id, impersonation: t.trust.impersonation,
      trustor_user: { id: t.trust.trustorUserId }, trustee_user: { id: t.trust.trusteeUserId },
      links: { self: `${v3(req)}/OS-TRUST/trusts/${t.trust.id}` },
    };
  }
  if (t.appCred) {
    body.application_credential = {
      id: t.appCred.id, name: t.appCred.name, restricted: !t.appCred.unrestricted,
      ...(t.appCred.accessRules ? { access_rules: t.appCred.accessRules } : {}),
    };
  }
  return { token: body };
}

/** Tokens (issue, validate, check, revoke) and what a token may see (/v3/auth/*). */
export const authRoutes = (s: IdentityServices): Route[] => {
  const subject = async (req: FastifyRequest) => {
    const id = req.headers['x-subject-token'];
    if (typeof id !== 'string' || id === '') throw badRequest('X-Subject-Token is required.');
    return s.tokens.validate(id, (m) => notFound(`Could not find token: ${m}`), { allowExpired: boolParam(req.query as Record<string, string>, 'allow_expired') === true });
  };
  const subjectTarget = async ({ req }: { req: FastifyRequest }) => {
    const id = req.headers['x-subject-token'];
    const payload = typeof id === 'string' ? s.deps.codec.decode(id) : null;
    return { target: { token: { user_id: payload?.userId ?? '' } } };
  };
  return [
    {
      method: 'POST', url: '/v3/auth/tokens', policy: 'public', schema: { body: authSchema }, status: 201,
      handler: async ({ req, reply, body }) => {
        const issue = await s.authenticator.authenticate(body as AuthBody);
        const t = await s.tokens.issue(issue);
        reply.header('x-subject-token', t.id);
        return tokenView(req, s, t, boolParam(req.query as Record<string, string>, 'nocatalog') !== true);
      },
    },
    {
      method: 'GET', url: '/v3/auth/tokens', policy: 'identity:validate_token', target: subjectTarget,
      handler: async ({ req, reply }) => {
        const t = await subject(req);
        reply.header('x-subject-token', t.id);
        return tokenView(req, s, t, boolParam(req.query as Record<string, string>, 'nocatalog') !== true);
      },
    },
    {
      method: 'HEAD', url: '/v3/auth/tokens', policy: 'identity:check_token', target: subjectTarget,
      handler: async ({ req, reply }) => {
        const t = await subject(req);
        reply.header('x-subject-token', t.id);
        return reply.code(200).send();
      },
    },
    {
      method: 'DELETE', url: '/v3/auth/tokens', policy: 'identity:revoke_token', target: subjectTarget,
      handler: async ({ req }) => {
        const t = await subject(req);
        await s.revocations.revoke({ auditId: t.payload.auditIds[0] });
      },
    },
    {
      method: 'GET', url: '/v3/auth/catalog', policy: 'authenticated',
      handler: async ({ req, auth }) => {
        if (!auth.projectId && !auth.domainId && !auth.system) throw notFound('An unscoped token has no catalog.');
        const t = await s.tokens.validate(auth.token);
        return { catalog: await s.tokens.catalogFor(t), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/auth/projects', policy: 'authenticated',
      handler: async ({ req, auth }) => {
        const ids = await s.assignments.projectsOfUser(auth.userId);
        const projects = (await s.projects.list({ ids, isDomain: false })).filter((p) => p.enabled);
        return { projects: projects.map((p) => projectView(req, p)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/auth/domains', policy: 'authenticated',
      handler: async ({ req, auth }) => {
        const ids = await s.assignments.domainsOfUser(auth.userId);
        const domains = (await s.projects.list({ ids, isDomain: true })).filter((d) => d.enabled);
        return { domains: domains.map((d) => domainView(req, d)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/auth/system', policy: 'authenticated',
      handler: async ({ req, auth }) => ({
        system: (await s.assignments.hasSystemRole(auth.userId)) ? [{ all: true }] : [],
        links: collectionLinks(req),
      }),
    },
  ];
};
