/** Subnets (/v2.0/subnets), with subnet allocation from pools and the IPv6 modes. */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { fromJson } from '../../../core/db/database.js';
import type { SubnetRow } from '../../db/schema.js';
import type { NetworkContext } from '../../service/context.js';
import { neutronError } from '../../service/errors.js';
import { createSubnet, deleteSubnet, getSubnet, listSubnets, updateSubnet, type SubnetChanges } from '../../service/subnets.js';
import { tagsOf } from '../../service/tags.js';
import { bodyOf, boolAttr, bulkOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, standardView, strAttr, type View } from '../common.js';

export const subnetsPolicy: Record<string, string> = {
  create_subnet: '',
  get_subnet: '',
  update_subnet: '',
  delete_subnet: '',
};

const CREATE_KEYS = ['name', 'description', 'network_id', 'ip_version', 'cidr', 'gateway_ip', 'allocation_pools', 'dns_nameservers', 'host_routes',
  'enable_dhcp', 'ipv6_ra_mode', 'ipv6_address_mode', 'subnetpool_id', 'use_default_subnetpool', 'prefixlen', 'service_types', 'segment_id',
  'project_id', 'tenant_id', 'dns_publish_fixed_ip'] as const;
const UPDATE_KEYS = ['name', 'description', 'gateway_ip', 'allocation_pools', 'dns_nameservers', 'host_routes', 'enable_dhcp', 'service_types', 'segment_id', 'dns_publish_fixed_ip'] as const;

export function subnetView(s: SubnetRow, tags: string[]): View {
  return {
    id: s.id,
    name: s.name,
    network_id: s.network_id,
    ip_version: s.ip_version,
    cidr: s.cidr,
    gateway_ip: s.gateway_ip,
    enable_dhcp: !!s.enable_dhcp,
    ipv6_ra_mode: s.ipv6_ra_mode,
    ipv6_address_mode: s.ipv6_address_mode,
    subnetpool_id: s.subnetpool_id,
    allocation_pools: fromJson(s.allocation_pools, []),
    dns_nameservers: fromJson(s.dns_nameservers, []),
    host_routes: fromJson(s.host_routes, []),
    service_types: fromJson(s.service_types, []),
    segment_id: s.segment_id,
    ...standardView(s, tags),
  };
}

export async function subnetViews(c: NetworkContext, rows: SubnetRow[]): Promise<View[]> {
  const tags = await tagsOf(c.db, rows.map((r) => r.id));
  return rows.map((r) => subnetView(r, tags.get(r.id) ?? []));
}

export function intAttr(b: Record<string, unknown>, key: string): number | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw neutronError(400, 'InvalidInput', `Invalid input for ${key}. Reason: '${String(v)}' is not an integer.`);
  return n;
}

/** A string-or-null attribute (gateway_ip, ipv6 modes, ids). */
const optStr = (b: Record<string, unknown>, key: string): string | null | undefined => {
  const v = b[key];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'string') throw neutronError(400, 'InvalidInput', `Invalid input for ${key}. Reason: '${String(v)}' is not a valid string.`);
  return v;
};

export function subnetsRoutes(c: NetworkContext): Route[] {
  const create = async (ctx: RequestCtx, b: Record<string, unknown>) => {
    onlyKnown(b, CREATE_KEYS);
    const caller = callerOf(ctx);
    const projectId = ownerOf(ctx, b, caller);
    if (typeof b.network_id !== 'string') throw neutronError(400, 'BadRequest', "Failed to parse request. Required attribute 'network_id' not specified");
    if (b.ip_version === undefined) throw neutronError(400, 'BadRequest', "Failed to parse request. Required attribute 'ip_version' not specified");
    const row = await createSubnet(c, caller, {
      projectId, networkId: b.network_id, name: strAttr(b, 'name', ''), description: strAttr(b, 'description', ''),
      ipVersion: intAttr(b, 'ip_version') ?? 4, cidr: optStr(b, 'cidr') ?? undefined,
      gatewayIp: optStr(b, 'gateway_ip'), allocationPools: b.allocation_pools, dnsNameservers: b.dns_nameservers, hostRoutes: b.host_routes,
      enableDhcp: boolAttr(b, 'enable_dhcp', true), ipv6RaMode: optStr(b, 'ipv6_ra_mode'), ipv6AddressMode: optStr(b, 'ipv6_address_mode'),
      subnetpoolId: optStr(b, 'subnetpool_id'), useDefaultSubnetpool: boolAttr(b, 'use_default_subnetpool', false), prefixlen: intAttr(b, 'prefixlen'),
      serviceTypes: b.service_types, segmentId: optStr(b, 'segment_id'),
    });
    return subnetView(row, []);
  };

  return [
    {
      method: 'GET', url: '/v2.0/subnets', policy: 'get_subnet',
      handler: async (ctx) => listBody(ctx, 'subnets', await subnetViews(c, await listSubnets(c, callerOf(ctx)))),
    },
    {
      method: 'GET', url: '/v2.0/subnets/:id', policy: 'get_subnet',
      handler: async (ctx) => {
        const [v] = await subnetViews(c, [await getSubnet(c, callerOf(ctx), ctx.params.id)]);
        return { subnet: pickFields(v, fieldsOf(ctx)) };
      },
    },
    {
      method: 'POST', url: '/v2.0/subnets', policy: 'create_subnet', status: 201,
      handler: async (ctx) => {
        const bulk = bulkOf(ctx, 'subnets');
        if (bulk) {
          const out: View[] = [];
          for (const b of bulk) out.push(await create(ctx, b));
          return { subnets: out };
        }
        return { subnet: await create(ctx, bodyOf(ctx, 'subnet')) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/subnets/:id', policy: 'update_subnet',
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'subnet');
        for (const k of ['ip_version', 'cidr', 'network_id', 'ipv6_ra_mode', 'ipv6_address_mode', 'subnetpool_id']) {
          if (b[k] !== undefined) throw neutronError(400, 'HTTPBadRequest', `Cannot update read-only attribute ${k}`);
        }
        onlyKnown(b, UPDATE_KEYS);
        const ch: SubnetChanges = {
          name: b.name === undefined ? undefined : strAttr(b, 'name', ''),
          description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
          gatewayIp: optStr(b, 'gateway_ip'),
          allocationPools: b.allocation_pools,
          dnsNameservers: b.dns_nameservers,
          hostRoutes: b.host_routes,
          enableDhcp: b.enable_dhcp === undefined ? undefined : boolAttr(b, 'enable_dhcp', true),
          serviceTypes: b.service_types,
        };
        const row = await updateSubnet(c, callerOf(ctx), ctx.params.id, ch);
        const [v] = await subnetViews(c, [row]);
        return { subnet: v };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/subnets/:id', policy: 'delete_subnet',
      handler: async (ctx) => { await deleteSubnet(c, callerOf(ctx), ctx.params.id); },
    },
  ];
}
