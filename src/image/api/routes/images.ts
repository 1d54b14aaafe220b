import { HttpError, badRequest } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { ImageServices } from '../../service/index.js';
import { parsePatch } from '../../service/patch.js';
import { callerOf, jsonBody } from '../http.js';
import { parseListQuery } from '../list-query.js';
import { imageView } from '../views.js';
import { baseUrl } from './discovery.js';

/** Images: list, create, show, update (JSON patch), delete, (de|re)activate, tags. */
export function imageRoutes(s: ImageServices, importMethods: () => string[]): Route[] {
  const id = (ctx: { params: Record<string, string> }) => ctx.params.image_id;
  return [
    {
      method: 'GET', url: '/v2/images', policy: 'get_images',
      target: (ctx) => ({ project_id: ctx.auth.projectId ?? null }),
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const { markerId, ...q } = parseListQuery(ctx.query);
        let marker;
        if (markerId !== undefined) {
          marker = await s.images.get(caller, markerId).catch((e) => {
            if (e instanceof HttpError && e.status === 404) throw badRequest(`Invalid marker. Image ${markerId} could not be found.`);
            throw e;
          });
        }
        const images = await s.images.list(caller, { ...q, marker });
        const params = new URLSearchParams(ctx.req.url.split('?')[1] ?? '');
        params.delete('marker');
        const query = params.toString();
        const body: Record<string, unknown> = {
          images: images.map(imageView),
          first: query ? `/v2/images?${query}` : '/v2/images',
          schema: '/v2/schemas/images',
        };
        if (images.length && images.length === q.limit) {
          params.set('marker', images[images.length - 1].id);
          body.next = `/v2/images?${params.toString()}`;
        }
        return body;
      },
    },
    {
      method: 'POST', url: '/v2/images', policy: 'authenticated', status: 201,
      handler: async (ctx) => {
        const image = await s.images.create(callerOf(ctx), await jsonBody(ctx));
        ctx.reply.header('location', `${baseUrl(ctx.req)}/v2/images/${image.id}`);
        ctx.reply.header('openstack-image-import-methods', importMethods().join(','));
        ctx.reply.header('openstack-image-store-ids', s.deps.stores.data.id);
        return imageView(image);
      },
    },
    {
      method: 'GET', url: '/v2/images/:image_id', policy: 'authenticated',
      handler: async (ctx) => imageView(await s.images.get(callerOf(ctx), id(ctx))),
    },
    {
      method: 'PATCH', url: '/v2/images/:image_id', policy: 'authenticated',
      handler: async (ctx) => {
        const changes = parsePatch(ctx.req.headers['content-type'], await jsonBody(ctx));
        return imageView(await s.images.update(callerOf(ctx), id(ctx), changes));
      },
    },
    {
      method: 'DELETE', url: '/v2/images/:image_id', policy: 'authenticated',
      handler: async (ctx) => { await s.images.delete(callerOf(ctx), id(ctx)); },
    },
    {
      method: 'POST', url: '/v2/images/:image_id/actions/deactivate', policy: 'authenticated',
      handler: async (ctx) => { await s.images.deactivate(callerOf(ctx), id(ctx)); },
    },
    {
      method: 'POST', url: '/v2/images/:image_id/actions/reactivate', policy: 'authenticated',
      handler: async (ctx) => { await s.images.reactivate(callerOf(ctx), id(ctx)); },
    },
    {
      method: 'PUT', url: '/v2/images/:image_id/tags/:tag_value', policy: 'authenticated',
      handler: async (ctx) => { await s.images.addTag(callerOf(ctx), id(ctx), ctx.params.tag_value); },
    },
    {
      method: 'DELETE', url: '/v2/images/:image_id/tags/:tag_value', policy: 'authenticated',
      handler: async (ctx) => { await s.images.removeTag(callerOf(ctx), id(ctx), ctx.params.tag_value); },
    },
  ];
}
