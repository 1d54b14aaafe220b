import { badRequest } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { TransferRow } from '../../db/schema.js';
import type { VolumeContext } from '../../service/context.js';
import { acceptTransfer, createTransfer, deleteTransfer, getTransfer, listTransfers } from '../../service/transfers.js';
import { baseUrl, callerOf, cinderTime, isObj, member, optString, q1 } from '../common.js';

export const transfersPolicy: Record<string, string> = {
  'volume:create_transfer': 'rule:project_member_or_admin',
  'volume:accept_transfer': 'rule:project_member_or_admin',
  'volume:get_transfer': 'rule:project_reader_or_admin',
  'volume:delete_transfer': 'rule:project_member_or_admin',
};

/** os-volume-transfer (and volume-transfers, 3.55): give a volume to another project with a key. */
export function transfersRoutes(c: VolumeContext): Route[] {
  const own = (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' });
  const links = (ctx: RequestCtx, id: string) => [
    { rel: 'self', href: `${baseUrl(ctx)}/v3/${ctx.auth.projectId}/os-volume-transfer/${id}` }, { rel: 'bookmark', href: `${baseUrl(ctx)}/${ctx.auth.projectId}/os-volume-transfer/${id}` },
  ];
  const view = (ctx: RequestCtx, t: TransferRow, detail = true) => ({
    id: t.id, name: t.name, volume_id: t.volume_id, links: links(ctx, t.id), ...(detail ? { created_at: cinderTime(t.created_at) } : {}),
  });
  const routes: Route[] = [];
  for (const base of ['/v3/:project_id/os-volume-transfer', '/v3/:project_id/volume-transfers']) {
    routes.push(
      { method: 'POST', url: base, policy: 'volume:create_transfer', target: own, status: 202, handler: async (ctx) => {
        const t = member(ctx.body, 'transfer');
        if (typeof t.volume_id !== 'string') throw badRequest("Invalid input received: 'volume_id' is a required property");
        const { row, authKey } = await createTransfer(c, callerOf(ctx), t.volume_id, optString(t.name, 'name') ?? null);
        return { transfer: { ...view(ctx, row), auth_key: authKey } };
      } },
      { method: 'GET', url: base, policy: 'volume:get_transfer', target: own, handler: async (ctx) => ({ transfers: (await listTransfers(c, callerOf(ctx), !!q1(ctx, 'all_tenants'))).map((t) => view(ctx, t, false)) }) },
      { method: 'GET', url: `${base}/detail`, policy: 'volume:get_transfer', target: own, handler: async (ctx) => ({ transfers: (await listTransfers(c, callerOf(ctx), !!q1(ctx, 'all_tenants'))).map((t) => view(ctx, t)) }) },
      { method: 'GET', url: `${base}/:id`, policy: 'volume:get_transfer', target: own, handler: async (ctx) => ({ transfer: view(ctx, await getTransfer(c, callerOf(ctx), ctx.params.id)) }) },
      { method: 'DELETE', url: `${base}/:id`, policy: 'volume:delete_transfer', target: own, status: 202, handler: async (ctx) => { await deleteTransfer(c, callerOf(ctx), ctx.params.id); } },
      { method: 'POST', url: `${base}/:id/accept`, policy: 'volume:accept_transfer', target: own, status: 202, handler: async (ctx) => {
        const a = isObj(ctx.body) && isObj(ctx.body.accept) ? ctx.body.accept : {};
        const t = await acceptTransfer(c, callerOf(ctx), ctx.params.id, a.auth_key);
        return { transfer: view(ctx, t, false) };
      } },
    );
  }
  return routes;
}
