import { badRequest, notFound } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { ImageServices } from '../../service/index.js';
import { callerOf, jsonBody } from '../http.js';

/**
 * Glance v1 image members: a project added to an image sees it (v1 has no accept/reject; the
 * membership is the v2 one, whatever its status). can_share is always false: members never
 * share an image on.
 */
export function v1MemberRoutes(s: ImageServices): Route[] {
  return [
    {
      method: 'GET', url: '/v1/images/:image_id/members', policy: 'authenticated',
      handler: async (ctx) => ({
        members: (await s.members.list(callerOf(ctx), ctx.params.image_id)).map((m) => ({ member_id: m.member, can_share: false })),
      }),
    },
    {
      method: 'GET', url: '/v1/images/:image_id/members/:member_id', policy: 'authenticated',
      handler: async (ctx) => {
        const m = await s.members.get(callerOf(ctx), ctx.params.image_id, ctx.params.member_id);
        return { member: { member_id: m.member, can_share: false } };
      },
    },
    {
      method: 'PUT', url: '/v1/images/:image_id/members', policy: 'authenticated',
      handler: async (ctx) => {
        const body = await jsonBody(ctx);
        const list = (body as { memberships?: unknown } | undefined)?.memberships;
        if (!Array.isArray(list)) throw badRequest('Invalid membership association: expected {"memberships": [{"member_id": ...}]}');
        const ids = list.map((m) => {
          const id = (m as { member_id?: unknown } | null)?.member_id;
          if (typeof id !== 'string' || !id || id.length > 255) throw badRequest('Invalid membership association: each membership needs a member_id.');
          return id;
        });
        await s.members.replaceAll(callerOf(ctx), ctx.params.image_id, ids);
      },
    },
    {
      method: 'PUT', url: '/v1/images/:image_id/members/:member_id', policy: 'authenticated',
      handler: async (ctx) => {
        // The body ({"member": {"can_share": ...}}) is optional; can_share is not kept.
        await jsonBody(ctx);
        await s.members.share(callerOf(ctx), ctx.params.image_id, ctx.params.member_id);
      },
    },
    {
      method: 'DELETE', url: '/v1/images/:image_id/members/:member_id', policy: 'authenticated',
      handler: async (ctx) => { await s.members.remove(callerOf(ctx), ctx.params.image_id, ctx.params.member_id); },
    },
    {
      method: 'GET', url: '/v1/shared-images/:member_id', policy: 'authenticated',
      handler: async (ctx) => {
        if (!ctx.params.member_id) throw notFound('The resource could not be found.');
        return { shared_images: (await s.members.sharedWith(callerOf(ctx), ctx.params.member_id)).map((m) => ({ image_id: m.image_id, can_share: false })) };
      },
    },
  ];
}
