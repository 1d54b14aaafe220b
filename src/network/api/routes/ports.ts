/**
 * Ports (/v2.0/ports) with binding, port-security, allowed-address-pairs, extra_dhcp_opt and
 * the fixed_ips list filters (ip_address, subnet_id, ip_address_substr).
 */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { fromJson } from '../../../core/db/database.js';
import type { PortRow } from '../../db/schema.js';
import type { Caller, NetworkContext } from '../../service/context.js';
import { neutronError } from '../../service/errors.js';
import type { FixedIp, FixedIpRequest } from '../../service/ipam.js';
import { normalizeIp } from '../../service/ip-math.js';
import { createPort, deletePort, getPort, listPorts, networkOf, portIps, updatePort, type PortChanges } from '../../service/ports.js';
import { tagsOf } from '../../service/tags.js';
import { bodyOf, boolAttr, bulkOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, standardView, strAttr, type View } from '../common.js';

const NET_OWNER = 'rule:context_is_admin or project_id:%(network_project_id)s';

export const portsPolicy: Record<string, string> = {
  admin_or_network_owner: NET_OWNER,
  create_port: '',
  'create_port:device_owner': 'rule:admin_or_network_owner',
  'create_port:mac_address': 'rule:admin_or_network_owner',
  'create_port:fixed_ips:ip_address': 'rule:admin_or_network_owner',
  'create_port:port_security_enabled': 'rule:admin_or_network_owner',
  'create_port:binding:host_id': 'rule:admin_only',
  'create_port:binding:profile': 'rule:admin_only',
  'create_port:allowed_address_pairs': 'rule:admin_or_network_owner',
  get_port: '',
  'get_port:binding:vif_type': 'rule:admin_only',
  'get_port:binding:vif_details': 'rule:admin_only',
  'get_port:binding:host_id': 'rule:admin_only',
  'get_port:binding:profile': 'rule:admin_only',
  update_port: `rule:admin_or_owner or ${NET_OWNER}`,
  'update_port:device_owner': 'rule:admin_or_network_owner',
  'update_port:mac_address': 'rule:admin_only',
  'update_port:fixed_ips:ip_address': 'rule:admin_or_network_owner',
  'update_port:port_security_enabled': 'rule:admin_or_network_owner',
  'update_port:binding:host_id': 'rule:admin_only',
  'update_port:binding:profile': 'rule:admin_only',
  'update_port:allowed_address_pairs': 'rule:admin_or_network_owner',
  delete_port: `rule:admin_or_owner or ${NET_OWNER}`,
};

const CREATE_KEYS = ['name', 'description', 'network_id', 'admin_state_up', 'mac_address', 'fixed_ips', 'device_id', 'device_owner',
  'binding:host_id', 'binding:vnic_type', 'binding:profile', 'port_security_enabled', 'security_groups', 'allowed_address_pairs',
  'extra_dhcp_opts', 'dns_name', 'project_id', 'tenant_id', 'qos_policy_id', 'propagate_uplink_status'] as const;
const UPDATE_KEYS = CREATE_KEYS.filter((k) => !['network_id', 'project_id', 'tenant_id'].includes(k));

export function portView(p: PortRow, ips: FixedIp[], tags: string[], caller: Caller): View {
  const v: View = {
    id: p.id,
    name: p.name,
    network_id: p.network_id,
    mac_address: p.mac_address,
    admin_state_up: !!p.admin_state_up,
    status: p.status,
    device_id: p.device_id,
    device_owner: p.device_owner,
    fixed_ips: ips,
    allowed_address_pairs: fromJson(p.allowed_address_pairs, []),
    extra_dhcp_opts: fromJson(p.extra_dhcp_opts, []),
    security_groups: fromJson(p.security_groups, []),
    port_security_enabled: !!p.port_security_enabled,
    'binding:vnic_type': p.binding_vnic_type,
    dns_name: p.dns_name,
    ip_allocation: 'immediate',
    ...standardView(p, tags),
  };
  // binding details are admin-only in Neutron's default policy
  if (caller.isAdmin) {
    v['binding:host_id'] = p.binding_host_id;
    v['binding:profile'] = fromJson(p.binding_profile, {});
    v['binding:vif_type'] = p.binding_vif_type;
    v['binding:vif_details'] = fromJson(p.binding_vif_details, {});
  }
  return v;
}

