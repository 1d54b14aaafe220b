import type { FastifyRequest } from 'fastify';
import { forbidden, notFound } from '../../../core/errors.js';
import type { AuthContext } from '../../../core/auth/context.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import type { Role } from '../../service/roles.js';
import { trustTime, type Trust } from '../../service/trusts.js';
import { one } from '../query.js';
import { collectionLinks, roleView, v3 } from '../views.js';
import { bool, splitExtra, wrap } from './schemas.js';

const TRUST_FIELDS = [
  'id', 'trustor_user_id', 'trustee_user_id', 'impersonation', 'project_id', 'remaining_uses', 'expires_at',
  'allow_redelegation', 'redelegation_count', 'redelegated_trust_id', 'roles', 'roles_links', 'links', 'deleted_at',
];

const userIdString = { type: 'string', minLength: 1, maxLength: 255 };
const roleRef = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, name: { type: 'string', minLength: 1, maxLength: 255 } },
  minProperties: 1, maxProperties: 1, additionalProperties: false,
};
const trustBody = wrap('trust', {
  required: ['trustor_user_id', 'trustee_user_id', 'impersonation'],
  properties: {
    trustor_user_id: userIdString,
    trustee_user_id: userIdString,
    impersonation: bool,
    project_id: { type: ['string', 'null'], minLength: 1, maxLength: 64 },
    remaining_uses: { type: ['integer', 'null'], minimum: 1 },
    expires_at: { type: ['string', 'null'] },
    allow_redelegation: { type: ['boolean', 'null'] },
    redelegation_count: { type: ['integer', 'null'], minimum: 0 },
    roles: { type: 'array', items: roleRef },
  },
});

/** Keystone's primary (non-delegated) authentication methods. */
const PRIMARY_METHODS = ['external', 'kerberos', 'mapped', 'openid', 'password', 'saml2', 'token', 'totp', 'x509'];

/** Application credential, OAuth1 and EC2 tokens may not read or manage trusts (Keystone's _check_delegated_token). */
function checkNotDelegated(auth: AuthContext): void {
  if (auth.methods.length === 0 || auth.methods.some((m) => !PRIMARY_METHODS.includes(m))) {
    throw forbidden('You are not authorized to perform the requested action: Delegated tokens cannot manage trusts.');
  }
}

const trustLink = (req: FastifyRequest, id: string) => `${v3(req)}/OS-TRUST/trusts/${id}`;

/** A trust as Keystone shows it; `roles` only in the detailed (create/show) form. */
export function trustView(req: FastifyRequest, t: Trust, roles?: Role[]) {
  const view: Record<string, unknown> = {
    ...t.extra,
    id: t.id,
    trustor_user_id: t.trustorUserId,
    trustee_user_id: t.trusteeUserId,
    project_id: t.projectId,
    impersonation: t.impersonation,
    expires_at: trustTime(t.expiresAt),
    remaining_uses: t.remainingUses,
    redelegated_trust_id: t.redelegatedTrustId,
    redelegation_count: t.redelegationCount,
    deleted_at: t.deletedAt,
    links: { self: trustLink(req, t.id) },
  };
  if (roles) {
    view.roles = roles.map((r) => roleView(req, r));
    view.roles_links = { self: `${trustLink(req, t.id)}/roles`, previous: null, next: null };
  }
  return view;
}

/** OS-TRUST: create, list, show and delete trusts, and the roles they delegate. */
export const trustRoutes = (s: IdentityServices): Route[] => {
  const trusts = s.trusts;
  /** Loads the trust first so a missing one is a 404 before policy (Keystone lp#1840288). */
  const trustTarget = async ({ params }: RequestCtx) => {
    const t = await trusts.get(params.trust_id);
    return { target: { trust: { id: t.id, trustor_user_id: t.trustorUserId, trustee_user_id: t.trusteeUserId, project_id: t.projectId } } };
  };
  const rolesOf = async (t: Trust) => (await s.roles.byIds(t.roleIds)).sort((a, b) => t.roleIds.indexOf(a.id) - t.roleIds.indexOf(b.id));

  return [
    {
      method: 'POST', url: '/v3/OS-TRUST/trusts', policy: 'identity:create_trust', schema: { body: trustBody }, status: 201,
      target: ({ body }) => ({ target: { trust: body.trust } }),
      handler: async ({ req, body, auth }) => {
        checkNotDelegated(auth);
        const b = body.trust;
        if (auth.userId !== b.trustor_user_id) throw forbidden('You are not authorized to perform the requested action: The authenticated user should match the trustor.');
        const created = await trusts.create({
          trustorUserId: b.trustor_user_id,
          trusteeUserId: b.trustee_user_id,
          impersonation: b.impersonation,
          projectId: b.project_id,
          roles: b.roles,
          expiresAt: b.expires_at,
          remainingUses: b.remaining_uses,
          allowRedelegation: b.allow_redelegation,
          redelegationCount: b.redelegation_count,
          extra: splitExtra(b, TRUST_FIELDS),
        }, auth.trustId);
        return { trust: trustView(req, created, await rolesOf(created)) };
      },
    },
    {
      method: 'GET', url: '/v3/OS-TRUST/trusts', policy: 'authenticated',
      handler: async (ctx) => {
        const trustor = one(ctx.query, 'trustor_user_id');
        const trustee = one(ctx.query, 'trustee_user_id');
        if (trustor) ctx.enforce('identity:list_trusts_for_trustor', { target: { trust: { trustor_user_id: trustor } } });
        else if (trustee) ctx.enforce('identity:list_trusts_for_trustee', { target: { trust: { trustee_user_id: trustee } } });
        else ctx.enforce('identity:list_trusts', {});
        checkNotDelegated(ctx.auth);
        const list = await trusts.list(trustor ? { trustorUserId: trustor } : trustee ? { trusteeUserId: trustee } : {});
        return { trusts: list.map((t) => trustView(ctx.req, t)), links: collectionLinks(ctx.req) };
      },
    },
    {
      method: 'GET', url: '/v3/OS-TRUST/trusts/:trust_id', policy: 'identity:get_trust', target: trustTarget,
      handler: async ({ req, params, auth }) => {
        checkNotDelegated(auth);
        const t = await trusts.get(params.trust_id);
        return { trust: trustView(req, t, await rolesOf(t)) };
      },
    },
    {
      method: 'DELETE', url: '/v3/OS-TRUST/trusts/:trust_id', policy: 'identity:delete_trust', target: trustTarget,
      handler: async ({ params, auth }) => {
        checkNotDelegated(auth);
        await trusts.delete(params.trust_id);
      },
    },
    {
      method: 'GET', url: '/v3/OS-TRUST/trusts/:trust_id/roles', policy: 'identity:list_roles_for_trust', target: trustTarget,
      handler: async ({ req, params, auth }) => {
        checkNotDelegated(auth);
        const t = await trusts.get(params.trust_id);
        return {
          roles: (await rolesOf(t)).map((r) => roleView(req, r)),
          links: { self: `${trustLink(req, t.id)}/roles`, previous: null, next: null },
        };
      },
    },
    {
      method: 'GET', url: '/v3/OS-TRUST/trusts/:trust_id/roles/:role_id', policy: 'identity:get_role_for_trust', target: trustTarget,
      handler: async ({ req, params, auth }) => {
        checkNotDelegated(auth);
        const t = await trusts.get(params.trust_id);
        if (!t.roleIds.includes(params.role_id)) throw notFound(`Could not find role: ${params.role_id}.`);
        return { role: roleView(req, await s.roles.get(params.role_id)) };
      },
    },
  ];
};
