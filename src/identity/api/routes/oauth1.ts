import type { FastifyRequest } from 'fastify';
import { badRequest } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import type { Consumer } from '../../service/oauth1.js';
import { collectionLinks, v3 } from '../views.js';
import { nullableString, splitExtra } from './schemas.js';

const CONSUMER_FIELDS = ['id', 'description', 'secret', 'links'];

const consumerInner = { type: 'object', properties: { description: nullableString } };
const createBody = { type: 'object', properties: { consumer: consumerInner } };
const updateBody = {
  type: 'object',
  required: ['consumer'],
  properties: { consumer: { ...consumerInner, minProperties: 1 } },
};

/** Keystone's _normalize_dict: extra attribute names with ':' or '-' become '_'. */
const normalize = (d: Record<string, unknown>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k.replace(/[:-]/g, '_'), v]));

export function consumerView(req: FastifyRequest, c: Consumer, secret?: string) {
  return {
    ...c.extra, id: c.id, description: c.description, ...(secret !== undefined ? { secret } : {}),
    links: { self: `${v3(req)}/OS-OAUTH1/consumers/${c.id}` },
  };
}

/** OS-OAUTH1 consumers (the request/access token flows are not offered). */
export const oauth1Routes = (s: IdentityServices): Route[] => [
  {
    method: 'POST', url: '/v3/OS-OAUTH1/consumers', policy: 'identity:create_consumer', schema: { body: createBody }, status: 201,
    handler: async ({ req, body }) => {
      const c = normalize(body?.consumer ?? {});
      const created = await s.oauth1.create({ description: c.description as string | null | undefined, extra: splitExtra(c, CONSUMER_FIELDS) });
      return { consumer: consumerView(req, created, created.secret) };
    },
  },
  {
    method: 'GET', url: '/v3/OS-OAUTH1/consumers', policy: 'identity:list_consumers',
    handler: async ({ req }) => ({ consumers: (await s.oauth1.list()).map((c) => consumerView(req, c)), links: collectionLinks(req) }),
  },
  {
    method: 'GET', url: '/v3/OS-OAUTH1/consumers/:consumer_id', policy: 'identity:get_consumer',
    handler: async ({ req, params }) => ({ consumer: consumerView(req, await s.oauth1.get(params.consumer_id)) }),
  },
  {
    method: 'PATCH', url: '/v3/OS-OAUTH1/consumers/:consumer_id', policy: 'identity:update_consumer', schema: { body: updateBody },
    handler: async ({ req, params, body }) => {
      const c = body.consumer as Record<string, unknown>;
      if ('secret' in c) throw badRequest("Invalid input for field 'consumer': the secret of a consumer cannot be changed.");
      if (c.id !== undefined && c.id !== null && c.id !== params.consumer_id) throw badRequest('Cannot change ID');
      const n = normalize(c);
      const extra = splitExtra(n, CONSUMER_FIELDS);
      const updated = await s.oauth1.update(params.consumer_id, {
        description: n.description as string | null | undefined, extra: Object.keys(extra).length ? extra : undefined,
      });
      return { consumer: consumerView(req, updated) };
    },
  },
  {
    method: 'DELETE', url: '/v3/OS-OAUTH1/consumers/:consumer_id', policy: 'identity:delete_consumer',
    handler: async ({ params }) => { await s.oauth1.delete(params.consumer_id); },
  },
];
