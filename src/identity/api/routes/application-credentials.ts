import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../../core/auth/context.js';
import { forbidden, notFound } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { renderExpiry, type AccessRule, type AppCred } from '../../service/application-credentials.js';
import type { IdentityServices } from '../../service/index.js';
import { one } from '../query.js';
import { collectionLinks, v3 } from '../views.js';

const idString = { type: 'string', minLength: 1, maxLength: 64 };
const appCredBody = {
  type: 'object',
  required: ['application_credential'],
  properties: {
    application_credential: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 255, pattern: '\\S' },
        description: { type: ['string', 'null'] },
        secret: { type: ['string', 'null'] },
        expires_at: { type: ['string', 'null'] },
        unrestricted: { type: 'boolean' },
        roles: {
          type: 'array',
          items: {
            type: 'object',
            properties: { id: idString, name: { type: 'string', minLength: 1, maxLength: 255 } },
            minProperties: 1, maxProperties: 1, additionalProperties: false,
          },
        },
        access_rules: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              // The column holds 128 characters (Keystone's schema says 225 but its column 128).
              path: { type: 'string', maxLength: 128, pattern: '^/' },
              method: { type: 'string', pattern: '^(POST|GET|HEAD|PATCH|PUT|DELETE)$' },
              service: idString,
              id: idString,
            },
            additionalProperties: false,
          },
        },
      },
    },
  },
};

/** Keystone's primary (non-delegated) authentication methods. */
const PRIMARY_METHODS = ['external', 'kerberos', 'mapped', 'openid', 'password', 'saml2', 'token', 'totp', 'x509'];

/** Trust, OAuth1 and EC2 tokens may not touch application credentials (app-cred tokens are judged apart). */
function blockDelegated(auth: AuthContext): void {
  if (auth.methods.includes('application_credential')) return;
  if (auth.trustId || auth.methods.length === 0 || auth.methods.some((m) => !PRIMARY_METHODS.includes(m))) {
    throw forbidden('Cannot manage application credentials with a token issued via delegation.');
  }
}

export function appCredView(req: FastifyRequest, c: AppCred, secret?: string) {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    user_id: c.userId,
    project_id: c.projectId,
    system: c.system,
    expires_at: renderExpiry(c.expiresAt),
    unrestricted: c.unrestricted,
    roles: c.roles.map((r) => ({ id: r.id, name: r.name, domain_id: r.domainId })),
    ...(c.accessRules.length ? { access_rules: c.accessRules.map(({ id, service, path, method }) => ({ id, service, path, method })) } : {}),
    ...(secret !== undefined ? { secret } : {}),
    links: { self: `${v3(req)}/users/${c.userId}/application_credentials/${c.id}` },
  };
}

export function accessRuleView(req: FastifyRequest, userId: string, r: AccessRule) {
  return { id: r.id, service: r.service, path: r.path, method: r.method, links: { self: `${v3(req)}/users/${userId}/access_rules/${r.id}` } };
}

/** Application credentials and their access rules, under /v3/users/{user_id}. */
export const applicationCredentialRoutes = (s: IdentityServices): Route[] => {
  const appCreds = s.appCreds;

  /** An app-cred token manages other credentials only when it is unrestricted (Keystone). */
  const checkUnrestricted = async (auth: AuthContext) => {
    if (!auth.applicationCredentialId) return;
    const ac = await appCreds.find(auth.applicationCredentialId);
    if (!ac || !ac.unrestricted) {
      throw forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.");
    }
  };

  /**
   * The owner judged by policy is the credential's, not the path's (Keystone closes the same
   * loophole); a missing credential falls back to the path so the handler answers 404.
   */
  const appCredTarget = async ({ params }: RequestCtx) => {
    const found = await appCreds.get(params.application_credential_id).catch(() => undefined);
    const userId = found?.userId ?? params.user_id;
    return { user_id: userId, target: { user: { id: userId }, application_credential: found ? { id: found.id, user_id: found.userId } : {} } };
  };
  const userTarget = ({ params }: RequestCtx) => ({ user_id: params.user_id, target: { user: { id: params.user_id } } });

  /** The credential at this path: another user's is as good as absent. */
  const ownCred = async (userId: string, id: string) => {
    const c = await appCreds.get(id);
    if (c.userId !== userId) throw notFound(`Could not find Application Credential: ${id}.`);
    return c;
  };

  return [
    {
      method: 'POST', url: '/v3/users/:user_id/application_credentials', policy: 'identity:create_application_credential',
      schema: { body: appCredBody }, target: userTarget, status: 201,
      handler: async ({ req, params, body, auth }) => {
        blockDelegated(auth);
        await checkUnrestricted(auth);
        if (auth.userId !== params.user_id) throw forbidden('You are not authorized to perform the requested action: Cannot create an application credential for another user.');
        if (!auth.projectId) throw forbidden('You are not authorized to perform the requested action: an application credential is created with a project-scoped token.');
        const a = body.application_credential;
        const { cred, secret } = await appCreds.create({
          userId: params.user_id, projectId: auth.projectId, name: a.name, description: a.description, secret: a.secret,
          expiresAt: a.expires_at, unrestricted: a.unrestricted, roles: a.roles, accessRules: a.access_rules,
          tokenRoleIds: auth.roles.map((r) => r.id),
        });
        return { application_credential: appCredView(req, cred, secret) };
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id/application_credentials', policy: 'identity:list_application_credentials', target: userTarget,
      handler: async ({ req, params, query, auth }) => {
        blockDelegated(auth);
        await s.users.get(params.user_id);
        const list = await appCreds.list(params.user_id, { name: one(query, 'name') });
        return { application_credentials: list.map((c) => appCredView(req, c)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id/application_credentials/:application_credential_id', policy: 'identity:get_application_credential',
      target: appCredTarget,
      handler: async ({ req, params, auth }) => {
        blockDelegated(auth);
        return { application_credential: appCredView(req, await ownCred(params.user_id, params.application_credential_id)) };
      },
    },
    {
      method: 'DELETE', url: '/v3/users/:user_id/application_credentials/:application_credential_id', policy: 'identity:delete_application_credential',
      target: appCredTarget,
      handler: async ({ params, auth }) => {
        blockDelegated(auth);
        await checkUnrestricted(auth);
        const c = await ownCred(params.user_id, params.application_credential_id);
        await appCreds.delete(c.id);
      },
    },

    // --- access rules
    {
      method: 'GET', url: '/v3/users/:user_id/access_rules', policy: 'identity:list_access_rules', target: userTarget,
      handler: async ({ req, params, query, auth }) => {
        blockDelegated(auth);
        await s.users.get(params.user_id);
        const list = await appCreds.listAccessRules(params.user_id, { service: one(query, 'service'), path: one(query, 'path'), method: one(query, 'method') });
        return { access_rules: list.map((r) => accessRuleView(req, params.user_id, r)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id/access_rules/:access_rule_id', policy: 'identity:get_access_rule', target: userTarget,
      handler: async ({ req, params, auth }) => {
        blockDelegated(auth);
        return { access_rule: accessRuleView(req, params.user_id, await appCreds.getAccessRule(params.user_id, params.access_rule_id)) };
      },
    },
    {
      method: 'DELETE', url: '/v3/users/:user_id/access_rules/:access_rule_id', policy: 'identity:delete_access_rule', target: userTarget,
      handler: async ({ params, auth }) => {
        blockDelegated(auth);
        await appCreds.deleteAccessRule(params.user_id, params.access_rule_id);
      },
    },
  ];
};
