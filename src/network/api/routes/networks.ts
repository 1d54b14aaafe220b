/** Networks (/v2.0/networks), with the provider, external-net, mtu, port-security and AZ attributes. */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { fromJson } from '../../../core/db/database.js';
import type { NetworkRow } from '../../db/schema.js';
import type { Caller, NetworkContext } from '../../service/context.js';
import { createNetwork, deleteNetwork, getNetwork, listNetworks, subnetIdsByNetwork, updateNetwork, type NetworkChanges } from '../../service/networks.js';
import { neutronError } from '../../service/errors.js';
import { tagsOf } from '../../service/tags.js';
import { bodyOf, boolAttr, bulkOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, standardView, strAttr, type View } from '../common.js';

export const networksPolicy: Record<string, string> = {
  create_network: '',
  'create_network:shared': 'rule:admin_only',
  'create_network:router:external': 'rule:admin_only',
  'create_network:is_default': 'rule:admin_only',
  'create_network:provider:network_type': 'rule:admin_only',
  'create_network:provider:physical_network': 'rule:admin_only',
  'create_network:provider:segmentation_id': 'rule:admin_only',
  get_network: '',
  update_network: 'rule:admin_or_owner',
  'update_network:shared': 'rule:admin_only',
  'update_network:router:external': 'rule:admin_only',
  'update_network:is_default': 'rule:admin_only',
  'update_network:provider:network_type': 'rule:admin_only',
  'update_network:provider:physical_network': 'rule:admin_only',
  'update_network:provider:segmentation_id': 'rule:admin_only',
  delete_network: 'rule:admin_or_owner',
};

const CREATE_KEYS = ['name', 'description', 'admin_state_up', 'shared', 'router:external', 'is_default', 'mtu', 'port_security_enabled',
  'provider:network_type', 'provider:physical_network', 'provider:segmentation_id', 'availability_zone_hints', 'dns_domain',
  'project_id', 'tenant_id', 'qos_policy_id', 'segments'] as const;
const UPDATE_KEYS = ['name', 'description', 'admin_state_up', 'shared', 'router:external', 'is_default', 'mtu', 'port_security_enabled', 'dns_domain', 'qos_policy_id'] as const;

export function networkView(n: NetworkRow, subnets: string[], tags: string[], caller: Caller): View {
  const v: View = {
    id: n.id,
    name: n.name,
    admin_state_up: !!n.admin_state_up,
    status: n.status,
    subnets,
    shared: !!n.shared,
    'router:external': !!n.external,
    mtu: n.mtu,
    port_security_enabled: !!n.port_security_enabled,
    availability_zone_hints: fromJson<string[]>(n.availability_zone_hints, []),
    availability_zones: ['nova'],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    l2_adjacency: true,
    is_default: !!n.is_default,
    dns_domain: n.dns_domain,
    qos_policy_id: null,
    ...standardView(n, tags),
  };
  // provider attributes are admin-only in Neutron's default policy
  if (caller.isAdmin) {
    v['provider:network_type'] = n.provider_network_type;
    v['provider:physical_network'] = n.provider_physical_network;
    v['provider:segmentation_id'] = n.provider_segmentation_id;
  }
  return v;
}

export async function networkViews(c: NetworkContext, rows: NetworkRow[], caller: Caller): Promise<View[]> {
  const ids = rows.map((r) => r.id);
  const [subnets, tags] = await Promise.all([subnetIdsByNetwork(c.db, ids), tagsOf(c.db, ids)]);
  return rows.map((r) => networkView(r, subnets.get(r.id) ?? [], tags.get(r.id) ?? [], caller));
}

function intAttr(b: Record<string, unknown>, key: string): number | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw neutronError(400, 'InvalidInput', `Invalid input for ${key}. Reason: '${String(v)}' is not an integer.`);
  return n;
}

/** Attribute-level policies: `create_network:shared` etc. apply only when the attribute is set. */
function enforceAttrs(ctx: RequestCtx, action: 'create' | 'update', b: Record<string, unknown>, target: Record<string, unknown>) {
  for (const k of ['shared', 'router:external', 'is_default', 'provider:network_type', 'provider:physical_network', 'provider:segmentation_id']) {
    if (b[k] !== undefined) ctx.enforce(`${action}_network:${k}`, target);
  }
}

