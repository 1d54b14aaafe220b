/**
 * Nova's multinic actions (addFixedIp / removeFixedIp, deprecated, gone from 2.44: 404 there).
 * As Nova with Neutron, addFixedIp gives the server's port on the network one more address and
 * removeFixedIp takes one off the port that holds it. A network the server has no port on gets a
 * new port (plugged like an os-interface attach: nova-network's multinic), and the only address
 * of a port goes with its port (os-interface detach).
 */
import { isIP } from 'node:net';
import { badRequest, HttpError, notFound } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import type { RequestCtx } from '../../../core/http/routes.js';
import type { InstanceRow } from '../../db/schema.js';
import type { NetworkInfoItem } from '../../network/network-api.js';
import { fromJson, toJson, type ComputeContext } from '../../service/context.js';
import { checkLock, checkState } from '../../service/servers.js';
import { VM } from '../../service/states.js';
import { at, callerOf, isObj } from '../common.js';
import { attachPort, detachPort } from './interfaces.js';

const STATES = [VM.ACTIVE, VM.PAUSED, VM.SUSPENDED, VM.STOPPED];

function checkArg(ctx: RequestCtx, action: string, arg: unknown, key: string): Record<string, unknown> {
  if (at(ctx, '2.44')) throw notFound(`There is no such action: ${action}`);
  if (!isObj(arg)) throw badRequest(`Invalid input for field/attribute ${action}. Value: ${JSON.stringify(arg)}. ${JSON.stringify(arg)} is not of type 'object'`);
  if (arg[key] === undefined) throw badRequest(`Invalid input for field/attribute ${action}. Value: ${JSON.stringify(arg)}. '${key}' is a required property`);
  for (const k of Object.keys(arg)) if (k !== key) throw badRequest(`Invalid input for field/attribute ${action}. Value: ${JSON.stringify(arg)}. Additional properties are not allowed ('${k}' was unexpected)`);
  return arg;
}

/** Replaces one port's entry of the info cache (the `addresses` of the server). */
async function refreshCache(c: ComputeContext, uuid: string, info: NetworkInfoItem): Promise<void> {
  const fresh = await c.db.selectFrom('instance').select('network_info').where('uuid', '=', uuid).executeTakeFirstOrThrow();
  const cache = fromJson<NetworkInfoItem[]>(fresh.network_info, []).map((n) => (n.port_id === info.port_id ? { ...info, ...(n.tag ? { tag: n.tag } : {}) } : n));
  await c.db.updateTable('instance').set({ network_info: toJson(cache), updated_at: nowIso() }).where('uuid', '=', uuid).execute();
}

export async function addFixedIp(c: ComputeContext, ctx: RequestCtx, row: InstanceRow, arg: unknown): Promise<void> {
  const a = checkArg(ctx, 'addFixedIp', arg, 'networkId');
  if (typeof a.networkId !== 'string' && typeof a.networkId !== 'number') throw badRequest(`Invalid input for field/attribute networkId. Value: ${JSON.stringify(a.networkId)}. ${JSON.stringify(a.networkId)} is not of type 'string', 'number'`);
  const networkId = String(a.networkId);
  const caller = callerOf(ctx);
  checkLock(row, caller);
  checkState(row, 'addFixedIp', STATES);
  if (!c.network.addFixedIp) throw new HttpError(501, 'Network driver does not support this function.');
  const info = await c.network.addFixedIp(row.uuid, networkId);
  if (info) {
    await refreshCache(c, row.uuid, info);
    return;
  }
  try {
    await attachPort(c, caller, row, { netId: networkId }, 'add_fixed_ip');
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) throw badRequest(`Network ${networkId} could not be found.`);
    throw e;
  }
}

export async function removeFixedIp(c: ComputeContext, ctx: RequestCtx, row: InstanceRow, arg: unknown): Promise<void> {
  const a = checkArg(ctx, 'removeFixedIp', arg, 'address');
  if (typeof a.address !== 'string' || !isIP(a.address)) throw badRequest(`Invalid input for field/attribute address. Value: ${JSON.stringify(a.address)}. ${JSON.stringify(a.address)} is not a 'ip-address'`);
  const caller = callerOf(ctx);
  checkLock(row, caller);
  checkState(row, 'removeFixedIp', STATES);
  if (!c.network.removeFixedIp) throw new HttpError(501, 'Network driver does not support this function.');
  const done = await c.network.removeFixedIp(row.uuid, a.address);
  if (!done) throw badRequest(`Fixed IP address ${a.address} is not found for instance ${row.uuid}.`);
  if (done.info) await refreshCache(c, row.uuid, done.info);
  else await detachPort(c, caller, row, done.portId, 'remove_fixed_ip');
}
