/** Routers (/v2.0/routers) with ext-gw-mode, extraroute(-atomic) and router_availability_zone. */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { fromJson } from '../../../core/db/database.js';
import type { RouterRow } from '../../db/schema.js';
import type { Caller, NetworkContext } from '../../service/context.js';
import { neutronError } from '../../service/errors.js';
import {
  addRouterInterface, changeExtraRoutes, createRouter, deleteRouter, getRouter, listRouters, removeRouterInterface, routerLegs, routerRoutes,
  updateRouter, type GatewayInfo, type Route as ExtraRoute, type RouterChanges,
} from '../../service/routers.js';
import { tagsOf } from '../../service/tags.js';
import { bodyOf, boolAttr, bulkOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, standardView, strAttr, type View } from '../common.js';

const ADMIN = 'rule:admin_only';
export const routersPolicy: Record<string, string> = {
  create_router: '',
  'create_router:external_gateway_info:enable_snat': ADMIN,
  'create_router:external_gateway_info:external_fixed_ips': ADMIN,
  'create_router:distributed': ADMIN,
  'create_router:ha': ADMIN,
  get_router: '',
  'get_router:distributed': ADMIN,
  'get_router:ha': ADMIN,
  update_router: 'rule:admin_or_owner',
  'update_router:external_gateway_info:enable_snat': ADMIN,
  'update_router:external_gateway_info:external_fixed_ips': ADMIN,
  'update_router:distributed': ADMIN,
  'update_router:ha': ADMIN,
  delete_router: 'rule:admin_or_owner',
  add_router_interface: 'rule:admin_or_owner',
  remove_router_interface: 'rule:admin_or_owner',
  add_extraroutes: 'rule:admin_or_owner',
  remove_extraroutes: 'rule:admin_or_owner',
};

const CREATE_KEYS = ['name', 'description', 'admin_state_up', 'external_gateway_info', 'distributed', 'ha', 'availability_zone_hints',
  'project_id', 'tenant_id', 'flavor_id'] as const;
const UPDATE_KEYS = ['name', 'description', 'admin_state_up', 'external_gateway_info', 'routes', 'distributed', 'ha'] as const;

export async function routerViews(c: NetworkContext, rows: RouterRow[], caller: Caller): Promise<View[]> {
  const tags = await tagsOf(c.db, rows.map((r) => r.id));
  const out: View[] = [];
  for (const r of rows) {
    let gw: View | null = null;
    if (r.gw_network_id) {
      const legs = await routerLegs(c.db, r.id);
      gw = { network_id: r.gw_network_id, enable_snat: !!r.enable_snat, external_fixed_ips: legs.gateway?.ips ?? [] };
    }
    const v: View = {
      id: r.id, name: r.name, admin_state_up: !!r.admin_state_up, status: r.status, external_gateway_info: gw,
      routes: routerRoutes(r), availability_zone_hints: fromJson<string[]>(r.availability_zone_hints, []), availability_zones: ['nova'],
      ...standardView(r, tags.get(r.id) ?? []),
    };
    // distributed/ha are admin-only attributes in Neutron's default policy
    if (caller.isAdmin) { v.distributed = !!r.distributed; v.ha = !!r.ha; }
    out.push(v);
  }
  return out;
}

