import { createReadStream, existsSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { badRequest, conflict, notFound } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { InstanceRow } from '../../db/schema.js';
import { NOVNC_DIR, PROXY_PATH } from '../../consoles/vnc-proxy.js';
import type { ConsoleTokens } from '../../consoles/tokens.js';
import { fromJson, type ComputeContext } from '../../service/context.js';
import { VM } from '../../service/states.js';
import { at, baseUrl, isObj } from '../common.js';
import { serverOf, serverTarget } from './servers.js';

const P = 'os_compute_api:';
export const consolesPolicy: Record<string, string> = {
  [`${P}os-remote-consoles`]: 'rule:project_member_or_admin',
  [`${P}os-console-auth-tokens`]: 'rule:admin_api',
};

/** The noVNC page URL for a token (the page connects back to the websocket proxy). */
const novncUrl = (ctx: RequestCtx, token: string) => `${baseUrl(ctx)}/novnc/vnc_lite.html?path=${encodeURIComponent(`${PROXY_PATH.slice(1)}?token=${token}`)}`;

/** A VNC console of a running server: a token and the URL that opens it; 409 when there is none. */
function vncConsole(ctx: RequestCtx, tokens: ConsoleTokens, row: InstanceRow, type: string) {
  if (type !== 'novnc') throw badRequest(`Unavailable console type ${type}.`);
  if (row.vm_state !== VM.ACTIVE && row.vm_state !== VM.PAUSED) throw conflict(`Instance ${row.uuid} is not running (vm_state ${row.vm_state})`);
  if (!fromJson<{ vnc_socket?: string }>(row.driver_info, {}).vnc_socket) throw conflict(`Instance ${row.uuid} has no VNC console on this hypervisor.`);
  const t = tokens.issue(row.uuid, 'vnc', type);
  return novncUrl(ctx, t.token);
}

/** os-getVNCConsole (the action form, before 2.6) for server-actions. */
export const getVncConsoleAction = async (c: ComputeContext, ctx: RequestCtx, row: InstanceRow, arg: unknown) => {
  const type = isObj(arg) ? String(arg.type) : '';
  return ctx.reply.code(200).send({ console: { type, url: vncConsole(ctx, c.consoles, row, type) } });
};

const MIME: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.json': 'application/json' };

export function consolesRoutes(c: ComputeContext): Route[] {
  const tokens = c.consoles;
  return [
    {
      method: 'POST', url: '/v2.1/servers/:id/remote-consoles', policy: `${P}os-remote-consoles`, target: serverTarget(c),
      handler: async (ctx) => {
        if (!at(ctx, '2.6')) throw notFound('The resource could not be found.');
        const body = ctx.body as Record<string, any>;
        const rc = isObj(body) ? body.remote_console : undefined;
        if (!isObj(rc) || typeof rc.protocol !== 'string' || typeof rc.type !== 'string') throw badRequest("Invalid input for field/attribute remote_console. 'protocol' and 'type' are required properties");
        if (!['vnc', 'spice', 'rdp', 'serial', 'mks'].includes(rc.protocol)) throw badRequest(`Invalid input for field/attribute protocol. Value: ${rc.protocol}.`);
        if (rc.protocol !== 'vnc') throw badRequest(`Unavailable console type ${rc.type}.`);
        return { remote_console: { protocol: rc.protocol, type: rc.type, url: vncConsole(ctx, tokens, serverOf(ctx), rc.type) } };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-console-auth-tokens/:token', policy: `${P}os-console-auth-tokens`,
      handler: async (ctx) => {
        if (!at(ctx, '2.31')) throw notFound('The resource could not be found.');
        const t = tokens.check(ctx.params.token);
        if (!t) throw notFound('The console authentication token could not be found.');
        const row = await c.db.selectFrom('instance').select(['host', 'driver_info']).where('uuid', '=', t.instanceUuid).executeTakeFirst();
        return { console: { instance_uuid: t.instanceUuid, host: row?.host ?? null, port: null, internal_access_path: fromJson<{ vnc_socket?: string }>(row?.driver_info, {}).vnc_socket ?? null } };
      },
    },
    {
      // Debian's noVNC (package novnc), for the URLs above
      method: 'GET', url: '/novnc/*', policy: 'public',
      handler: async (ctx) => {
        const rel = normalize((ctx.params as Record<string, string>)['*'] ?? '').replace(/^(\.\.(\/|$))+/, '');
        const file = join(NOVNC_DIR, rel);
        if (!file.startsWith(NOVNC_DIR + '/') || !existsSync(file)) throw notFound('noVNC is not installed here (apt-get install novnc) or the file does not exist.');
        return ctx.reply.type(MIME[extname(file)] ?? 'application/octet-stream').send(createReadStream(file));
      },
    },
  ];
}
