/** Subnet pools (/v2.0/subnetpools): subnet_allocation and default-subnetpools. */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { fromJson } from '../../../core/db/database.js';
import type { SubnetPoolRow } from '../../db/schema.js';
import type { NetworkContext } from '../../service/context.js';
import { neutronError } from '../../service/errors.js';
import { createSubnetPool, deleteSubnetPool, getSubnetPool, listSubnetPools, updateSubnetPool } from '../../service/subnetpools.js';
import { tagsOf } from '../../service/tags.js';
import { bodyOf, boolAttr, bulkOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, standardView, strAttr, type View } from '../common.js';
import { intAttr } from './subnets.js';

export const subnetpoolsPolicy: Record<string, string> = {
  create_subnetpool: '',
  'create_subnetpool:shared': 'rule:admin_only',
  'create_subnetpool:is_default': 'rule:admin_only',
  get_subnetpool: '',
  update_subnetpool: 'rule:admin_or_owner',
  'update_subnetpool:is_default': 'rule:admin_only',
  delete_subnetpool: 'rule:admin_or_owner',
};

const CREATE_KEYS = ['name', 'description', 'prefixes', 'default_prefixlen', 'min_prefixlen', 'max_prefixlen', 'shared', 'is_default',
  'default_quota', 'address_scope_id', 'project_id', 'tenant_id'] as const;
const UPDATE_KEYS = ['name', 'description', 'prefixes', 'default_prefixlen', 'min_prefixlen', 'max_prefixlen', 'is_default', 'default_quota', 'address_scope_id'] as const;

export function subnetPoolView(p: SubnetPoolRow, tags: string[]): View {
  return {
    id: p.id,
    name: p.name,
    ip_version: p.ip_version,
    prefixes: fromJson(p.prefixes, []),
    default_prefixlen: p.default_prefixlen,
    min_prefixlen: p.min_prefixlen,
    max_prefixlen: p.max_prefixlen,
    shared: !!p.shared,
    is_default: !!p.is_default,
    default_quota: p.default_quota,
    address_scope_id: p.address_scope_id,
    ...standardView(p, tags),
  };
}

async function views(c: NetworkContext, rows: SubnetPoolRow[]): Promise<View[]> {
  const tags = await tagsOf(c.db, rows.map((r) => r.id));
  return rows.map((r) => subnetPoolView(r, tags.get(r.id) ?? []));
}

const optStr = (b: Record<string, unknown>, key: string): string | null | undefined => {
  const v = b[key];
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'string') throw neutronError(400, 'InvalidInput', `Invalid input for ${key}. Reason: '${String(v)}' is not a valid string.`);
  return v;
};

export function subnetpoolsRoutes(c: NetworkContext): Route[] {
  const create = async (ctx: RequestCtx, b: Record<string, unknown>) => {
    onlyKnown(b, CREATE_KEYS);
    const caller = callerOf(ctx);
    const projectId = ownerOf(ctx, b, caller);
    for (const k of ['shared', 'is_default']) if (b[k] !== undefined && boolAttr(b, k, false)) ctx.enforce(`create_subnetpool:${k}`, { project_id: projectId });
    if (b.prefixes === undefined) throw neutronError(400, 'BadRequest', "Failed to parse request. Required attribute 'prefixes' not specified");
    const row = await createSubnetPool(c, {
      projectId, name: strAttr(b, 'name', ''), description: strAttr(b, 'description', ''), prefixes: b.prefixes,
      defaultPrefixlen: intAttr(b, 'default_prefixlen'), minPrefixlen: intAttr(b, 'min_prefixlen'), maxPrefixlen: intAttr(b, 'max_prefixlen'),
      shared: boolAttr(b, 'shared', false), isDefault: boolAttr(b, 'is_default', false), defaultQuota: intAttr(b, 'default_quota') ?? null,
      addressScopeId: optStr(b, 'address_scope_id'),
    });
    return subnetPoolView(row, []);
  };
  const owner = async (ctx: RequestCtx) => ({ project_id: (await getSubnetPool(c, callerOf(ctx), ctx.params.id)).project_id });
  return [
    {
      method: 'GET', url: '/v2.0/subnetpools', policy: 'get_subnetpool',
      handler: async (ctx) => listBody(ctx, 'subnetpools', await views(c, await listSubnetPools(c, callerOf(ctx)))),
    },
    {
      method: 'GET', url: '/v2.0/subnetpools/:id', policy: 'get_subnetpool',
      handler: async (ctx) => {
        const [v] = await views(c, [await getSubnetPool(c, callerOf(ctx), ctx.params.id)]);
        return { subnetpool: pickFields(v, fieldsOf(ctx)) };
      },
    },
    {
      method: 'POST', url: '/v2.0/subnetpools', policy: 'create_subnetpool', status: 201,
      handler: async (ctx) => {
        const bulk = bulkOf(ctx, 'subnetpools');
        if (bulk) {
          const out: View[] = [];
          for (const b of bulk) out.push(await create(ctx, b));
          return { subnetpools: out };
        }
        return { subnetpool: await create(ctx, bodyOf(ctx, 'subnetpool')) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/subnetpools/:id', policy: 'update_subnetpool', target: owner,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'subnetpool');
        onlyKnown(b, UPDATE_KEYS);
        if (b.is_default !== undefined) ctx.enforce('update_subnetpool:is_default', await owner(ctx));
        const row = await updateSubnetPool(c, callerOf(ctx), ctx.params.id, {
          name: b.name === undefined ? undefined : strAttr(b, 'name', ''),
          description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
          prefixes: b.prefixes,
          defaultPrefixlen: intAttr(b, 'default_prefixlen'), minPrefixlen: intAttr(b, 'min_prefixlen'), maxPrefixlen: intAttr(b, 'max_prefixlen'),
          isDefault: b.is_default === undefined ? undefined : boolAttr(b, 'is_default', false),
          defaultQuota: b.default_quota === undefined ? undefined : intAttr(b, 'default_quota') ?? null,
          addressScopeId: optStr(b, 'address_scope_id'),
        });
        const [v] = await views(c, [row]);
        return { subnetpool: v };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/subnetpools/:id', policy: 'delete_subnetpool', target: owner,
      handler: async (ctx) => { await deleteSubnetPool(c, callerOf(ctx), ctx.params.id); },
    },
  ];
}
