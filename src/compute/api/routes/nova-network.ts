/**
 * The nova-network-era os-fixed-ips API (2.1 – 2.35; 404 from 2.36): details of a fixed IP of
 * the built-in network, and its reserve/unreserve actions. Every address of the network's CIDR is
 * a fixed IP, as nova-network created them; one a server holds (its network info cache) shows
 * that server's host and hostname. The reserved flag lives in memory (nothing schedules by it).
 */
import { isIPv4 } from 'node:net';
import { badRequest, notFound } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { NetworkInfoItem } from '../../network/network-api.js';
import { BUILTIN_NETWORK } from '../../network/builtin-network.js';
import { fromJson, type ComputeContext } from '../../service/context.js';
import { at, isObj } from '../common.js';

const RULE = 'os_compute_api:os-fixed-ips';
export const novaNetworkPolicy: Record<string, string> = {
  [RULE]: 'rule:admin_api',
};

const reservedOf = new WeakMap<ComputeContext, Set<string>>();
function reservedSet(c: ComputeContext): Set<string> {
  let s = reservedOf.get(c);
  if (!s) reservedOf.set(c, (s = new Set()));
  return s;
}

const ipv4 = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function inCidr(address: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(net) / size);
}

/** The routing of a microversioned API: 404 from 2.36 on, before the policy check. */
const gone = (ctx: RequestCtx) => {
  if (at(ctx, '2.36')) throw notFound('The resource could not be found.');
};

interface FixedIp { address: string; cidr: string; host: string | null; hostname: string | null }

/**
 * Nova's FixedIP.get_by_address: an address that is not an IP is invalid (400), one outside the
 * network has no fixed IP (404). The server holding it, if any (the newest, as every built-in
 * server has the same address), gives host and hostname.
 */
async function fixedIp(c: ComputeContext, address: string, invalid: () => Error, missing: () => Error): Promise<FixedIp> {
  if (!isIPv4(address)) throw invalid();
  const rows = await c.db.selectFrom('instance').select(['host', 'hostname', 'network_info', 'created_at', 'uuid'])
    .where('deleted', '=', 0).orderBy('created_at', 'desc').orderBy('uuid', 'desc').execute();
  for (const r of rows) {
    for (const vif of fromJson<NetworkInfoItem[]>(r.network_info, [])) {
      const ip = (vif.ips ?? []).find((i) => i.address === address && i.type === 'fixed');
      if (ip) return { address, cidr: ip.cidr ?? BUILTIN_NETWORK.cidr, host: r.host, hostname: r.hostname };
    }
  }
  if (!inCidr(address, BUILTIN_NETWORK.cidr)) throw missing();
  return { address, cidr: BUILTIN_NETWORK.cidr, host: null, hostname: null };
}

export function novaNetworkRoutes(c: ComputeContext): Route[] {
  return [
    {
      method: 'GET', url: '/v2.1/os-fixed-ips/:address', policy: RULE,
      target: (ctx) => { gone(ctx); return {}; },
      handler: async (ctx) => {
        const address = ctx.params.address;
        const ip = await fixedIp(c, address,
          () => badRequest(`Fixed IP address ${address} is invalid.`),
          () => notFound(`Fixed IP not found for address ${address}.`));
        const view: Record<string, unknown> = { ...ip };
        if (at(ctx, '2.4')) view.reserved = reservedSet(c).has(address);
        return { fixed_ip: view };
      },
    },
    {
      method: 'POST', url: '/v2.1/os-fixed-ips/:address/action', policy: 'authenticated', status: 202,
      handler: async (ctx) => {
        gone(ctx);
        const body = ctx.body;
        if (!isObj(body)) throw badRequest('Malformed request body');
        const keys = Object.keys(body);
        if (keys.length !== 1) throw badRequest('Malformed message body: too many body keys');
        const [action] = keys;
        if (action !== 'reserve' && action !== 'unreserve') throw badRequest(`There is no such action: ${action}`);
        ctx.enforce(RULE, {});
        const address = ctx.params.address;
        await fixedIp(c, address,
          () => badRequest(`Fixed IP ${address} not valid`),
          () => notFound(`Fixed IP ${address} not found`));
        if (action === 'reserve') reservedSet(c).add(address);
        else reservedSet(c).delete(address);
        return undefined;
      },
    },
  ];
}