export async function portViews(c: NetworkContext, rows: PortRow[], caller: Caller): Promise<View[]> {
  const ids = rows.map((r) => r.id);
  const [ips, tags] = await Promise.all([portIps(c.db, ids), tagsOf(c.db, ids)]);
  return rows.map((r) => portView(r, ips.get(r.id) ?? [], tags.get(r.id) ?? [], caller));
}

function fixedIpsAttr(raw: unknown): FixedIpRequest[] | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '${String(raw)}'.`);
  return raw.map((f) => {
    const o = f as Record<string, unknown>;
    if (!o || typeof o !== 'object') throw neutronError(400, 'InvalidInput', `Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '${String(f)}'.`);
    const extra = Object.keys(o).filter((k) => k !== 'subnet_id' && k !== 'ip_address');
    if (extra.length) throw neutronError(400, 'InvalidInput', `Invalid input for fixed_ips. Reason: Unrecognized attribute(s) '${extra.join(', ')}'.`);
    if (o.ip_address !== undefined && normalizeIp(o.ip_address) === null) throw neutronError(400, 'InvalidInput', `Invalid input for fixed_ips. Reason: '${String(o.ip_address)}' is not a valid IP address.`);
    return { subnetId: o.subnet_id as string | undefined, ipAddress: o.ip_address as string | undefined };
  });
}

function groupsAttr(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return [];
  if (!Array.isArray(raw) || raw.some((g) => typeof g !== 'string')) throw neutronError(400, 'InvalidInput', `Invalid input for security_groups. Reason: '${String(raw)}' is not a list of ids.`);
  return raw as string[];
}

function profileAttr(raw: unknown): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for binding:profile. Reason: '${String(raw)}' is not a dictionary.`);
  return raw as Record<string, unknown>;
}

/** `fixed_ips=ip_address=X` / `subnet_id=Y` / `ip_address_substr=Z`: each kind ORs its values, kinds AND. */
function fixedIpsFilter(view: View, values: string[]): boolean {
  const ips = view.fixed_ips as FixedIp[];
  const byKind = new Map<string, string[]>();
  for (const v of values) {
    const i = v.indexOf('=');
    if (i < 0) continue;
    const k = v.slice(0, i);
    byKind.set(k, [...(byKind.get(k) ?? []), v.slice(i + 1)]);
  }
  for (const [k, vs] of byKind) {
    const ok = ips.some((f) => {
      if (k === 'ip_address') return vs.some((x) => (normalizeIp(x) ?? x) === f.ip_address);
      if (k === 'subnet_id') return vs.includes(f.subnet_id);
      if (k === 'ip_address_substr') return vs.some((x) => f.ip_address.includes(x));
      return true;
    });
    if (!ok) return false;
  }
  return true;
}

/** Attribute policies apply only to attributes the request sets. */
function enforceAttrs(ctx: RequestCtx, action: 'create' | 'update', b: Record<string, unknown>, target: Record<string, unknown>) {
  const fixed = Array.isArray(b.fixed_ips) ? (b.fixed_ips as Record<string, unknown>[]) : [];
  if (fixed.some((f) => f && f.ip_address !== undefined)) ctx.enforce(`${action}_port:fixed_ips:ip_address`, target);
  for (const k of ['mac_address', 'port_security_enabled', 'binding:host_id', 'binding:profile', 'allowed_address_pairs', 'device_owner']) {
    if (b[k] === undefined) continue;
    // only network:* owners (service ports) are reserved to the network's owner
    if (k === 'device_owner' && !String(b[k]).startsWith('network:')) continue;
    ctx.enforce(`${action}_port:${k}`, target);
  }
}

