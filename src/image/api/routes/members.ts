import type { Route } from '../../../core/http/routes.js';
import type { ImageServices } from '../../service/index.js';
import { callerOf, jsonBody } from '../http.js';
import { memberView } from '../views.js';

/** Image members: the owner shares a 'shared' image, the member accepts or rejects it. */
export function memberRoutes(s: ImageServices): Route[] {
  return [
    {
      method: 'GET', url: '/v2/images/:image_id/members', policy: 'authenticated',
      handler: async (ctx) => ({
        members: (await s.members.list(callerOf(ctx), ctx.params.image_id)).map(memberView),
        schema: '/v2/schemas/members',
      }),
    },
    {
      method: 'POST', url: '/v2/images/:image_id/members', policy: 'authenticated',
      handler: async (ctx) => memberView(await s.members.add(callerOf(ctx), ctx.params.image_id, await jsonBody(ctx))),
    },
    {
      method: 'GET', url: '/v2/images/:image_id/members/:member_id', policy: 'authenticated',
      handler: async (ctx) => memberView(await s.members.get(callerOf(ctx), ctx.params.image_id, ctx.params.member_id)),
    },
    {
      method: 'PUT', url: '/v2/images/:image_id/members/:member_id', policy: 'authenticated',
      handler: async (ctx) => memberView(await s.members.update(callerOf(ctx), ctx.params.image_id, ctx.params.member_id, await jsonBody(ctx))),
    },
    {
      method: 'DELETE', url: '/v2/images/:image_id/members/:member_id', policy: 'authenticated',
      handler: async (ctx) => { await s.members.remove(callerOf(ctx), ctx.params.image_id, ctx.params.member_id); },
    },
  ];
}
