import type { FastifyRequest } from 'fastify';
import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import type { Policy } from '../../service/policies.js';
import { one } from '../query.js';
import { collectionLinks, v3 } from '../views.js';
import { splitExtra } from './schemas.js';

const POLICY_FIELDS = ['id', 'type', 'blob', 'links'];
const properties = { blob: { type: 'string' }, type: { type: 'string', maxLength: 255 } };
const createBody = { type: 'object', required: ['policy'], properties: { policy: { type: 'object', required: ['blob', 'type'], properties } } };
const updateBody = { type: 'object', required: ['policy'], properties: { policy: { type: 'object', minProperties: 1, properties } } };

export function policyView(req: FastifyRequest, p: Policy) {
  return { ...p.extra, id: p.id, type: p.type, blob: p.blob, links: { self: `${v3(req)}/policies/${p.id}` } };
}

/** /v3/policies: opaque policy blobs (deprecated in Keystone, still served). */
export const policyRoutes = (s: IdentityServices): Route[] => [
  {
    method: 'POST', url: '/v3/policies', policy: 'identity:create_policy', schema: { body: createBody }, status: 201,
    handler: async ({ req, body }) => {
      const p = body.policy;
      return { policy: policyView(req, await s.policies.create({ type: p.type, blob: p.blob, extra: splitExtra(p, POLICY_FIELDS) })) };
    },
  },
  {
    method: 'GET', url: '/v3/policies', policy: 'identity:list_policies',
    handler: async ({ req, query }) => ({
      policies: (await s.policies.list({ type: one(query, 'type') })).map((p) => policyView(req, p)),
      links: collectionLinks(req),
    }),
  },
  {
    method: 'GET', url: '/v3/policies/:policy_id', policy: 'identity:get_policy',
    handler: async ({ req, params }) => ({ policy: policyView(req, await s.policies.get(params.policy_id)) }),
  },
  {
    method: 'PATCH', url: '/v3/policies/:policy_id', policy: 'identity:update_policy', schema: { body: updateBody },
    handler: async ({ req, params, body }) => {
      const p = body.policy;
      const extra = splitExtra(p, POLICY_FIELDS);
      return {
        policy: policyView(req, await s.policies.update(params.policy_id, {
          id: p.id, type: p.type, blob: p.blob, extra: Object.keys(extra).length ? extra : undefined,
        })),
      };
    },
  },
  {
    method: 'DELETE', url: '/v3/policies/:policy_id', policy: 'identity:delete_policy',
    handler: async ({ params }) => { await s.policies.delete(params.policy_id); },
  },
];
