/**
 * What every Neutron resource API shares: the caller, `fields`, filters on any attribute,
 * tag filters, sorting, limit/marker pagination with links, and request-body unwrapping.
 */
import type { RequestCtx } from '../../core/http/routes.js';
import { badRequest } from '../../core/errors.js';
import type { Caller } from '../service/context.js';
import { neutronError } from '../service/errors.js';

export type View = Record<string, unknown>;

export const callerOf = (ctx: RequestCtx): Caller => ({
  projectId: ctx.auth.projectId ?? '',
  userId: ctx.auth.userId,
  isAdmin: ctx.allowed('context_is_admin'),
});

/** The base URL the client used (for links). */
export const baseUrl = (ctx: RequestCtx): string => `${ctx.req.protocol}://${ctx.req.headers.host ?? 'localhost'}`;

const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** `?fields=a&fields=b` (or `fields=a,b`): the attributes to return; empty means all. */
export function fieldsOf(ctx: RequestCtx): string[] {
  return all(ctx.query.fields).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
}

export function pickFields(view: View, fields: string[]): View {
  if (fields.length === 0) return view;
  const out: View = {};
  for (const f of fields) if (f in view) out[f] = view[f];
  return out;
}

/** Query parameters that are never attribute filters. */
const RESERVED = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

const parseBool = (s: string): boolean | undefined => {
  const l = s.toLowerCase();
  if (l === 'true' || l === '1' || l === 'yes' || l === 'on') return true;
  if (l === 'false' || l === '0' || l === 'no' || l === 'off') return false;
  return undefined;
};

/** Whether a view's attribute matches one of the filter values, compared by the attribute's type. */
export function matchesValue(actual: unknown, wanted: string[]): boolean {
  return wanted.some((w) => {
    if (typeof actual === 'boolean') return parseBool(w) === actual;
    if (typeof actual === 'number') return Number(w) === actual;
    if (actual === null || actual === undefined) return w === '' || w === 'None' || w === 'null';
    if (Array.isArray(actual)) return actual.some((a) => String(a) === w);
    return String(actual) === w;
  });
}

/** A custom filter for attributes that are not plain values (fixed_ips=ip_address=..., ...). */
export type CustomFilter = (view: View, values: string[]) => boolean;

export interface ListOptions {
  /** Per-attribute filter functions that replace the plain comparison. */
  filters?: Record<string, CustomFilter>;
  /** Parameters accepted but not filters of this resource (ignored). */
  ignore?: string[];
}

