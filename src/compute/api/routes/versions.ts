import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { baseUrl, MAX_VERSION, MIN_VERSION } from '../common.js';

const MEDIA = [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }];

const v21 = (ctx: RequestCtx, detail: boolean) => ({
  id: 'v2.1', status: 'CURRENT', version: MAX_VERSION, min_version: MIN_VERSION, updated: '2013-07-23T11:33:21Z',
  links: [{ rel: 'self', href: `${baseUrl(ctx)}/v2.1/` }, ...(detail ? [{ rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }] : [])],
  ...(detail ? { 'media-types': MEDIA } : {}),
});

/** Version discovery: GET / lists v2.1 (v2.0 is not offered), GET /v2.1 describes it. */
export function versionRoutes(): Route[] {
  const one = (ctx: RequestCtx) => ({ version: v21(ctx, true) });
  return [
    { method: 'GET', url: '/', policy: 'public', handler: (ctx) => ({ versions: [v21(ctx, false)] }) },
    { method: 'GET', url: '/v2.1', policy: 'public', handler: one },
  ];
}
