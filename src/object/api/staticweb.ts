import type { ContainerRow } from '../db/repo.js';
import { canRead, hdr, swiftError, truthy, type Ctx, type SwiftDeps } from './common.js';
import { listingTime } from './listing.js';
import { getObject } from './objects.js';

/** What /info says of static web. */
export const STATICWEB_INFO = {};

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/**
 * Swift's static web, for anonymous GET/HEAD (or X-Web-Mode: true) on a container with
 * X-Container-Meta-Web-Index / -Web-Listings(-CSS) / -Web-Error: serves the index object of
 * a "directory", an HTML listing, or the <status><Web-Error> page. Returns undefined when the
 * request is not a static web one (the normal API answers it).
 */
export async function staticWeb(ctx: Ctx, deps: SwiftDeps, c: ContainerRow | undefined, dir: string): Promise<unknown> {
  if (!c || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return undefined;
  if (ctx.auth && !truthy(hdr(ctx.req, 'x-web-mode'))) return undefined;
  const index = c.meta['x-container-meta-web-index'];
  const listings = truthy(c.meta['x-container-meta-web-listings']);
  if (!index && !listings) return undefined;
  if (!canRead(ctx, c, false)) return undefined;
  if (index) {
    const name = `${dir}${index}`;
    if (await deps.repo.object(ctx.account, c.name, name)) return getObject({ ...ctx, object: name }, deps, { account: ctx.account, container: c.name, name });
  }
  if (!listings || !canRead(ctx, c, true)) return webError(ctx, deps, c, 404);
  const rows = await deps.repo.listObjects(ctx.account, c.name, { prefix: dir || undefined, limit: 10000 }, Date.now());
  const seen = new Set<string>();
  const items: string[] = [];
  for (const r of rows) {
    const rest = r.name.slice(dir.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) {
      const sub = rest.slice(0, slash + 1);
      if (!seen.has(sub)) {
        seen.add(sub);
        items.push(`   <tr class="item subdir"><td class="colname"><a href="${esc(encodeURI(sub))}">${esc(sub)}</a></td><td class="colsize">&nbsp;</td><td class="coldate">&nbsp;</td></tr>`);
      }
      continue;
    }
    items.push(`   <tr class="item type-${esc(r.content_type.split('/')[0])}"><td class="colname"><a href="${esc(encodeURI(rest))}">${esc(rest)}</a></td><td class="colsize">${r.size}</td><td class="coldate">${listingTime(Number(r.modified_ms)).slice(0, 19).replace('T', ' ')}</td></tr>`);
  }
  if (dir && rows.length === 0) return webError(ctx, deps, c, 404);
  const title = `Listing of /v1/${esc(ctx.account)}/${esc(c.name)}/${esc(dir)}`;
  const css = c.meta['x-container-meta-web-listings-css'];
  const cssLink = css
    ? `  <link rel="stylesheet" type="text/css" href="${esc(css.startsWith('/') || /^https?:/.test(css) ? css : '../'.repeat(dir.split('/').length - 1) + css)}" />\n`
    : '  <style type="text/css">\n   h1 {font-size: 1em; font-weight: bold;}\n   th {text-align: left; padding: 0px 1em 0px 1em;}\n   td {padding: 0px 1em 0px 1em;}\n   a {text-decoration: none;}\n  </style>\n';
  const up = dir ? '   <tr id="parent" class="item"><td class="colname"><a href="../">../</a></td><td class="colsize">&nbsp;</td><td class="coldate">&nbsp;</td></tr>\n' : '';
  const html = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n'
    + `<html>\n <head>\n  <title>${title}</title>\n${cssLink} </head>\n <body>\n  <h1 id="title">${title}</h1>\n  <table id="listing">\n`
    + '   <tr id="heading"><th class="colname">Name</th><th class="colsize">Size</th><th class="coldate">Date</th></tr>\n'
    + `${up}${items.join('\n')}\n  </table>\n </body>\n</html>\n`;
  return ctx.reply.code(200).type('text/html; charset=UTF-8').send(ctx.method === 'HEAD' ? undefined : html);
}

/** The <status><Web-Error> object as the answer's body, or Swift's own error page. */
export async function webError(ctx: Ctx, deps: SwiftDeps, c: ContainerRow, status: number): Promise<unknown> {
  const page = c.meta['x-container-meta-web-error'];
  const row = page ? await deps.repo.object(ctx.account, c.name, `${status}${page}`) : undefined;
  if (!row) throw swiftError(status);
  const stream = await deps.data.read(row);
  return ctx.reply.code(status).type(row.content_type).header('content-length', String(row.size)).send(stream);
}
