import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { baseUrl, MAX_VERSION, MIN_VERSION } from '../common.js';

const MEDIA = [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }];

const v21 = (ctx: RequestCtx, detail: boolean) => ({
  id: 'v2.1', status: 'CURRENT', version: MAX_VERSION, min_version: MIN_VERSION, updated: '2013-07-23T11:33:21Z',
  links: [{ rel: 'self', href: `${baseUrl(ctx)}/v2.1/` }, ...(detail ? [{ rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }] : [])],
  ...(detail ? { 'media-types': MEDIA } : {}),
});

/**
 * v2.0 is listed (clients and Tempest expect it first) and GET /v2 describes it, as Nova's
 * legacy-v2 endpoint does (the v2 API itself is not served: clients use v2.1).
 */
const v20 = (ctx: RequestCtx, detail: boolean) => ({
  id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z',
  links: [{ rel: 'self', href: `${baseUrl(ctx)}/v2/` }, ...(detail ? [{ rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }] : [])],
  ...(detail ? { 'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }] } : {}),
});

/** Version discovery: GET / lists v2.0 and v2.1, GET /v2 and GET /v2.1 describe each (the self links of the list are followable). */
export function versionRoutes(): Route[] {
  const one = (ctx: RequestCtx) => ({ version: v21(ctx, true) });
  return [
    { method: 'GET', url: '/', policy: 'public', handler: (ctx) => ({ versions: [v20(ctx, false), v21(ctx, false)] }) },
    { method: 'GET', url: '/v2', policy: 'public', handler: (ctx) => ({ version: v20(ctx, true) }) },
    { method: 'GET', url: '/v2.1', policy: 'public', handler: one },
  ];
}
