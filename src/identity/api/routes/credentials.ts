import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../../core/auth/context.js';
import { badRequest, forbidden, notFound } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { ec2View, type Credential } from '../../service/credentials.js';
import type { IdentityServices } from '../../service/index.js';
import { one } from '../query.js';
import { collectionLinks, v3 } from '../views.js';
import { splitExtra } from './schemas.js';

const CREDENTIAL_FIELDS = ['id', 'user_id', 'project_id', 'type', 'blob', 'links'];

const credentialProps = {
  blob: { type: 'string' },
  project_id: { type: 'string' },
  type: { type: 'string', minLength: 1, maxLength: 255 },
  user_id: { type: 'string', minLength: 1, maxLength: 64 },
};
const createBody = {
  type: 'object',
  required: ['credential'],
  properties: { credential: { type: 'object', required: ['blob', 'type', 'user_id'], properties: credentialProps } },
};
const updateBody = {
  type: 'object',
  required: ['credential'],
  properties: {
    credential: {
      type: 'object', minProperties: 1,
      properties: { ...credentialProps, project_id: { type: ['string', 'null'] } },
    },
  },
};
const ec2Body = {
  type: 'object',
  required: ['tenant_id'],
  properties: { tenant_id: { type: 'string', minLength: 1, maxLength: 64 } },
};

/** Keystone's primary (non-delegated) authentication methods. */
const PRIMARY_METHODS = ['external', 'kerberos', 'mapped', 'openid', 'password', 'saml2', 'token', 'totp', 'x509'];

const isDelegated = (auth: AuthContext) =>
  !!auth.trustId || auth.methods.length === 0 || auth.methods.some((m) => !PRIMARY_METHODS.includes(m));

/** Trust, application credential, OAuth1 and EC2 tokens cannot read or manage credentials. */
function requirePrimaryAuth(auth: AuthContext): void {
  if (isDelegated(auth)) throw forbidden('You are not authorized to perform the requested action: Delegated tokens cannot access credentials directly.');
}

export function credentialView(req: FastifyRequest, c: Credential) {
  return {
    ...c.extra,
    id: c.id, user_id: c.userId, project_id: c.projectId, type: c.type, blob: c.blob,
    links: { self: `${v3(req)}/credentials/${c.id}` },
  };
}

export function ec2CredentialView(req: FastifyRequest, c: Credential) {
  const v = ec2View(c);
  return { ...v, links: { self: `${v3(req)}/users/${c.userId}/credentials/OS-EC2/${v.access}` } };
}

const credTarget = (c?: Credential) => ({ target: { credential: c ? { id: c.id, user_id: c.userId, project_id: c.projectId, type: c.type } : {} } });