export function portsRoutes(c: NetworkContext): Route[] {
  const create = async (ctx: RequestCtx, b: Record<string, unknown>) => {
    onlyKnown(b, CREATE_KEYS);
    const caller = callerOf(ctx);
    const projectId = ownerOf(ctx, b, caller);
    if (typeof b.network_id !== 'string') throw neutronError(400, 'BadRequest', "Failed to parse request. Required attribute 'network_id' not specified");
    const net = await networkOf(c, caller, b.network_id);
    enforceAttrs(ctx, 'create', b, { project_id: projectId, network_project_id: net.project_id });
    const r = await createPort(c, caller, {
      projectId, networkId: net.id, name: strAttr(b, 'name', ''), description: strAttr(b, 'description', ''),
      adminStateUp: boolAttr(b, 'admin_state_up', true), macAddress: b.mac_address as string | undefined, fixedIps: fixedIpsAttr(b.fixed_ips),
      deviceId: strAttr(b, 'device_id', ''), deviceOwner: strAttr(b, 'device_owner', ''),
      bindingHostId: strAttr(b, 'binding:host_id', ''), bindingVnicType: strAttr(b, 'binding:vnic_type', 'normal'), bindingProfile: profileAttr(b['binding:profile']),
      portSecurityEnabled: b.port_security_enabled === undefined ? undefined : boolAttr(b, 'port_security_enabled', true),
      securityGroups: groupsAttr(b.security_groups), allowedAddressPairs: b.allowed_address_pairs, extraDhcpOpts: b.extra_dhcp_opts,
      dnsName: strAttr(b, 'dns_name', ''),
    });
    return portView(r.port, r.fixedIps, [], caller);
  };
  const target = async (ctx: RequestCtx) => {
    const caller = callerOf(ctx);
    const p = await getPort(c, caller, ctx.params.id);
    const n = await c.db.selectFrom('network').select(['project_id']).where('id', '=', p.network_id).executeTakeFirst();
    return { project_id: p.project_id, network_project_id: n?.project_id ?? '' };
  };

  return [
    {
      method: 'GET', url: '/v2.0/ports', policy: 'get_port',
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const nq = ctx.query.network_id;
        const nets = nq === undefined ? undefined : Array.isArray(nq) ? nq : [nq];
        return listBody(ctx, 'ports', await portViews(c, await listPorts(c, caller, nets), caller), { filters: { fixed_ips: fixedIpsFilter } });
      },
    },
    {
      method: 'GET', url: '/v2.0/ports/:id', policy: 'get_port',
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const [v] = await portViews(c, [await getPort(c, caller, ctx.params.id)], caller);
        return { port: pickFields(v, fieldsOf(ctx)) };
      },
    },
    {
      method: 'POST', url: '/v2.0/ports', policy: 'create_port', status: 201,
      handler: async (ctx) => {
        const bulk = bulkOf(ctx, 'ports');
        if (bulk) {
          const out: View[] = [];
          for (const b of bulk) out.push(await create(ctx, b));
          return { ports: out };
        }
        return { port: await create(ctx, bodyOf(ctx, 'port')) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/ports/:id', policy: 'update_port', target,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'port');
        if (b.network_id !== undefined) throw neutronError(400, 'HTTPBadRequest', 'Cannot update read-only attribute network_id');
        onlyKnown(b, UPDATE_KEYS);
        enforceAttrs(ctx, 'update', b, await target(ctx));
        const caller = callerOf(ctx);
        const ch: PortChanges = {
          name: b.name === undefined ? undefined : strAttr(b, 'name', ''),
          description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
          adminStateUp: b.admin_state_up === undefined ? undefined : boolAttr(b, 'admin_state_up', true),
          macAddress: b.mac_address as string | undefined,
          fixedIps: fixedIpsAttr(b.fixed_ips),
          deviceId: b.device_id === undefined ? undefined : strAttr(b, 'device_id', ''),
          deviceOwner: b.device_owner === undefined ? undefined : strAttr(b, 'device_owner', ''),
          bindingHostId: b['binding:host_id'] === undefined ? undefined : strAttr(b, 'binding:host_id', ''),
          bindingVnicType: b['binding:vnic_type'] === undefined ? undefined : strAttr(b, 'binding:vnic_type', 'normal'),
          bindingProfile: profileAttr(b['binding:profile']),
          portSecurityEnabled: b.port_security_enabled === undefined ? undefined : boolAttr(b, 'port_security_enabled', true),
          securityGroups: groupsAttr(b.security_groups),
          allowedAddressPairs: b.allowed_address_pairs === null ? [] : b.allowed_address_pairs,
          extraDhcpOpts: b.extra_dhcp_opts,
          dnsName: b.dns_name === undefined ? undefined : strAttr(b, 'dns_name', ''),
        };
        const row = await updatePort(c, caller, ctx.params.id, ch);
        const [v] = await portViews(c, [row], caller);
        return { port: v };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/ports/:id', policy: 'delete_port', target,
      handler: async (ctx) => { await deletePort(c, callerOf(ctx), ctx.params.id); },
    },
  ];
}