/** Tag filters: tags (all of), tags-any, not-tags (not all of), not-tags-any. */
function matchesTags(view: View, query: RequestCtx['query']): boolean {
  const tags = new Set((view.tags as string[] | undefined) ?? []);
  const list = (k: string) => all(query[k]).flatMap((v) => v.split(',')).filter(Boolean);
  const allOf = list('tags');
  const anyOf = list('tags-any');
  const notAll = list('not-tags');
  const notAny = list('not-tags-any');
  if (allOf.length && !allOf.every((t) => tags.has(t))) return false;
  if (anyOf.length && !anyOf.some((t) => tags.has(t))) return false;
  if (notAll.length && notAll.every((t) => tags.has(t))) return false;
  if (notAny.length && notAny.some((t) => tags.has(t))) return false;
  return true;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/**
 * The body of a list call, Neutron style: filters (every non-reserved parameter names an
 * attribute; repeated values are alternatives), tag filters, sorting by sort_key/sort_dir
 * (id breaks ties), limit/marker/page_reverse with `<collection>_links`, then `fields`.
 */
export function listBody(ctx: RequestCtx, collection: string, views: View[], opts: ListOptions = {}): Record<string, unknown> {
  const q = ctx.query;
  let items = views.filter((v) => matchesTags(v, q));
  for (const [key, raw] of Object.entries(q)) {
    if (RESERVED.has(key) || opts.ignore?.includes(key) || raw === undefined) continue;
    const values = all(raw);
    const custom = opts.filters?.[key];
    if (custom) items = items.filter((v) => custom(v, values));
    else if (items.length > 0 && !(key in items[0])) continue; // an attribute this resource lacks matches nothing in Neutron; we ignore it
    else items = items.filter((v) => matchesValue(v[key], values));
  }

  const keys = all(q.sort_key);
  const dirs = all(q.sort_dir);
  if (dirs.length > keys.length) throw badRequest('The number of sort_keys and sort_dirs must be same');
  for (const d of dirs) if (d !== 'asc' && d !== 'desc') throw badRequest(`${d} is invalid value for sort_dir, valid value is 'asc' and 'desc'`);
  if (keys.length > 0 && items.length > 0) {
    for (const k of keys) if (!(k in items[0])) throw badRequest(`${k} is invalid attribute for sort_key`);
  }
  const order = keys.map((k, i) => ({ k, desc: (dirs[i] ?? 'asc') === 'desc' }));
  if (!keys.includes('id')) order.push({ k: 'id', desc: order[0]?.desc ?? false });
  items = [...items].sort((a, b) => {
    for (const o of order) {
      const c = compare(a[o.k], b[o.k]);
      if (c !== 0) return o.desc ? -c : c;
    }
    return 0;
  });

  const limitRaw = all(q.limit).at(-1);
  const marker = all(q.marker).at(-1);
  const reverse = parseBool(all(q.page_reverse).at(-1) ?? 'false') === true;
  let limit: number | undefined;
  if (limitRaw !== undefined && limitRaw !== '') {
    if (!/^-?\d+$/.test(limitRaw)) throw neutronError(400, 'BadRequest', `Bad limit request: Limit must be an integer 0 or greater and not '${limitRaw}'.`);
    limit = Number(limitRaw);
    if (limit < 0) throw neutronError(400, 'BadRequest', `Bad limit request: Limit must be an integer 0 or greater and not '${limitRaw}'.`);
    if (limit === 0) limit = undefined;
  }
  const links: { rel: string; href: string }[] = [];
  if (limit !== undefined || marker !== undefined) {
    let list = reverse ? [...items].reverse() : items;
    let start = 0;
    if (marker) {
      const i = list.findIndex((v) => v.id === marker);
      start = i < 0 ? list.length : i + 1;
    }
    const page = list.slice(start, limit === undefined ? undefined : start + limit);
    const more = limit !== undefined && start + limit < list.length;
    const link = (rel: string, id: unknown, rev: boolean) => {
      const u = new URL(`${baseUrl(ctx)}${ctx.req.url}`);
      u.searchParams.set('marker', String(id));
      if (rev) u.searchParams.set('page_reverse', 'True'); else u.searchParams.delete('page_reverse');
      return { rel, href: u.toString() };
    };
    list = reverse ? [...page].reverse() : page;
    if (page.length > 0) {
      if (more) links.push(link(reverse ? 'previous' : 'next', page[page.length - 1].id, reverse));
      if (marker) links.push(link(reverse ? 'next' : 'previous', page[0].id, !reverse));
    }
    items = list;
  }
  const fields = fieldsOf(ctx);
  const body: Record<string, unknown> = { [collection]: items.map((v) => pickFields(v, fields)) };
  if (links.length) body[`${collection}_links`] = links;
  return body;
}

/** The resource object of a create/update body: `{"network": {...}}`; a 400 otherwise. */
export function bodyOf(ctx: RequestCtx, resource: string): Record<string, unknown> {
  const b = ctx.body as Record<string, unknown> | undefined;
  const r = b?.[resource];
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw badRequest(`Resource body required: '${resource}' is missing or not an object`);
  return r as Record<string, unknown>;
}

/** A bulk create body `{"networks": [...]}`, or undefined for a single create. */
export function bulkOf(ctx: RequestCtx, collection: string): Record<string, unknown>[] | undefined {
  const b = ctx.body as Record<string, unknown> | undefined;
  const r = b?.[collection];
  if (r === undefined) return undefined;
  if (!Array.isArray(r) || r.some((x) => !x || typeof x !== 'object' || Array.isArray(x))) throw badRequest(`Invalid body: '${collection}' must be a list of objects`);
  return r as Record<string, unknown>[];
}

/** Reads a boolean attribute as Neutron's converter does ("true", "False", 1, true...). */
export function boolAttr(body: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = body[key];
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const b = parseBool(v);
    if (b !== undefined) return b;
  }
  throw neutronError(400, 'InvalidInput', `Invalid input for ${key}. Reason: '${String(v)}' cannot be converted to boolean.`);
}

/** A string attribute with Neutron's length limit (255 for names, 255 for descriptions). */
export function strAttr(body: Record<string, unknown>, key: string, fallback: string, max = 255): string {
  const v = body[key];
  if (v === undefined) return fallback;
  if (v === null && fallback === '') return '';
  if (typeof v !== 'string') throw neutronError(400, 'InvalidInput', `Invalid input for ${key}. Reason: '${String(v)}' is not a valid string.`);
  if (v.length > max) throw neutronError(400, 'InvalidInput', `Invalid input for ${key}. Reason: '${v}' exceeds maximum length of ${max}.`);
  return v;
}

/** Rejects attributes a resource does not have (Neutron: "Unrecognized attribute(s)"). */
export function onlyKnown(body: Record<string, unknown>, known: readonly string[]): void {
  const extra = Object.keys(body).filter((k) => !known.includes(k));
  if (extra.length) throw badRequest(`Unrecognized attribute(s) '${extra.join(', ')}'`);
}

/** The project a create is for: `project_id`/`tenant_id` in the body (admins only for another project), else the caller's. */
export function ownerOf(ctx: RequestCtx, body: Record<string, unknown>, caller: Caller): string {
  const p = (body.project_id ?? body.tenant_id) as string | undefined;
  if (body.project_id !== undefined && body.tenant_id !== undefined && body.project_id !== body.tenant_id) {
    throw badRequest("'project_id' and 'tenant_id' do not match");
  }
  if (p === undefined || p === caller.projectId) return caller.projectId;
  if (typeof p !== 'string') throw badRequest('project_id must be a string');
  if (!caller.isAdmin) throw neutronError(403, 'HTTPForbidden', 'Specifying \'project_id\' or \'tenant_id\' other than the authenticated project in request requires admin privileges');
  void ctx;
  return p;
}

/** Standard attributes in a view (both project_id and tenant_id, as Neutron shows them). */
export function standardView(row: { project_id: string; description: string; revision_number: number; created_at: string; updated_at: string }, tags: string[]): View {
  return {
    project_id: row.project_id,
    tenant_id: row.project_id,
    description: row.description,
    revision_number: row.revision_number,
    created_at: row.created_at,
    updated_at: row.updated_at,
    tags,
  };
}
