import { badRequest } from '../../core/errors.js';
import type { RequestCtx } from '../../core/http/routes.js';
import { FILTER_COLUMNS, SORT_KEYS, type ColumnFilter, type FilterColumn, type FilterOp, type ImageListQuery, type SortKey } from '../db/images-repo.js';
import { all, one } from './http.js';

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;
const RANGE_COLUMNS = ['size', 'virtual_size', 'min_ram', 'min_disk'];
const OPERATOR_COLUMNS = ['name', 'id', 'status', 'container_format', 'disk_format'];
const TIME_COLUMNS = ['created_at', 'updated_at'];
const INT_COLUMNS = ['size', 'virtual_size', 'min_ram', 'min_disk'];
const RESERVED_PARAMS = new Set(['limit', 'marker', 'member_status', 'tag', 'sort', 'sort_key', 'sort_dir', 'visibility']);

/** The list request as parsed: the query for the repository, and the marker still to resolve. */
export type ParsedList = Omit<ImageListQuery, 'viewer' | 'marker'> & { markerId?: string };

/** Splits `op:value` as Glance does; a bare ISO 8601 time (which has colons) is `eq`. */
function splitOp(expr: string): [string, string] {
  const i = expr.indexOf(':');
  if (i < 0) return ['eq', expr];
  if (/^\d{4}-\d{2}-\d{2}T/.test(expr) && !Number.isNaN(Date.parse(expr))) return ['eq', expr];
  return [expr.slice(0, i), expr.slice(i + 1)];
}

