/**
 * Nova's floating IP proxies (os-floating-ips, os-floating-ip-pools: 2.1 – 2.35, 404 after) and
 * the addFloatingIp / removeFloatingIp server actions (2.1 – 2.43), all served by the network
 * service; without it they do not exist (404), as nova-network's are gone.
 */
import { isIP } from 'node:net';
import { badRequest, notFound } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { FloatingIpProxy, NetworkInfoItem } from '../../network/network-api.js';
import { fromJson, type ComputeContext } from '../../service/context.js';
import type { InstanceRow } from '../../db/schema.js';
import { at, callerOf, isObj } from '../common.js';

const P = 'os_compute_api:os-floating-ips';
export const floatingIpsPolicy: Record<string, string> = {
  [`${P}:list`]: 'rule:project_reader_or_admin',
  [`${P}:show`]: 'rule:project_reader_or_admin',
  [`${P}:create`]: 'rule:project_member_or_admin',
  [`${P}:delete`]: 'rule:project_member_or_admin',
  [`${P}:add`]: 'rule:project_member_or_admin',
  [`${P}:remove`]: 'rule:project_member_or_admin',
  'os_compute_api:os-floating-ip-pools': 'rule:project_reader_or_admin',
};

const missing = () => notFound('The resource could not be found.');

/** The proxy, when the network service runs and the microversion still has the API. */
function proxyAt(c: ComputeContext, ctx: RequestCtx, until: string): FloatingIpProxy {
  if (!c.network.floatingIpProxy || at(ctx, until)) throw missing();
  return c.network.floatingIpProxy;
}

export function floatingIpsRoutes(c: ComputeContext): Route[] {
  const target = (ctx: RequestCtx) => {
    proxyAt(c, ctx, '2.36');
    return { project_id: ctx.auth.projectId ?? '' };
  };
  const r = (method: Route['method'], url: string, policy: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url, policy, target, handler, ...(status ? { status } : {}) });
  return [
    r('GET', '/v2.1/os-floating-ip-pools', 'os_compute_api:os-floating-ip-pools', async (ctx) =>
      ({ floating_ip_pools: (await proxyAt(c, ctx, '2.36').pools()).map((name) => ({ name })) })),
    r('GET', '/v2.1/os-floating-ips', `${P}:list`, async (ctx) => ({ floating_ips: await proxyAt(c, ctx, '2.36').list(callerOf(ctx)) })),
    r('GET', '/v2.1/os-floating-ips/:fid', `${P}:show`, async (ctx) => ({ floating_ip: await proxyAt(c, ctx, '2.36').get(callerOf(ctx), ctx.params.fid) })),
    r('POST', '/v2.1/os-floating-ips', `${P}:create`, async (ctx) => {
      const body = ctx.body;
      const pool = isObj(body) && body.pool !== undefined && body.pool !== null ? String(body.pool) : undefined;
      return { floating_ip: await proxyAt(c, ctx, '2.36').allocate(callerOf(ctx), pool) };
    }),
    r('DELETE', '/v2.1/os-floating-ips/:fid', `${P}:delete`, async (ctx) => {
      await proxyAt(c, ctx, '2.36').release(callerOf(ctx), ctx.params.fid);
    }, 202),
  ];
}

/** The server action addFloatingIp: onto the given fixed address, else the server's first IPv4 one. */
export async function addFloatingIp(c: ComputeContext, ctx: RequestCtx, row: InstanceRow, arg: unknown): Promise<void> {
  const proxy = proxyAt(c, ctx, '2.44');
  const a = isObj(arg) ? arg : {};
  const address = a.address;
  if (typeof address !== 'string' || !isIP(address)) throw badRequest(`Invalid input for field/attribute address. Value: ${JSON.stringify(address)}. is not a valid IP address`);
  const fixed = fromJson<NetworkInfoItem[]>(row.network_info, []).flatMap((n) => n.ips.filter((ip) => ip.type === 'fixed').map((ip) => ip.address));
  if (fixed.length === 0) throw badRequest('No fixed IPs associated to instance');
  let fixedAddress: string | undefined;
  if (a.fixed_address !== undefined) {
    if (typeof a.fixed_address !== 'string' || !fixed.includes(a.fixed_address)) throw badRequest('Specified fixed address not assigned to instance');
    fixedAddress = a.fixed_address;
  } else fixedAddress = fixed.find((ip) => isIP(ip) === 4);
  if (!fixedAddress) throw badRequest(`Unable to associate floating IP ${address} to any fixed IPs for instance ${row.uuid}. Instance has no fixed IPv4 addresses to associate.`);
  await proxy.associate(row.project_id, row.uuid, address, fixedAddress);
}

export async function removeFloatingIp(c: ComputeContext, ctx: RequestCtx, row: InstanceRow, arg: unknown): Promise<void> {
  const proxy = proxyAt(c, ctx, '2.44');
  const address = isObj(arg) ? arg.address : undefined;
  if (typeof address !== 'string' || !isIP(address)) throw badRequest(`Invalid input for field/attribute address. Value: ${JSON.stringify(address)}. is not a valid IP address`);
  await proxy.disassociate(row.project_id, row.uuid, address);
}
