/**
 * os-interface (Nova's attach_interfaces): a server's ports, and attaching / detaching one
 * while it runs. With the network service the ports come from it (Nova with Neutron); the
 * built-in network has one fixed interface per server, shown from the info cache and not
 * changeable (501, as Nova's drivers without hot-plug).
 */
import { badRequest, HttpError, notFound } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { AttachRequest, InterfaceAttachment, NetworkInfoItem } from '../../network/network-api.js';
import { callAgent } from '../../rpc/topics.js';
import { fromJson, toJson, type Caller, type ComputeContext } from '../../service/context.js';
import { recordAction } from '../../service/instance-actions.js';
import { checkLock, checkState } from '../../service/servers.js';
import { VM } from '../../service/states.js';
import type { InstanceRow } from '../../db/schema.js';
import { at, callerOf, isObj } from '../common.js';
import { serverOf, serverTarget } from './servers.js';

const P = 'os_compute_api:os-attach-interfaces';
export const interfacesPolicy: Record<string, string> = {
  [`${P}:list`]: 'rule:project_reader_or_admin',
  [`${P}:show`]: 'rule:project_reader_or_admin',
  [`${P}:create`]: 'rule:project_member_or_admin',
  [`${P}:delete`]: 'rule:project_member_or_admin',
};

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const TAG_RE = /^[^,/]{1,60}$/;

const cacheOf = (row: InstanceRow) => fromJson<NetworkInfoItem[]>(row.network_info, []);

/** The info cache as attachments (the built-in network, which has no ports to ask about). */
const fromCache = (row: InstanceRow): InterfaceAttachment[] => cacheOf(row).map((n) => ({
  port_state: 'ACTIVE', fixed_ips: n.ips.filter((ip) => ip.type === 'fixed').map((ip) => ({ subnet_id: n.network_id, ip_address: ip.address })),
  port_id: n.port_id, net_id: n.network_id, mac_addr: n.mac,
}));

