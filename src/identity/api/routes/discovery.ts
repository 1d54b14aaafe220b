import type { FastifyRequest } from 'fastify';
import type { Route } from '../../../core/http/routes.js';
import { baseUrl } from '../views.js';

const version = (req: FastifyRequest) => ({
  id: 'v3.14',
  status: 'stable',
  updated: '2020-04-07T00:00:00Z',
  links: [{ rel: 'self', href: `${baseUrl(req)}/v3/` }],
  'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
});

/** Version discovery: GET / (300 Multiple Choices) and GET /v3. */
export const discoveryRoutes = (): Route[] => [
  { method: 'GET', url: '/', policy: 'public', status: 300, handler: ({ req }) => ({ versions: { values: [version(req)] } }) },
  { method: 'GET', url: '/v3', policy: 'public', handler: ({ req }) => ({ version: version(req) }) },
];
