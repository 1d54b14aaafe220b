/**
 * Flavors (Nova's flavors, os-flavor-manage, os-flavor-extra-specs, os-flavor-access), with the
 * fields each microversion shows: description since 2.55, extra_specs since 2.61, swap 0 (not "")
 * since 2.75.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { FlavorRow } from '../../db/schema.js';
import type { ComputeContext } from '../../service/context.js';
import {
  addFlavorAccess, createFlavor, deleteExtraSpec, deleteFlavor, extraSpecs, extraSpecsOf, findFlavor, flavorAccess, getFlavorRow,
  listFlavors, removeFlavorAccess, setExtraSpecs, updateFlavorDescription,
} from '../../service/flavors.js';
import { at, baseUrl, callerOf, isObj, links, member, q1 } from '../common.js';

const P = 'os_compute_api:';
export const flavorsPolicy: Record<string, string> = {
  [`${P}os-flavor-manage:create`]: 'rule:admin_api',
  [`${P}os-flavor-manage:update`]: 'rule:admin_api',
  [`${P}os-flavor-manage:delete`]: 'rule:admin_api',
  [`${P}os-flavor-extra-specs:index`]: 'rule:project_reader_or_admin',
  [`${P}os-flavor-extra-specs:show`]: 'rule:project_reader_or_admin',
  [`${P}os-flavor-extra-specs:create`]: 'rule:admin_api',
  [`${P}os-flavor-extra-specs:update`]: 'rule:admin_api',
  [`${P}os-flavor-extra-specs:delete`]: 'rule:admin_api',
  [`${P}os-flavor-access`]: 'rule:admin_api',
  [`${P}os-flavor-access:add_tenant_access`]: 'rule:admin_api',
  [`${P}os-flavor-access:remove_tenant_access`]: 'rule:admin_api',
};

const MAX_INT = 2147483647;
const invalid = (field: string, value: unknown, why: string) =>
  badRequest(`Invalid input for field/attribute ${field}. Value: ${typeof value === 'string' ? value : JSON.stringify(value)}. ${why}`);

/** Nova's flavor_param_positive / _non_negative: an integer or a string of digits, within range. */
function intParam(field: string, v: unknown, min: number): number {
  let n: number;
  if (typeof v === 'number' && Number.isInteger(v)) n = v;
  else if (typeof v === 'string' && /^[0-9]+$/.test(v)) n = Number(v);
  else if (typeof v === 'string') throw invalid(field, v, `'${v}' does not match '^[0-9]*$'`);
  else throw invalid(field, v, `${JSON.stringify(v)} is not of type 'integer', 'string'`);
  if (n < min) throw invalid(field, v, `${n} is less than the minimum of ${min}`);
  if (n > MAX_INT) throw invalid(field, v, `${n} is greater than the maximum of ${MAX_INT}`);
  return n;
}

const TRUE = new Set(['true', '1', 'on', 'yes']);
const FALSE = new Set(['false', '0', 'off', 'no']);
/** Nova's parameter_types.boolean: JSON booleans or their usual string spellings. */
function boolParam(field: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && TRUE.has(v.toLowerCase())) return true;
  if (typeof v === 'string' && FALSE.has(v.toLowerCase())) return false;
  throw invalid(field, v, `${JSON.stringify(v)} is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']`);
}

/** Printable text without control characters (Nova's description format). */
function descriptionParam(v: unknown): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') throw invalid('description', v, `${JSON.stringify(v)} is not of type 'string', 'null'`);
  if (v.length > 65535) throw invalid('description', v, 'is too long');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v)) throw invalid('description', v, `'${v}' is not a 'description'`);
  return v;
}

const FLAVOR_ID_RE = /^(?! )[a-zA-Z0-9. _-]+(?<! )$/;

