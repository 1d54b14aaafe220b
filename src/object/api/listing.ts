import type { ObjectRow } from '../db/repo.js';

/** One entry of a container listing: an object, or a pseudo-directory under `delimiter`. */
export type ObjectEntry = { subdir: string } | ObjectRow;
export interface ContainerEntry { name: string; count: number; bytes: number; last_modified: string }

export type ListingFormat = 'plain' | 'json' | 'xml';

/** The listing format a request asks for: ?format= wins over Accept (Swift's order). */
export function listingFormat(format: string | undefined, accept: string | undefined): ListingFormat {
  const f = format?.toLowerCase();
  if (f === 'json') return 'json';
  if (f === 'xml') return 'xml';
  if (f === 'plain' || f === 'txt' || f === 'text') return 'plain';
  const a = (accept ?? '').toLowerCase();
  if (a.includes('application/json')) return 'json';
  if (a.includes('application/xml') || a.includes('text/xml')) return 'xml';
  return 'plain';
}

export const CONTENT_TYPES: Record<ListingFormat, string> = {
  plain: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
};

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** Swift's listing time format: 2024-01-02T03:04:05.123450 (UTC, microseconds). */
export function listingTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000');
}

export function timestampMs(xts: string): number {
  return Math.round(Number(xts) * 1000);
}

export function renderAccountListing(account: string, rows: ContainerEntry[], f: ListingFormat): string {
  if (f === 'json') return JSON.stringify(rows);
  if (f === 'xml') {
    const items = rows.map((r) => `<container><name>${esc(r.name)}</name><count>${r.count}</count><bytes>${r.bytes}</bytes><last_modified>${r.last_modified}</last_modified></container>`);
    return `<?xml version="1.0" encoding="UTF-8"?>\n<account name="${esc(account)}">${items.join('')}</account>`;
  }
  return rows.map((r) => `${r.name}\n`).join('');
}

function objectJson(e: ObjectEntry) {
  if ('subdir' in e) return { subdir: e.subdir };
  const headers = JSON.parse(e.headers) as Record<string, string>;
  const out: Record<string, unknown> = { hash: e.etag, last_modified: listingTime(Number(e.modified_ms)), bytes: Number(e.size), name: e.name, content_type: e.content_type };
  if (headers['x-static-large-object']) out.slo_etag = `"${headers['x-slo-etag'] ?? ''}"`;
  return out;
}

export function renderObjectListing(container: string, rows: ObjectEntry[], f: ListingFormat): string {
  if (f === 'json') return JSON.stringify(rows.map(objectJson));
  if (f === 'xml') {
    const items = rows.map((e) => {
      if ('subdir' in e) return `<subdir name="${esc(e.subdir)}"><name>${esc(e.subdir)}</name></subdir>`;
      return `<object><name>${esc(e.name)}</name><hash>${e.etag}</hash><bytes>${e.size}</bytes><content_type>${esc(e.content_type)}</content_type><last_modified>${listingTime(Number(e.modified_ms))}</last_modified></object>`;
    });
    return `<?xml version="1.0" encoding="UTF-8"?>\n<container name="${esc(container)}">${items.join('')}</container>`;
  }
  return rows.map((e) => `${'subdir' in e ? e.subdir : e.name}\n`).join('');
}
