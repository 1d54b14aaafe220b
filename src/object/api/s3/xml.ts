/** Just enough XML for S3: escaping, building answers, and reading the few request bodies S3 has. */

export const xmlEscape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

const unescape = (s: string) => s.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (_m, n: string, d?: string, h?: string) =>
  d ? String.fromCodePoint(Number(d)) : h ? String.fromCodePoint(parseInt(h, 16)) : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[n]);

/** An element tree as nested [name, children | text] pairs; undefined values are left out. */
export type Node = [string, string | number | boolean | Node[] | undefined];

export function render(n: Node): string {
  const [name, v] = n;
  if (v === undefined) return '';
  if (Array.isArray(v)) return `<${name}>${v.map(render).join('')}</${name}>`;
  return `<${name}>${xmlEscape(String(v))}</${name}>`;
}

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** A whole document: the root element with the S3 namespace. */
export function document(root: string, children: Node[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${children.map(render).join('')}</${root}>`;
}

/** The inner texts of every <tag>…</tag> (not nested in another of the same tag). */
export function elements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[A-Za-z0-9_-]+:)?${tag}>`, 'g');
  for (const m of xml.matchAll(re)) out.push(m[1]);
  return out;
}

/** The text of the first <tag>, unescaped (not trimmed: keys may have spaces). */
export function text(xml: string, tag: string): string | undefined {
  const e = elements(xml, tag)[0];
  return e === undefined ? undefined : unescape(e);
}