/** external_gateway_info: undefined (unchanged), null ({} too: no gateway), or the gateway wanted. */
function gatewayAttr(ctx: RequestCtx, action: 'create' | 'update', raw: unknown, target: Record<string, unknown>): GatewayInfo | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for external_gateway_info. Reason: '${String(raw)}' is not a dictionary.`);
  const g = raw as Record<string, unknown>;
  if (Object.keys(g).length === 0) return null;
  const extra = Object.keys(g).filter((k) => !['network_id', 'enable_snat', 'external_fixed_ips'].includes(k));
  if (extra.length) throw neutronError(400, 'InvalidInput', `Invalid input for external_gateway_info. Reason: Unrecognized attribute(s) '${extra.join(', ')}'.`);
  if (typeof g.network_id !== 'string' || g.network_id === '') throw neutronError(400, 'InvalidInput', 'Invalid input for external_gateway_info. Reason: network_id is required.');
  if (g.enable_snat !== undefined) ctx.enforce(`${action}_router:external_gateway_info:enable_snat`, target);
  let fixedIps: GatewayInfo['fixedIps'];
  if (g.external_fixed_ips !== undefined) {
    ctx.enforce(`${action}_router:external_gateway_info:external_fixed_ips`, target);
    if (!Array.isArray(g.external_fixed_ips)) throw neutronError(400, 'InvalidInput', 'Invalid input for external_fixed_ips. Reason: not a list.');
    fixedIps = g.external_fixed_ips.map((f) => {
      const o = (f ?? {}) as Record<string, unknown>;
      return { subnetId: o.subnet_id as string | undefined, ipAddress: o.ip_address as string | undefined };
    });
  }
  return { networkId: g.network_id, enableSnat: g.enable_snat === undefined ? undefined : boolAttr(g, 'enable_snat', true), fixedIps };
}

function routesAttr(raw: unknown): ExtraRoute[] {
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw neutronError(400, 'InvalidInput', `Invalid input for routes. Reason: '${String(raw)}' is not a list.`);
  return raw as ExtraRoute[];
}

/** distributed/ha: admins only, and only `false` (no DVR nor L3 HA here). */
function modeAttrs(ctx: RequestCtx, action: 'create' | 'update', b: Record<string, unknown>, target: Record<string, unknown>): void {
  for (const k of ['distributed', 'ha']) {
    if (b[k] === undefined) continue;
    ctx.enforce(`${action}_router:${k}`, target);
    if (boolAttr(b, k, false)) throw neutronError(400, 'BadRequest', `Bad router request: ${k === 'ha' ? 'L3 HA' : 'Distributed'} routers are not supported.`);
  }
}

const interfaceBody = (ctx: RequestCtx): { subnetId?: string; portId?: string } => {
  const b = (ctx.body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw neutronError(400, 'BadRequest', 'Bad router request: body must be an object');
  const str = (k: string) => {
    const v = b[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw neutronError(400, 'InvalidInput', `Invalid input for ${k}. Reason: '${String(v)}' is not a valid UUID.`);
    return v;
  };
  return { subnetId: str('subnet_id'), portId: str('port_id') };
};

export function routersRoutes(c: NetworkContext): Route[] {
  const owner = async (ctx: RequestCtx) => ({ project_id: (await getRouter(c, callerOf(ctx), ctx.params.id)).project_id });
  const one = async (ctx: RequestCtx, r: RouterRow) => (await routerViews(c, [r], callerOf(ctx)))[0];

  const create = async (ctx: RequestCtx, b: Record<string, unknown>) => {
    onlyKnown(b, CREATE_KEYS);
    const caller = callerOf(ctx);
    const projectId = ownerOf(ctx, b, caller);
    const target = { project_id: projectId };
    modeAttrs(ctx, 'create', b, target);
    const hints = b.availability_zone_hints;
    if (hints !== undefined && (!Array.isArray(hints) || hints.some((h) => typeof h !== 'string'))) throw neutronError(400, 'InvalidInput', 'Invalid input for availability_zone_hints.');
    for (const h of (hints as string[] | undefined) ?? []) {
      if (h !== 'nova') throw neutronError(404, 'AvailabilityZoneNotFound', `AvailabilityZone ${h} could not be found.`);
    }
    const row = await createRouter(c, {
      projectId, name: strAttr(b, 'name', ''), description: strAttr(b, 'description', ''), adminStateUp: boolAttr(b, 'admin_state_up', true),
      gateway: gatewayAttr(ctx, 'create', b.external_gateway_info, target), availabilityZoneHints: (hints as string[] | undefined) ?? [],
    });
    return one(ctx, row);
  };

  return [
    {
      method: 'GET', url: '/v2.0/routers', policy: 'get_router',
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        return listBody(ctx, 'routers', await routerViews(c, await listRouters(c, caller), caller));
      },
    },
    {
      method: 'GET', url: '/v2.0/routers/:id', policy: 'get_router', target: owner,
      handler: async (ctx) => ({ router: pickFields(await one(ctx, await getRouter(c, callerOf(ctx), ctx.params.id)), fieldsOf(ctx)) }),
    },
    {
      method: 'POST', url: '/v2.0/routers', policy: 'create_router', status: 201,
      handler: async (ctx) => {
        const bulk = bulkOf(ctx, 'routers');
        if (bulk) {
          const out: View[] = [];
          for (const b of bulk) out.push(await create(ctx, b));
          return { routers: out };
        }
        return { router: await create(ctx, bodyOf(ctx, 'router')) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/routers/:id', policy: 'update_router', target: owner,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'router');
        onlyKnown(b, UPDATE_KEYS);
        const target = await owner(ctx);
        modeAttrs(ctx, 'update', b, target);
        const ch: RouterChanges = {
          name: b.name === undefined ? undefined : strAttr(b, 'name', ''),
          description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
          adminStateUp: b.admin_state_up === undefined ? undefined : boolAttr(b, 'admin_state_up', true),
          gateway: gatewayAttr(ctx, 'update', b.external_gateway_info, target),
          routes: b.routes === undefined ? undefined : routesAttr(b.routes),
        };
        return { router: await one(ctx, await updateRouter(c, callerOf(ctx), ctx.params.id, ch)) };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/routers/:id', policy: 'delete_router', target: owner,
      handler: async (ctx) => { await deleteRouter(c, callerOf(ctx), ctx.params.id); },
    },
    {
      method: 'PUT', url: '/v2.0/routers/:id/add_router_interface', policy: 'add_router_interface', target: owner,
      handler: async (ctx) => addRouterInterface(c, callerOf(ctx), ctx.params.id, interfaceBody(ctx)),
    },
    {
      method: 'PUT', url: '/v2.0/routers/:id/remove_router_interface', policy: 'remove_router_interface', target: owner,
      handler: async (ctx) => removeRouterInterface(c, callerOf(ctx), ctx.params.id, interfaceBody(ctx)),
    },
    ...(['add', 'remove'] as const).map((op): Route => ({
      method: 'PUT', url: `/v2.0/routers/:id/${op}_extraroutes`, policy: `${op}_extraroutes`, target: owner,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'router');
        onlyKnown(b, ['routes']);
        const row = await changeExtraRoutes(c, callerOf(ctx), ctx.params.id, routesAttr(b.routes ?? []), op === 'add');
        return { router: await one(ctx, row) };
      },
    })),
  ];
}