function invalid(field: string, value: unknown, why: string): HttpError {
  return badRequest(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(value)}. ${why}`);
}

/** Nova's interfaces schema: net_id, port_id (UUIDs), at most one fixed IP, tag from 2.49. */
function parseAttach(ctx: RequestCtx): { netId?: string; portId?: string; fixedIp?: string; tag?: string } {
  const body = ctx.body;
  if (body === undefined || body === null || (isObj(body) && Object.keys(body).length === 0)) return {};
  if (!isObj(body)) throw badRequest('Invalid input: the body must be an object');
  for (const k of Object.keys(body)) if (k !== 'interfaceAttachment') throw invalid(k, body[k], 'Additional properties are not allowed');
  const a = body.interfaceAttachment;
  if (a === undefined) return {};
  if (!isObj(a)) throw invalid('interfaceAttachment', a, "is not of type 'object'");
  const allowed = ['net_id', 'port_id', 'fixed_ips', ...(at(ctx, '2.49') ? ['tag'] : [])];
  for (const k of Object.keys(a)) if (!allowed.includes(k)) throw invalid('interfaceAttachment', a, `Additional properties are not allowed ('${k}' was unexpected)`);
  const uuid = (k: 'net_id' | 'port_id') => {
    const v = a[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !UUID_RE.test(v)) throw invalid(`interfaceAttachment/${k}`, v, `'${String(v)}' is not a 'uuid'`);
    return v;
  };
  const netId = uuid('net_id');
  const portId = uuid('port_id');
  let fixedIp: string | undefined;
  if (a.fixed_ips !== undefined) {
    const f = a.fixed_ips;
    if (!Array.isArray(f) || f.length > 1 || !f.every((x) => isObj(x) && typeof x.ip_address === 'string' && Object.keys(x).length === 1)) {
      throw invalid('interfaceAttachment/fixed_ips', f, 'at most one {ip_address} is allowed');
    }
    fixedIp = f.length ? String((f[0] as Record<string, unknown>).ip_address) : undefined;
  }
  let tag: string | undefined;
  if (a.tag !== undefined) {
    if (typeof a.tag !== 'string' || !TAG_RE.test(a.tag)) throw invalid('interfaceAttachment/tag', a.tag, 'is not a valid tag');
    tag = a.tag;
  }
  if (netId && portId) throw badRequest('Must not input both network_id and port_id');
  if (fixedIp && !netId) throw badRequest('Must input network_id when request IP address');
  return { netId, portId, fixedIp, tag };
}

/**
 * Makes (or binds) a port for the server and plugs it into the guest (os-interface attach; also
 * addFixedIp on a network the server has no port on); returns the interface and the new info cache.
 */
export async function attachPort(c: ComputeContext, caller: Caller, row: InstanceRow, req: AttachRequest, action = 'attach_interface'): Promise<{ info: NetworkInfoItem; cache: NetworkInfoItem[] }> {
  const api = c.network;
  if (!api.attachInterface || !api.detachInterface || !row.host) throw new HttpError(501, 'Network driver does not support this function.');
  await recordAction(c, { instanceUuid: row.uuid, action, requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
  const made = await api.attachInterface(
    { uuid: row.uuid, projectId: row.project_id, userId: row.user_id, host: row.host, hostname: row.hostname },
    { ...req, securityGroups: fromJson<string[]>(row.security_groups, []) },
  );
  try {
    await callAgent(c.bus, row.host, 'attach_interface', { uuid: row.uuid, vif: made.vif as never }, caller.requestId, 60_000);
  } catch (e) {
    await api.detachInterface(row.uuid, made.info.port_id).catch(() => undefined);
    throw new HttpError(500, `Failed to attach network adapter device to ${row.uuid}: ${(e as Error).message}`);
  }
  const fresh = await c.db.selectFrom('instance').select('network_info').where('uuid', '=', row.uuid).executeTakeFirstOrThrow();
  const cache = [...fromJson<NetworkInfoItem[]>(fresh.network_info, []), { ...made.info, ...(req.tag ? { tag: req.tag } : {}) }];
  await c.db.updateTable('instance').set({ network_info: toJson(cache), updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  return { info: made.info, cache };
}

/** Unplugs a port from the guest and frees it (os-interface detach; also removeFixedIp of a port's only address). */
export async function detachPort(c: ComputeContext, caller: Caller, row: InstanceRow, portId: string, action = 'detach_interface'): Promise<void> {
  const api = c.network;
  if (!api.detachInterface || !row.host) throw new HttpError(501, 'Network driver does not support this function.');
  await recordAction(c, { instanceUuid: row.uuid, action, requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
  await callAgent(c.bus, row.host, 'detach_interface', { uuid: row.uuid, portId }, caller.requestId, 60_000);
  await api.detachInterface(row.uuid, portId).catch((e: unknown) => { if (!(e instanceof HttpError && e.status === 404)) throw e; });
  const fresh = await c.db.selectFrom('instance').select('network_info').where('uuid', '=', row.uuid).executeTakeFirstOrThrow();
  const cache = fromJson<NetworkInfoItem[]>(fresh.network_info, []).filter((n) => n.port_id !== portId);
  await c.db.updateTable('instance').set({ network_info: toJson(cache), updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
}

export function interfacesRoutes(c: ComputeContext): Route[] {
  const t = serverTarget(c);
  const api = c.network;
  const view = (ctx: RequestCtx, row: InstanceRow, a: InterfaceAttachment) => {
    // 2.70: the tag given at attach (kept in the info cache)
    if (!at(ctx, '2.70')) return a;
    return { ...a, tag: cacheOf(row).find((n) => n.port_id === a.port_id)?.tag ?? null };
  };
  const list = async (row: InstanceRow) => (api.interfaces ? api.interfaces(row.uuid) : fromCache(row));
  const find = async (row: InstanceRow, portId: string) => {
    const a = (await list(row)).find((x) => x.port_id === portId);
    if (!a) throw notFound(`Instance ${row.uuid} does not have a port with id ${portId}`);
    return a;
  };
  const r = (method: Route['method'], url: string, rule: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url: `/v2.1/servers/:id/os-interface${url}`, policy: `${P}:${rule}`, target: t, handler, ...(status ? { status } : {}) });
  return [
    r('GET', '', 'list', async (ctx) => {
      const row = serverOf(ctx);
      return { interfaceAttachments: (await list(row)).map((a) => view(ctx, row, a)) };
    }),
    r('GET', '/:port', 'show', async (ctx) => {
      const row = serverOf(ctx);
      return { interfaceAttachment: view(ctx, row, await find(row, ctx.params.port)) };
    }),
    r('POST', '', 'create', async (ctx) => {
      const row = serverOf(ctx);
      const req = parseAttach(ctx);
      const caller = callerOf(ctx);
      checkLock(row, caller);
      checkState(row, 'attach_interface', [VM.ACTIVE, VM.PAUSED, VM.STOPPED]);
      const { info, cache } = await attachPort(c, caller, row, req);
      const updated = { ...row, network_info: toJson(cache) };
      return { interfaceAttachment: view(ctx, updated, await find(updated, info.port_id)) };
    }),
    r('DELETE', '/:port', 'delete', async (ctx) => {
      const row = serverOf(ctx);
      const caller = callerOf(ctx);
      const portId = ctx.params.port;
      checkLock(row, caller);
      checkState(row, 'detach_interface', [VM.ACTIVE, VM.PAUSED, VM.STOPPED]);
      if (!cacheOf(row).some((n) => n.port_id === portId)) throw notFound(`Port ${portId} is not attached`);
      await detachPort(c, caller, row, portId);
    }, 202),
  ];
}
