import type { Route } from '../../../core/http/routes.js';
import type { ImageServices } from '../../service/index.js';
import { callerOf, dataBody, jsonBody } from '../http.js';
import { taskView } from '../views.js';

/** Image data: upload, download (with ranges), staging and import, import tasks. */
export function dataRoutes(s: ImageServices): Route[] {
  return [
    {
      method: 'PUT', url: '/v2/images/:image_id/file', policy: 'authenticated',
      handler: async (ctx) => { await s.data.upload(callerOf(ctx), ctx.params.image_id, dataBody(ctx)); },
    },
    {
      method: 'GET', url: '/v2/images/:image_id/file', policy: 'authenticated',
      handler: async (ctx) => {
        const range = ctx.req.headers.range;
        const dl = await s.data.download(callerOf(ctx), ctx.params.image_id, typeof range === 'string' ? range : undefined);
        if (!dl) return ctx.reply.code(204).send();
        ctx.reply.header('content-type', 'application/octet-stream').header('content-length', String(dl.length));
        if (dl.range) {
          ctx.reply.code(206).header('content-range', `bytes ${dl.range.start}-${dl.range.end}/${dl.size}`);
        } else {
          ctx.reply.code(200);
          // The body's own md5 (Glance sends it for ranges too; a client verifying would fail then).
          if (dl.checksum) ctx.reply.header('content-md5', dl.checksum);
        }
        return ctx.reply.send(dl.stream);
      },
    },
    {
      method: 'PUT', url: '/v2/images/:image_id/stage', policy: 'authenticated',
      handler: async (ctx) => { await s.data.stage(callerOf(ctx), ctx.params.image_id, dataBody(ctx)); },
    },
    {
      method: 'POST', url: '/v2/images/:image_id/import', policy: 'authenticated', status: 202,
      handler: async (ctx) => {
        await s.imports.start(callerOf(ctx), ctx.params.image_id, await jsonBody(ctx));
      },
    },
    {
      method: 'GET', url: '/v2/images/:image_id/tasks', policy: 'authenticated',
      handler: async (ctx) => ({ tasks: (await s.imports.tasksOf(callerOf(ctx), ctx.params.image_id)).map(taskView) }),
    },
  ];
}