/** Values of an `in:` filter: comma separated, double quotes protect commas. */
export function splitInValues(value: string): string[] {
  let quotes = 0;
  for (let i = 0; i < value.length; i++) if (value[i] === '"' && (i === 0 || value[i - 1] !== '\\')) quotes++;
  if (quotes % 2) throw badRequest(`Invalid filter value ${value}. The quote is not closed.`);
  const out: string[] = [];
  const re = /"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,/g;
  for (const m of value.matchAll(re)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

function isoFilter(column: string, raw: string): string {
  const t = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(t)) throw badRequest(`Bad "${column}" query filter format. Use ISO 8601 DateTime notation.`);
  return new Date(t).toISOString();
}

function sorting(q: RequestCtx['query']): { key: SortKey; dir: 'asc' | 'desc' }[] {
  const key = (k: string) => {
    if (!SORT_KEYS.includes(k as SortKey)) throw badRequest(`Invalid sort key: ${k}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
    return k as SortKey;
  };
  const dir = (d: string) => {
    if (d !== 'asc' && d !== 'desc') throw badRequest(`Invalid sort direction: ${d}`);
    return d as 'asc' | 'desc';
  };
  const sort = one(q, 'sort');
  if (sort !== undefined) {
    if (q.sort_key !== undefined || q.sort_dir !== undefined) throw badRequest('Old and new sorting syntax cannot be combined');
    return sort.trim().split(',').map((part) => {
      const [k, d] = part.split(':');
      return { key: key(k.trim()), dir: dir((d ?? 'desc').trim() || 'desc') };
    });
  }
  const keys = all(q, 'sort_key').map((k) => key(k.trim()));
  const dirs = all(q, 'sort_dir').map((d) => dir(d.trim()));
  if (dirs.length > 1 && dirs.length !== keys.length) throw badRequest('Number of sort dirs does not match the number of sort keys');
  if (!keys.length) return [{ key: 'created_at', dir: dirs[0] ?? 'desc' }];
  return keys.map((k, i) => ({ key: k, dir: dirs.length > 1 ? dirs[i] : dirs[0] ?? 'desc' }));
}

/** The `limit` parameter as Glance checks it (v1 and v2), capped at MAX_LIMIT. */
export function limitOf(q: RequestCtx['query']): number {
  const rawLimit = one(q, 'limit');
  if (rawLimit === undefined) return DEFAULT_LIMIT;
  if (!/^-?\d+$/.test(rawLimit.trim())) throw badRequest('limit param must be an integer');
  const limit = Number(rawLimit);
  if (limit < 0) throw badRequest('limit param must be positive');
  return Math.min(limit, MAX_LIMIT);
}

/** GET /v2/images parameters, validated as Glance's deserializer and database layer do. */
export function parseListQuery(q: RequestCtx['query']): ParsedList {
  const limit = limitOf(q);
  const memberStatus = one(q, 'member_status') ?? 'accepted';
  if (!['pending', 'accepted', 'rejected', 'all'].includes(memberStatus)) throw badRequest(`Invalid status: ${memberStatus}`);
  const visibility = one(q, 'visibility');
  if (visibility !== undefined && !['community', 'public', 'private', 'shared', 'all'].includes(visibility)) {
    throw badRequest(`Invalid visibility value: ${visibility}`);
  }
  if (q['changes-since'] !== undefined) throw badRequest('The "changes-since" filter is no longer available on v2.');
  const osHidden = (one(q, 'os_hidden') ?? 'false').toLowerCase();
  if (osHidden !== 'true' && osHidden !== 'false') {
    throw badRequest(`Invalid value '${osHidden}' for 'os_hidden' filter. Valid values are 'true' or 'false'.`);
  }
  const filters: ColumnFilter[] = [{ column: 'os_hidden', op: 'eq', value: osHidden === 'true' ? 1 : 0 }];
  const properties: [string, string][] = [];
  for (const key of Object.keys(q)) {
    if (RESERVED_PARAMS.has(key) || key === 'os_hidden') continue;
    const value = one(q, key)!;
    if (key === 'protected') {
      if (value !== 'true' && value !== 'false') throw badRequest(`Invalid value '${value}' for 'protected' filter. Valid values are 'true' or 'false'.`);
      filters.push({ column: 'protected', op: 'eq', value: value === 'true' ? 1 : 0 });
    } else if ((key.endsWith('_min') || key.endsWith('_max')) && RANGE_COLUMNS.includes(key.slice(0, -4))) {
      if (!/^-?\d+$/.test(value.trim())) throw badRequest('Unable to filter on a range with a non-numeric value.');
      filters.push({ column: key.slice(0, -4) as FilterColumn, op: key.endsWith('_min') ? 'gte' : 'lte', value: Number(value) });
    } else if (TIME_COLUMNS.includes(key)) {
      const [op, v] = splitOp(value);
      if (!['gt', 'gte', 'lt', 'lte', 'neq', 'eq'].includes(op)) throw badRequest('Unable to filter on a unknown operator.');
      filters.push({ column: key as FilterColumn, op: op as FilterOp, value: isoFilter(key, v) });
    } else if (OPERATOR_COLUMNS.includes(key)) {
      const [op, v] = splitOp(value);
      if (op === 'in') filters.push({ column: key as FilterColumn, op: 'in', value: splitInValues(v) });
      else if (op === 'eq') filters.push({ column: key as FilterColumn, op: 'eq', value: v });
      else throw badRequest(`Unable to filter by unknown operator '${op}'.`);
    } else if (FILTER_COLUMNS.includes(key as FilterColumn)) {
      if (INT_COLUMNS.includes(key)) {
        // A non-number never equals an integer column: an empty answer, as the database gives.
        filters.push({ column: key as FilterColumn, op: 'eq', value: /^-?\d+$/.test(value) ? Number(value) : -1.5 });
      } else {
        filters.push({ column: key as FilterColumn, op: 'eq', value });
      }
    } else {
      properties.push([key, value]);
    }
  }
  return {
    memberStatus: memberStatus as ParsedList['memberStatus'],
    visibility,
    filters,
    properties,
    tags: all(q, 'tag').map((t) => t.trim()),
    sort: sorting(q),
    limit,
    markerId: one(q, 'marker'),
  };
}