export function networksRoutes(c: NetworkContext): Route[] {
  const create = async (ctx: RequestCtx, b: Record<string, unknown>) => {
    onlyKnown(b, CREATE_KEYS);
    const caller = callerOf(ctx);
    const projectId = ownerOf(ctx, b, caller);
    enforceAttrs(ctx, 'create', b, { project_id: projectId });
    const hints = b.availability_zone_hints;
    if (hints !== undefined && (!Array.isArray(hints) || hints.some((h) => typeof h !== 'string'))) throw neutronError(400, 'InvalidInput', 'Invalid input for availability_zone_hints.');
    for (const h of (hints as string[] | undefined) ?? []) {
      if (h !== 'nova') throw neutronError(404, 'AvailabilityZoneNotFound', `AvailabilityZone ${h} could not be found.`);
    }
    const row = await createNetwork(c, {
      projectId, name: strAttr(b, 'name', ''), description: strAttr(b, 'description', ''),
      adminStateUp: boolAttr(b, 'admin_state_up', true), shared: boolAttr(b, 'shared', false), external: boolAttr(b, 'router:external', false),
      isDefault: boolAttr(b, 'is_default', false), mtu: intAttr(b, 'mtu'), portSecurityEnabled: boolAttr(b, 'port_security_enabled', true),
      providerNetworkType: b['provider:network_type'] as string | undefined,
      providerPhysicalNetwork: b['provider:physical_network'] as string | undefined,
      providerSegmentationId: intAttr(b, 'provider:segmentation_id'),
      availabilityZoneHints: (hints as string[] | undefined) ?? [], dnsDomain: strAttr(b, 'dns_domain', ''),
    });
    return networkView(row, [], [], caller);
  };

  return [
    {
      method: 'GET', url: '/v2.0/networks', policy: 'get_network',
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        return listBody(ctx, 'networks', await networkViews(c, await listNetworks(c, caller), caller));
      },
    },
    {
      method: 'GET', url: '/v2.0/networks/:id', policy: 'get_network',
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const [v] = await networkViews(c, [await getNetwork(c, caller, ctx.params.id)], caller);
        return { network: pickFields(v, fieldsOf(ctx)) };
      },
    },
    {
      method: 'POST', url: '/v2.0/networks', policy: 'create_network', status: 201,
      handler: async (ctx) => {
        const bulk = bulkOf(ctx, 'networks');
        if (bulk) {
          const out: View[] = [];
          for (const b of bulk) out.push(await create(ctx, b));
          return { networks: out };
        }
        return { network: await create(ctx, bodyOf(ctx, 'network')) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/networks/:id', policy: 'update_network',
      target: async (ctx) => ({ project_id: (await getNetwork(c, callerOf(ctx), ctx.params.id)).project_id }),
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'network');
        onlyKnown(b, UPDATE_KEYS);
        const caller = callerOf(ctx);
        const current = await getNetwork(c, caller, ctx.params.id);
        enforceAttrs(ctx, 'update', b, { project_id: current.project_id });
        const ch: NetworkChanges = {
          name: b.name === undefined ? undefined : strAttr(b, 'name', ''),
          description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
          adminStateUp: b.admin_state_up === undefined ? undefined : boolAttr(b, 'admin_state_up', true),
          shared: b.shared === undefined ? undefined : boolAttr(b, 'shared', false),
          external: b['router:external'] === undefined ? undefined : boolAttr(b, 'router:external', false),
          isDefault: b.is_default === undefined ? undefined : boolAttr(b, 'is_default', false),
          mtu: intAttr(b, 'mtu'),
          portSecurityEnabled: b.port_security_enabled === undefined ? undefined : boolAttr(b, 'port_security_enabled', true),
          dnsDomain: b.dns_domain === undefined ? undefined : strAttr(b, 'dns_domain', ''),
        };
        const row = await updateNetwork(c, caller, ctx.params.id, ch);
        const [v] = await networkViews(c, [row], caller);
        return { network: v };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/networks/:id', policy: 'delete_network',
      target: async (ctx) => ({ project_id: (await getNetwork(c, callerOf(ctx), ctx.params.id)).project_id }),
      handler: async (ctx) => {
        await deleteNetwork(c, callerOf(ctx), ctx.params.id);
      },
    },
  ];
}
