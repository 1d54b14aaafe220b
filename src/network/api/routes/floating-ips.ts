/** Floating IPs (/v2.0/floatingips) with fip-port-details, floatingip-pools and port forwardings. */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { FloatingIpRow, PortForwardingRow } from '../../db/schema.js';
import type { NetworkContext } from '../../service/context.js';
import { neutronError } from '../../service/errors.js';
import {
  createFloatingIp, createPortForwarding, deleteFloatingIp, deletePortForwarding, getFloatingIp, getPortForwarding, listFloatingIps,
  listPortForwardings, updateFloatingIp, updatePortForwarding, type FloatingIpChanges, type NewPortForwarding,
} from '../../service/floating-ips.js';
import { listNetworks } from '../../service/networks.js';
import { tagsOf } from '../../service/tags.js';
import { bodyOf, bulkOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, standardView, strAttr, type View } from '../common.js';

export const floatingIpsPolicy: Record<string, string> = {
  create_floatingip: '',
  'create_floatingip:floating_ip_address': 'rule:admin_only',
  get_floatingip: '',
  update_floatingip: 'rule:admin_or_owner',
  delete_floatingip: 'rule:admin_or_owner',
  get_floatingip_pool: '',
  create_floatingip_port_forwarding: 'rule:admin_or_owner',
  get_floatingip_port_forwarding: 'rule:admin_or_owner',
  update_floatingip_port_forwarding: 'rule:admin_or_owner',
  delete_floatingip_port_forwarding: 'rule:admin_or_owner',
};

const CREATE_KEYS = ['floating_network_id', 'floating_ip_address', 'subnet_id', 'port_id', 'fixed_ip_address', 'description',
  'project_id', 'tenant_id', 'dns_name', 'dns_domain', 'qos_policy_id'] as const;
const UPDATE_KEYS = ['port_id', 'fixed_ip_address', 'description', 'qos_policy_id'] as const;

async function floatingIpViews(c: NetworkContext, rows: FloatingIpRow[]): Promise<View[]> {
  const ids = rows.map((r) => r.id);
  const tags = await tagsOf(c.db, ids);
  const portIds = [...new Set(rows.map((r) => r.port_id).filter((x): x is string => !!x))];
  const ports = portIds.length ? await c.db.selectFrom('port').selectAll().where('id', 'in', portIds).execute() : [];
  const pfs = ids.length ? await c.db.selectFrom('port_forwarding').selectAll().where('floatingip_id', 'in', ids).execute() : [];
  return rows.map((f) => {
    const p = ports.find((x) => x.id === f.port_id);
    return {
      id: f.id, floating_ip_address: f.floating_ip_address, floating_network_id: f.floating_network_id, router_id: f.router_id,
      port_id: f.port_id, fixed_ip_address: f.fixed_ip_address, status: f.status,
      // fip-port-details
      port_details: p ? { name: p.name, network_id: p.network_id, mac_address: p.mac_address, admin_state_up: !!p.admin_state_up, status: p.status, device_id: p.device_id, device_owner: p.device_owner } : null,
      port_forwardings: pfs.filter((x) => x.floatingip_id === f.id).map((x) => ({
        protocol: x.protocol, internal_ip_address: x.internal_ip_address, internal_port: x.internal_port, external_port: x.external_port,
      })),
      ...standardView(f, tags.get(f.id) ?? []),
    };
  });
}

const pfView = (p: PortForwardingRow): View => ({
  id: p.id, external_port: p.external_port, protocol: p.protocol, internal_port_id: p.internal_port_id,
  internal_ip_address: p.internal_ip_address, internal_port: p.internal_port, description: p.description,
});

function idAttr(b: Record<string, unknown>, k: string): string | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${String(v)}' is not a valid string.`);
  return v;
}

function portNumber(b: Record<string, unknown>, k: string): number | undefined {
  const v = b[k];
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${String(v)}' is not a valid port number.`);
  return n;
}

const PF_KEYS = ['internal_port_id', 'internal_ip_address', 'internal_port', 'external_port', 'protocol', 'description'] as const;