/** /v3/credentials and the EC2 credentials of a user (OS-EC2). */
export const credentialRoutes = (s: IdentityServices): Route[] => {
  const creds = s.credentials;
  /** A missing credential gives an empty target: non-owners learn nothing, the handler says 404. */
  const byId = async ({ params }: RequestCtx) => credTarget(await creds.find(params.credential_id));
  /** OS-EC2 by access key; a missing one is a 404 before policy, as in Keystone. */
  const byAccess = async ({ params }: RequestCtx) => {
    const c = await creds.findEc2(params.credential_id);
    if (!c) throw notFound(`Could not find credential: ${params.credential_id}.`);
    return credTarget(c);
  };
  const ownEc2 = async (userId: string, access: string) => {
    await s.users.get(userId);
    const c = await creds.findEc2(access);
    if (!c || c.userId !== userId) throw notFound(`Could not find credential: ${access}.`);
    return c;
  };
  const projectIfAny = async (projectId: string | null | undefined) => {
    if (projectId !== undefined && projectId !== null) await s.projects.getProject(projectId);
  };

  return [
    {
      method: 'POST', url: '/v3/credentials', policy: 'identity:create_credential', schema: { body: createBody }, status: 201,
      target: ({ body }) => ({ target: { credential: body.credential } }),
      handler: async ({ req, body, auth }) => {
        requirePrimaryAuth(auth);
        const c = body.credential;
        await s.users.get(c.user_id);
        await projectIfAny(c.project_id);
        const created = await creds.create({ userId: c.user_id, projectId: c.project_id, type: c.type, blob: c.blob, extra: splitExtra(c, CREDENTIAL_FIELDS) });
        return { credential: credentialView(req, created) };
      },
    },
    {
      method: 'GET', url: '/v3/credentials', policy: 'identity:list_credentials',
      target: ({ auth }) => (auth.system ? {} : { target: { credential: { user_id: auth.userId } } }),
      handler: async ({ req, query, auth, allowed }) => {
        // Each credential is shown only to who may read it (owners, admins, system readers).
        const list = isDelegated(auth) ? [] : (await creds.list({ userId: one(query, 'user_id'), type: one(query, 'type') }))
          .filter((c) => allowed('identity:get_credential', credTarget(c)));
        return { credentials: list.map((c) => credentialView(req, c)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/credentials/:credential_id', policy: 'identity:get_credential', target: byId,
      handler: async ({ req, params, auth }) => {
        requirePrimaryAuth(auth);
        return { credential: credentialView(req, await creds.get(params.credential_id)) };
      },
    },
    {
      method: 'PATCH', url: '/v3/credentials/:credential_id', policy: 'identity:update_credential', schema: { body: updateBody }, target: byId,
      handler: async ({ req, params, body, auth, enforce }) => {
        requirePrimaryAuth(auth);
        const cur = await creds.get(params.credential_id);
        const c = body.credential;
        if (c.id !== undefined && c.id !== cur.id) throw badRequest('Cannot change ID');
        // Judged again as it would be after the change: nobody hands a credential to a user they could not create it for.
        enforce('identity:update_credential', credTarget({ ...cur, userId: c.user_id ?? cur.userId, projectId: c.project_id !== undefined ? c.project_id : cur.projectId }));
        if (c.user_id !== undefined && c.user_id !== cur.userId) await s.users.get(c.user_id);
        await projectIfAny(c.project_id);
        const extra = splitExtra(c, CREDENTIAL_FIELDS);
        const updated = await creds.update(cur.id, { blob: c.blob, type: c.type, projectId: c.project_id, userId: c.user_id, extra });
        return { credential: credentialView(req, updated) };
      },
    },
    {
      method: 'DELETE', url: '/v3/credentials/:credential_id', policy: 'identity:delete_credential', target: byId,
      handler: async ({ params, auth }) => {
        requirePrimaryAuth(auth);
        await creds.delete(params.credential_id);
      },
    },

    // --- OS-EC2
    {
      method: 'POST', url: '/v3/users/:user_id/credentials/OS-EC2', policy: 'identity:ec2_create_credential', schema: { body: ec2Body }, status: 201,
      target: ({ params }) => ({ target: { credential: { user_id: params.user_id } } }),
      handler: async ({ req, params, body, auth }) => {
        requirePrimaryAuth(auth);
        await s.users.get(params.user_id);
        await s.projects.getProject(body.tenant_id);
        const c = await creds.createEc2(params.user_id, body.tenant_id);
        return { credential: ec2CredentialView(req, c) };
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id/credentials/OS-EC2', policy: 'identity:ec2_list_credentials',
      target: ({ params }) => ({ target: { credential: { user_id: params.user_id } } }),
      handler: async ({ req, params, auth }) => {
        requirePrimaryAuth(auth);
        await s.users.get(params.user_id);
        const list = await creds.listEc2(params.user_id);
        return { credentials: list.map((c) => ec2CredentialView(req, c)), links: collectionLinks(req) };
      },
    },
    {
      method: 'GET', url: '/v3/users/:user_id/credentials/OS-EC2/:credential_id', policy: 'identity:ec2_get_credential', target: byAccess,
      handler: async ({ req, params, auth }) => {
        requirePrimaryAuth(auth);
        return { credential: ec2CredentialView(req, await ownEc2(params.user_id, params.credential_id)) };
      },
    },
    {
      method: 'DELETE', url: '/v3/users/:user_id/credentials/OS-EC2/:credential_id', policy: 'identity:ec2_delete_credential', target: byAccess,
      handler: async ({ params, auth }) => {
        requirePrimaryAuth(auth);
        const c = await ownEc2(params.user_id, params.credential_id);
        await creds.delete(c.id);
      },
    },
  ];
};
