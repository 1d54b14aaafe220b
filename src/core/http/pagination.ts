import { badRequest, notFound } from '../errors.js';

export interface PageRequest {
  limit?: number;
  marker?: string;
}

/** Reads ?limit=&marker= as OpenStack APIs do: limit is a non-negative integer, capped at max. */
export function parsePage(query: Record<string, string | string[] | undefined>, maxLimit = 1000): PageRequest {
  const pick = (k: string) => { const v = query[k]; return Array.isArray(v) ? v[v.length - 1] : v; };
  const rawLimit = pick('limit');
  const marker = pick('marker');
  let limit: number | undefined;
  if (rawLimit !== undefined) {
    if (!/^\d+$/.test(rawLimit)) throw badRequest(`Invalid limit '${rawLimit}': it must be a non-negative integer.`);
    limit = Math.min(Number(rawLimit), maxLimit);
  }
  return { limit, marker: marker || undefined };
}

/**
 * Pages an already-sorted list by id marker: returns the items after the marker, at most
 * `limit`, and whether more follow. An unknown marker is a 400 (Nova/Cinder) or 404 (Glance),
 * so the caller says which.
 */
export function paginate<T extends { id: string }>(items: T[], page: PageRequest, unknownMarker: 400 | 404 = 400): { items: T[]; more: boolean } {
  let start = 0;
  if (page.marker !== undefined) {
    const i = items.findIndex((x) => x.id === page.marker);
    if (i < 0) throw unknownMarker === 404 ? notFound(`marker [${page.marker}] not found`) : badRequest(`marker [${page.marker}] not found`);
    start = i + 1;
  }
  const rest = items.slice(start);
  if (page.limit === undefined) return { items: rest, more: false };
  return { items: rest.slice(0, page.limit), more: rest.length > page.limit };
}

/** The `next` link for a page: the same URL with marker set to the last item's id. */
export function nextLink(url: URL, items: { id: string }[], more: boolean): string | undefined {
  if (!more || items.length === 0) return undefined;
  const next = new URL(url);
  next.searchParams.set('marker', items[items.length - 1].id);
  return next.toString();
}
