import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { baseUrl, MAX_VERSION, MIN_VERSION } from '../common.js';

const MEDIA = [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }];

const v21 = (ctx: RequestCtx, detail: boolean) => ({
  id: 'v2.1', status: 'CURRENT', version: MAX_VERSION, min_version: MIN_VERSION, updated: '2013-07-23T11:33:21Z',
  links: [{ rel: 'self', href: `${baseUrl(ctx)}/v2.1/` }, ...(detail ? [{ rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }] : [])],
  ...(detail ? { 'media-types': MEDIA } : {}),
});

/** v2.0 is listed (clients and Tempest expect it first) but served only as v2.1 is: Nova's legacy v2 is gone. */
const v20 = (ctx: RequestCtx) => ({
  id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z',
  links: [{ rel: 'self', href: `${baseUrl(ctx)}/v2/` }],
});

/** Version discovery: GET / lists v2.1 (v2.0 is not offered), GET /v2.1 describes it. */
export function versionRoutes(): Route[] {
  const one = (ctx: RequestCtx) => ({ version: v21(ctx, true) });
  return [
    { method: 'GET', url: '/', policy: 'public', handler: (ctx) => ({ versions: [v20(ctx), v21(ctx, false)] }) },
    { method: 'GET', url: '/v2.1', policy: 'public', handler: one },
  ];
}