function parseCreate(ctx: RequestCtx) {
  const f = member(ctx.body, 'flavor');
  const allowed = new Set(['name', 'id', 'ram', 'vcpus', 'disk', 'OS-FLV-EXT-DATA:ephemeral', 'swap', 'rxtx_factor', 'os-flavor-access:is_public']);
  if (at(ctx, '2.55')) allowed.add('description');
  for (const k of Object.keys(f)) if (!allowed.has(k)) throw badRequest(`Invalid input for field/attribute flavor. Value: ${JSON.stringify(f)}. Additional properties are not allowed ('${k}' was unexpected)`);
  for (const k of ['name', 'ram', 'vcpus', 'disk']) if (!(k in f)) throw badRequest(`Invalid input for field/attribute flavor. Value: ${JSON.stringify(f)}. '${k}' is a required property`);
  const name = f.name;
  if (typeof name !== 'string') throw invalid('name', name, `${JSON.stringify(name)} is not of type 'string'`);
  if (name.length < 1 || name.length > 255) throw invalid('name', name, `'${name}' is too ${name.length < 1 ? 'short' : 'long'}`);
  // eslint-disable-next-line no-control-regex
  if (/^\s|\s$/.test(name) || /[\u0000-\u001f\u007f]/.test(name)) throw invalid('name', name, `'${name}' is not a 'name'`);
  let id: string;
  if (f.id === undefined || f.id === null) id = randomUUID();
  else if (typeof f.id === 'number' && Number.isFinite(f.id)) id = String(f.id);
  else if (typeof f.id === 'string') {
    if (f.id.length < 1 || f.id.length > 255 || !FLAVOR_ID_RE.test(f.id)) throw invalid('id', f.id, `'${f.id}' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'`);
    id = f.id;
  } else throw invalid('id', f.id, `${JSON.stringify(f.id)} is not of type 'string', 'number', 'null'`);
  let rxtx = 1;
  if (f.rxtx_factor !== undefined) {
    const v = f.rxtx_factor;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n) || n <= 0 || n > 3.40282e38) throw invalid('rxtx_factor', v, `${JSON.stringify(v)} is not a positive number`);
    rxtx = n;
  }
  return {
    flavorid: id,
    name,
    memory_mb: intParam('ram', f.ram, 1),
    vcpus: intParam('vcpus', f.vcpus, 1),
    root_gb: intParam('disk', f.disk, 0),
    ephemeral_gb: f['OS-FLV-EXT-DATA:ephemeral'] === undefined ? 0 : intParam('OS-FLV-EXT-DATA:ephemeral', f['OS-FLV-EXT-DATA:ephemeral'], 0),
    swap: f.swap === undefined ? 0 : intParam('swap', f.swap, 0),
    rxtx_factor: rxtx,
    is_public: f['os-flavor-access:is_public'] === undefined ? true : boolParam('os-flavor-access:is_public', f['os-flavor-access:is_public']),
    description: f.description === undefined ? null : descriptionParam(f.description),
  };
}