export function floatingIpsRoutes(c: NetworkContext): Route[] {
  const owner = async (ctx: RequestCtx) => ({ project_id: (await getFloatingIp(c, callerOf(ctx), ctx.params.id)).project_id });
  const one = async (f: FloatingIpRow) => (await floatingIpViews(c, [f]))[0];

  const create = async (ctx: RequestCtx, b: Record<string, unknown>) => {
    onlyKnown(b, CREATE_KEYS);
    const caller = callerOf(ctx);
    const projectId = ownerOf(ctx, b, caller);
    if (b.floating_ip_address !== undefined) ctx.enforce('create_floatingip:floating_ip_address', { project_id: projectId });
    const net = idAttr(b, 'floating_network_id');
    if (!net) throw neutronError(400, 'BadRequest', "Failed to parse request. Required attribute 'floating_network_id' not specified");
    return one(await createFloatingIp(c, caller, {
      projectId, floatingNetworkId: net, floatingIpAddress: idAttr(b, 'floating_ip_address'), subnetId: idAttr(b, 'subnet_id'),
      portId: idAttr(b, 'port_id'), fixedIpAddress: idAttr(b, 'fixed_ip_address'), description: strAttr(b, 'description', ''),
    }));
  };

  const pfBody = (ctx: RequestCtx, create: boolean): Partial<NewPortForwarding> => {
    const b = bodyOf(ctx, 'port_forwarding');
    onlyKnown(b, PF_KEYS);
    const out: Partial<NewPortForwarding> = {
      internalPortId: idAttr(b, 'internal_port_id'), internalIpAddress: idAttr(b, 'internal_ip_address'),
      internalPort: portNumber(b, 'internal_port'), externalPort: portNumber(b, 'external_port'),
      protocol: idAttr(b, 'protocol'), description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
    };
    if (create) {
      for (const k of ['internal_port_id', 'internal_ip_address', 'internal_port', 'external_port', 'protocol']) {
        if (b[k] === undefined || b[k] === null) throw neutronError(400, 'BadRequest', `Failed to parse request. Required attribute '${k}' not specified`);
      }
    }
    return out;
  };

  return [
    {
      method: 'GET', url: '/v2.0/floatingips', policy: 'get_floatingip',
      handler: async (ctx) => listBody(ctx, 'floatingips', await floatingIpViews(c, await listFloatingIps(c, callerOf(ctx)))),
    },
    {
      method: 'GET', url: '/v2.0/floatingips/:id', policy: 'get_floatingip', target: owner,
      handler: async (ctx) => ({ floatingip: pickFields(await one(await getFloatingIp(c, callerOf(ctx), ctx.params.id)), fieldsOf(ctx)) }),
    },
    {
      method: 'POST', url: '/v2.0/floatingips', policy: 'create_floatingip', status: 201,
      handler: async (ctx) => {
        const bulk = bulkOf(ctx, 'floatingips');
        if (bulk) {
          const out: View[] = [];
          for (const b of bulk) out.push(await create(ctx, b));
          return { floatingips: out };
        }
        return { floatingip: await create(ctx, bodyOf(ctx, 'floatingip')) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/floatingips/:id', policy: 'update_floatingip', target: owner,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'floatingip');
        onlyKnown(b, UPDATE_KEYS);
        const ch: FloatingIpChanges = {
          portId: b.port_id === null ? null : idAttr(b, 'port_id'),
          fixedIpAddress: idAttr(b, 'fixed_ip_address'),
          description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
        };
        return { floatingip: await one(await updateFloatingIp(c, callerOf(ctx), ctx.params.id, ch)) };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/floatingips/:id', policy: 'delete_floatingip', target: owner,
      handler: async (ctx) => { await deleteFloatingIp(c, callerOf(ctx), ctx.params.id); },
    },
    {
      // floatingip-pools: the subnets of the external networks a caller sees
      method: 'GET', url: '/v2.0/floatingip_pools', policy: 'get_floatingip_pool',
      handler: async (ctx) => {
        const nets = (await listNetworks(c, callerOf(ctx))).filter((n) => n.external);
        const subnets = nets.length ? await c.db.selectFrom('subnet').selectAll().where('network_id', 'in', nets.map((n) => n.id)).execute() : [];
        return listBody(ctx, 'floatingip_pools', subnets.map((s) => ({
          subnet_id: s.id, subnet_name: s.name, cidr: s.cidr, network_id: s.network_id, project_id: s.project_id, tenant_id: s.project_id,
        })), { ignore: ['id'] });
      },
    },
    {
      method: 'GET', url: '/v2.0/floatingips/:id/port_forwardings', policy: 'get_floatingip_port_forwarding', target: owner,
      handler: async (ctx) => listBody(ctx, 'port_forwardings', (await listPortForwardings(c, callerOf(ctx), ctx.params.id)).map(pfView)),
    },
    {
      method: 'GET', url: '/v2.0/floatingips/:id/port_forwardings/:pf', policy: 'get_floatingip_port_forwarding', target: owner,
      handler: async (ctx) => ({ port_forwarding: pickFields(pfView(await getPortForwarding(c, callerOf(ctx), ctx.params.id, ctx.params.pf)), fieldsOf(ctx)) }),
    },
    {
      method: 'POST', url: '/v2.0/floatingips/:id/port_forwardings', policy: 'create_floatingip_port_forwarding', target: owner, status: 201,
      handler: async (ctx) => {
        const n = pfBody(ctx, true) as NewPortForwarding;
        return { port_forwarding: pfView(await createPortForwarding(c, callerOf(ctx), ctx.params.id, { ...n, description: n.description ?? '' })) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/floatingips/:id/port_forwardings/:pf', policy: 'update_floatingip_port_forwarding', target: owner,
      handler: async (ctx) => ({ port_forwarding: pfView(await updatePortForwarding(c, callerOf(ctx), ctx.params.id, ctx.params.pf, pfBody(ctx, false))) }),
    },
    {
      method: 'DELETE', url: '/v2.0/floatingips/:id/port_forwardings/:pf', policy: 'delete_floatingip_port_forwarding', target: owner,
      handler: async (ctx) => { await deletePortForwarding(c, callerOf(ctx), ctx.params.id, ctx.params.pf); },
    },
  ];
}
