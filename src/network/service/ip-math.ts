/**
 * IPv4/IPv6 address arithmetic on bigints: parse, format (RFC 5952 for IPv6), CIDRs,
 * ranges, Neutron's default allocation pools and EUI-64 addresses. Pure functions.
 */

export type IpVersion = 4 | 6;

export interface Ip { version: IpVersion; value: bigint }
export interface Cidr { version: IpVersion; network: bigint; prefixlen: number; /** host bits were set in the text */ hostBits: boolean }
export interface IpRange { start: bigint; end: bigint }

export const bitsOf = (v: IpVersion): number => (v === 4 ? 32 : 128);

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    // leading zeros are ambiguous (octal in some parsers); Neutron rejects them
    if (p.length > 1 && p.startsWith('0')) return null;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(s: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.includes(':::')) return null;
  let text = s;
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex words
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const group = (h: string): bigint[] | null => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  if (!head || !rest) return null;
  const given = [...head, ...rest];
  let words: bigint[];
  if (halves.length === 2) {
    if (given.length > 7) return null;
    words = [...head, ...Array<bigint>(8 - given.length).fill(0n), ...rest];
  } else {
    if (given.length !== 8) return null;
    words = given;
  }
  return words.reduce((acc, w) => (acc << 16n) | w, 0n);
}

export function parseIp(s: unknown): Ip | null {
  if (typeof s !== 'string') return null;
  const v4 = parseV4(s);
  if (v4 !== null) return { version: 4, value: v4 };
  if (s.includes(':')) {
    const v6 = parseV6(s);
    if (v6 !== null) return { version: 6, value: v6 };
  }
  return null;
}

export function formatIp(value: bigint, version: IpVersion): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((sh) => String((value >> sh) & 255n)).join('.');
  const words = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // the longest run (≥ 2) of zero words becomes ::, leftmost on ties
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** Normalises an address's text ('2001:DB8::0001' → '2001:db8::1'); null when invalid. */
export const normalizeIp = (s: unknown): string | null => {
  const ip = parseIp(s);
  return ip ? formatIp(ip.value, ip.version) : null;
};

export const maskOf = (version: IpVersion, prefixlen: number): bigint => {
  const bits = BigInt(bitsOf(version));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefixlen))) - 1n);
};

export function parseCidr(s: unknown): Cidr | null {
  if (typeof s !== 'string') return null;
  const [addr, len, extra] = s.split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const max = bitsOf(ip.version);
  const prefixlen = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!Number.isInteger(prefixlen) || prefixlen < 0 || prefixlen > max) return null;
  const network = ip.value & maskOf(ip.version, prefixlen);
  return { version: ip.version, network, prefixlen, hostBits: network !== ip.value };
}

export const formatCidr = (c: { version: IpVersion; network: bigint; prefixlen: number }): string => `${formatIp(c.network, c.version)}/${c.prefixlen}`;

export const sizeOf = (c: { version: IpVersion; prefixlen: number }): bigint => 1n << BigInt(bitsOf(c.version) - c.prefixlen);
export const lastOf = (c: Cidr): bigint => c.network + sizeOf(c) - 1n;

export const cidrContains = (c: Cidr, ip: Ip): boolean => ip.version === c.version && ip.value >= c.network && ip.value <= lastOf(c);

export const cidrsOverlap = (a: Cidr, b: Cidr): boolean => a.version === b.version && a.network <= lastOf(b) && b.network <= lastOf(a);

/** Whether `inner` lies wholly inside `outer`. */
export const cidrWithin = (inner: Cidr, outer: Cidr): boolean => inner.version === outer.version && inner.prefixlen >= outer.prefixlen && cidrContains(outer, { version: inner.version, value: inner.network });

/** Neutron's default pools: the CIDR minus the network address, the IPv4 broadcast and the gateway. */
export function defaultPools(c: Cidr, gateway: bigint | null): IpRange[] {
  const last = lastOf(c);
  if (c.network === last) return [{ start: last, end: last }];
  const first = c.network + 1n;
  const end = last - (c.version === 4 ? 1n : 0n);
  if (first >= end) return [];
  if (gateway === null || gateway < first || gateway > end) return [{ start: first, end }];
  const out: IpRange[] = [];
  if (gateway > first) out.push({ start: first, end: gateway - 1n });
  if (gateway < end) out.push({ start: gateway + 1n, end });
  return out;
}

export const rangesOverlap = (a: IpRange, b: IpRange): boolean => a.start <= b.end && b.start <= a.end;

export const rangeSize = (r: IpRange): bigint => r.end - r.start + 1n;

/** Parses a MAC address ('fa:16:3e:00:00:01', also '-' separated); null when invalid. */
export function parseMac(s: unknown): bigint | null {
  if (typeof s !== 'string' || !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(s)) return null;
  return BigInt(`0x${s.replace(/[:-]/g, '')}`);
}

export const formatMac = (v: bigint): string => v.toString(16).padStart(12, '0').match(/../g)!.join(':');

/** The SLAAC (EUI-64) address of a MAC in a /64: the universal/local bit flipped and ff:fe in the middle. */
export function eui64(prefix: Cidr, mac: string): bigint {
  const m = parseMac(mac);
  if (m === null) throw new Error(`invalid MAC ${mac}`);
  const hi = (m >> 24n) ^ 0x020000n;
  const lo = m & 0xffffffn;
  const iid = (hi << 40n) | (0xfffen << 24n) | lo;
  return (prefix.network & maskOf(6, 64)) | iid;
}

/** Whether a MAC is usable on a port (not multicast/broadcast, not all zero). */
export function validPortMac(v: bigint): boolean {
  return v !== 0n && ((v >> 40n) & 1n) === 0n;
}