const flavorTarget = (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' });

export function flavorsRoutes(c: ComputeContext): Route[] {
  const canSeeSpecs = (ctx: RequestCtx) => ctx.allowed(`${P}os-flavor-extra-specs:index`, flavorTarget(ctx));

  const brief = (ctx: RequestCtx, f: FlavorRow) => ({
    id: f.flavorid, name: f.name, links: links(ctx, 'flavors', f.flavorid),
    ...(at(ctx, '2.55') ? { description: f.description } : {}),
  });
  const detail = (ctx: RequestCtx, f: FlavorRow, specs?: Record<string, string>) => ({
    id: f.flavorid,
    name: f.name,
    ram: f.memory_mb,
    disk: f.root_gb,
    swap: f.swap === 0 && !at(ctx, '2.75') ? '' : f.swap,
    vcpus: f.vcpus,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': Boolean(f.disabled),
    'os-flavor-access:is_public': Boolean(f.is_public),
    rxtx_factor: Number(f.rxtx_factor),
    links: links(ctx, 'flavors', f.flavorid),
    ...(at(ctx, '2.55') ? { description: f.description } : {}),
    ...(at(ctx, '2.61') && specs !== undefined ? { extra_specs: specs } : {}),
  });
  /** One flavor as show/create/update answer it (extra specs at 2.61 for those allowed). */
  const one = async (ctx: RequestCtx, f: FlavorRow) => ({
    flavor: detail(ctx, f, at(ctx, '2.61') && canSeeSpecs(ctx) ? await extraSpecs(c, f.flavorid) : undefined),
  });

  const list = (isDetail: boolean) => async (ctx: RequestCtx) => {
    const caller = callerOf(ctx);
    const num = (k: string) => {
      const v = q1(ctx, k);
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v)) throw badRequest(`Invalid ${k} filter [${v}]`);
      return Number(v);
    };
    let isPublic: boolean | null = true;
    if (caller.isAdmin) {
      const v = q1(ctx, 'is_public');
      if (v !== undefined) {
        const l = v.toLowerCase();
        if (l === 'none') isPublic = null;
        else if (TRUE.has(l) || l === 't' || l === 'y') isPublic = true;
        else if (FALSE.has(l) || l === 'f' || l === 'n') isPublic = false;
        else throw badRequest(`Invalid is_public filter [${v}]`);
      }
    }
    const limitRaw = q1(ctx, 'limit');
    if (limitRaw !== undefined && !/^\d+$/.test(limitRaw)) throw badRequest(`Invalid input for query parameters limit. Value: ${limitRaw}. '${limitRaw}' does not match '^[0-9]*$'`);
    const limit = Math.min(limitRaw === undefined || Number(limitRaw) === 0 ? 1000 : Number(limitRaw), 1000);
    const rows = await listFlavors(c, caller, {
      isPublic, includeDisabled: caller.isAdmin, minRam: num('minRam'), minDisk: num('minDisk'),
      sortKey: q1(ctx, 'sort_key'), sortDir: q1(ctx, 'sort_dir'), limit, marker: q1(ctx, 'marker'),
    });
    let flavors: unknown[];
    if (isDetail) {
      const specs = at(ctx, '2.61') && canSeeSpecs(ctx) ? await extraSpecsOf(c, rows.map((r) => r.flavorid)) : undefined;
      flavors = rows.map((f) => detail(ctx, f, specs?.get(f.flavorid)));
    } else flavors = rows.map((f) => brief(ctx, f));
    const body: Record<string, unknown> = { flavors };
    if (rows.length > 0 && rows.length === limit) {
      const u = new URL(`${baseUrl(ctx)}${ctx.req.url}`);
      u.searchParams.set('marker', rows[rows.length - 1].flavorid);
      body.flavors_links = [{ rel: 'next', href: u.toString() }];
    }
    return body;
  };

  const specsBody = (body: unknown): Record<string, string> => {
    if (!isObj(body) || !isObj(body.extra_specs)) throw badRequest(`Invalid input for field/attribute extra_specs. Value: ${JSON.stringify(body)}. 'extra_specs' is a required property`);
    for (const k of Object.keys(body)) if (k !== 'extra_specs') throw badRequest(`Additional properties are not allowed ('${k}' was unexpected)`);
    return specValues(body.extra_specs);
  };
  const specValues = (o: Record<string, unknown>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) {
      if (!/^[a-zA-Z0-9-_:. ]{1,255}$/.test(k)) throw badRequest(`Invalid input for field/attribute extra_specs. Value: ${JSON.stringify(o)}. '${k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'`);
      let s: string;
      if (typeof v === 'string') s = v;
      else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
      else if (typeof v === 'boolean') s = v ? 'True' : 'False';
      else throw badRequest(`Invalid input for field/attribute ${k}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'string', 'number', 'boolean'`);
      if (s.length > 255) throw badRequest(`Invalid input for field/attribute ${k}. Value: ${s}. '${s}' is too long`);
      out[k] = s;
    }
    return out;
  };

  return [
    { method: 'GET', url: '/v2.1/flavors', policy: 'authenticated', handler: list(false) },
    { method: 'GET', url: '/v2.1/flavors/detail', policy: 'authenticated', handler: list(true) },
    {
      method: 'GET', url: '/v2.1/flavors/:id', policy: 'authenticated',
      handler: async (ctx) => one(ctx, await findFlavor(c, callerOf(ctx), ctx.params.id)),
    },
    {
      method: 'POST', url: '/v2.1/flavors', policy: `${P}os-flavor-manage:create`, target: flavorTarget,
      handler: async (ctx) => one(ctx, await createFlavor(c, parseCreate(ctx))),
    },
    {
      method: 'PUT', url: '/v2.1/flavors/:id', policy: `${P}os-flavor-manage:update`, target: flavorTarget,
      handler: async (ctx) => {
        if (!at(ctx, '2.55')) throw notFound('The resource could not be found.');
        const f = member(ctx.body, 'flavor');
        for (const k of Object.keys(f)) if (k !== 'description') throw badRequest(`Invalid input for field/attribute flavor. Value: ${JSON.stringify(f)}. Additional properties are not allowed ('${k}' was unexpected)`);
        if (!('description' in f)) throw badRequest(`Invalid input for field/attribute flavor. Value: ${JSON.stringify(f)}. 'description' is a required property`);
        return one(ctx, await updateFlavorDescription(c, ctx.params.id, descriptionParam(f.description)));
      },
    },
    {
      method: 'DELETE', url: '/v2.1/flavors/:id', policy: `${P}os-flavor-manage:delete`, target: flavorTarget, status: 202,
      handler: async (ctx) => {
        await deleteFlavor(c, ctx.params.id);
      },
    },

    // extra specs
    {
      method: 'GET', url: '/v2.1/flavors/:id/os-extra_specs', policy: `${P}os-flavor-extra-specs:index`, target: flavorTarget,
      handler: async (ctx) => {
        await getFlavorRow(c, ctx.params.id);
        return { extra_specs: await extraSpecs(c, ctx.params.id) };
      },
    },
    {
      method: 'POST', url: '/v2.1/flavors/:id/os-extra_specs', policy: `${P}os-flavor-extra-specs:create`, target: flavorTarget,
      handler: async (ctx) => {
        const specs = specsBody(ctx.body);
        await setExtraSpecs(c, ctx.params.id, specs);
        return { extra_specs: specs };
      },
    },
    {
      method: 'GET', url: '/v2.1/flavors/:id/os-extra_specs/:key', policy: `${P}os-flavor-extra-specs:show`, target: flavorTarget,
      handler: async (ctx) => {
        await getFlavorRow(c, ctx.params.id);
        const specs = await extraSpecs(c, ctx.params.id);
        if (!(ctx.params.key in specs)) throw notFound(`Flavor ${ctx.params.id} has no extra specs with key ${ctx.params.key}.`);
        return { [ctx.params.key]: specs[ctx.params.key] };
      },
    },
    {
      method: 'PUT', url: '/v2.1/flavors/:id/os-extra_specs/:key', policy: `${P}os-flavor-extra-specs:update`, target: flavorTarget,
      handler: async (ctx) => {
        const body = ctx.body;
        if (!isObj(body) || Object.keys(body).length === 0) throw badRequest(`Invalid input for field/attribute ${ctx.params.key}. Value: ${JSON.stringify(body)}. The body must hold exactly one extra spec`);
        if (Object.keys(body).length > 1) throw badRequest('Request body contains too many items');
        const specs = specValues(body);
        if (!(ctx.params.key in specs)) throw badRequest('Request body and URI mismatch');
        await setExtraSpecs(c, ctx.params.id, specs);
        return specs;
      },
    },
    {
      method: 'DELETE', url: '/v2.1/flavors/:id/os-extra_specs/:key', policy: `${P}os-flavor-extra-specs:delete`, target: flavorTarget, status: 200,
      handler: async (ctx) => {
        await deleteExtraSpec(c, ctx.params.id, ctx.params.key);
      },
    },

    // access
    {
      method: 'GET', url: '/v2.1/flavors/:id/os-flavor-access', policy: `${P}os-flavor-access`, target: flavorTarget,
      handler: async (ctx) => {
        const f = await getFlavorRow(c, ctx.params.id);
        if (f.is_public) throw notFound('Access list not available for public flavors.');
        return { flavor_access: await flavorAccess(c, f.flavorid) };
      },
    },
    {
      method: 'POST', url: '/v2.1/flavors/:id/action', policy: 'authenticated',
      handler: async (ctx) => {
        const body = ctx.body;
        if (!isObj(body) || Object.keys(body).length !== 1) throw badRequest('Malformed request body');
        const action = Object.keys(body)[0];
        const rule = action === 'addTenantAccess' ? 'add_tenant_access' : action === 'removeTenantAccess' ? 'remove_tenant_access' : undefined;
        if (!rule) throw badRequest(`There is no such action: ${action}`);
        ctx.enforce(`${P}os-flavor-access:${rule}`, flavorTarget(ctx));
        const a = body[action];
        if (!isObj(a) || typeof a.tenant !== 'string' || a.tenant.length < 1 || a.tenant.length > 255) {
          throw badRequest(`Invalid input for field/attribute ${action}. Value: ${JSON.stringify(a)}. 'tenant' is a required property`);
        }
        for (const k of Object.keys(a)) if (k !== 'tenant') throw badRequest(`Invalid input for field/attribute ${action}. Value: ${JSON.stringify(a)}. Additional properties are not allowed ('${k}' was unexpected)`);
        const f = await getFlavorRow(c, ctx.params.id);
        if (rule === 'add_tenant_access') {
          if (!(await c.identity.getProject(a.tenant))) throw badRequest(`Project ID ${a.tenant} is not a valid project.`);
          await addFlavorAccess(c, f, a.tenant);
        } else await removeFlavorAccess(c, f, a.tenant);
        return { flavor_access: await flavorAccess(c, f.flavorid) };
      },
    },
  ];
}
