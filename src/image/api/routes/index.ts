import type { HTTPMethods } from 'fastify';
import { HttpError, notFound } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { ImageServices } from '../../service/index.js';
import { dataRoutes } from './data.js';
import { discoveryRoutes, VERSION_PREFIXES, versionsBody } from './discovery.js';
import { imageRoutes } from './images.js';
import { memberRoutes } from './members.js';
import { metadefRoutes } from './metadefs.js';
import { v1ImageRoutes } from './v1-images.js';
import { v1MemberRoutes } from './v1-members.js';

/**
 * The image API's route table. Per-image routes say 'authenticated': the service enforces
 * Glance's rule for each (get_image, modify_image, upload_image, add_member, ...) once it
 * knows the image, because Glance answers 404, not 403, for images a caller cannot see.
 */
export function imageApiRoutes(s: ImageServices): Route[] {
  const methods = () => s.imports.methods();
  const routes = [...discoveryRoutes(s, methods), ...imageRoutes(s, methods), ...dataRoutes(s), ...memberRoutes(s), ...metadefRoutes(s),
    ...v1ImageRoutes(s), ...v1MemberRoutes(s)];
  return [...routes, fallbackRoute(routes)];
}

const ALL: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * What no route matched: a path outside /v1 and /v2 gets the version list (300, as Glance's version
 * negotiation), a known path with another method 405 with Allow, anything else 404.
 */
function fallbackRoute(routes: Route[]): Route {
  const patterns = routes.map((r) => ({
    re: new RegExp(`^${r.url.replace(/:[a-z_]+/g, '[^/]+').replace(/\*$/, '.*')}$`),
    methods: (Array.isArray(r.method) ? r.method : [r.method]) as string[],
  }));
  return {
    method: ALL, url: '/*', policy: 'public',
    handler: (ctx) => {
      const path = ctx.req.url.split('?')[0];
      const first = path.split('/')[1] ?? '';
      if (!VERSION_PREFIXES.has(first)) return ctx.reply.code(300).send(versionsBody(ctx.req));
      const allowed = [...new Set(patterns.filter((p) => p.re.test(path)).flatMap((p) => p.methods))];
      if (allowed.length) throw new HttpError(405, 'The method is not allowed for this resource.', 'Method Not Allowed', { Allow: allowed.join(', ') });
      throw notFound('The resource could not be found.');
    },
  };
}
