import type { HostDataplane, Router } from '../driver.js';
import { remember, unchanged, type Ctx } from './context.js';
import { addresses, listNamespaces, ensureNamespace, ensureVethLeg, inNs, ip, isAddr, isCidr, isMac, links, networkOf, syncAddresses, trySh, tryIp, type Link } from './exec.js';
import { ensureMetadataProxy, METADATA_PORT_ROUTER } from './metadata.js';

/**
 * Routers: a qrouter namespace with ip_forward=1 (only there), a qr- leg per tenant network and a qg-
 * leg on the external one, and an nftables NAT table (SNAT, floating IPs, port forwardings, the
 * metadata redirect) replaced as a whole on every apply.
 */

const TABLE = 'nubo_router';

export function natRules(c: Ctx, r: Router): string {
  const qg = r.gateway ? c.n.qg(r.gateway.portId) : null;
  const pre: string[] = [];
  const out: string[] = [];
  const post: string[] = [];
  if (r.metadata) pre.push(`iifname "qr-*" ip daddr 169.254.169.254 tcp dport 80 redirect to :${METADATA_PORT_ROUTER}`);
  if (qg) {
    for (const pf of r.portForwardings) {
      if (![pf.floating, pf.internal].every(isAddr) || pf.floating.includes(':')) continue;
      const m = `ip daddr ${pf.floating} ${pf.protocol} dport ${pf.externalPort | 0}`;
      pre.push(`${m} dnat to ${pf.internal}:${pf.internalPort | 0}`);
      out.push(`${m} dnat to ${pf.internal}:${pf.internalPort | 0}`);
    }
    for (const f of r.floatingIps) {
      if (![f.floating, f.fixed].every(isAddr) || f.floating.includes(':')) continue;
      pre.push(`ip daddr ${f.floating} dnat to ${f.fixed}`);
      out.push(`ip daddr ${f.floating} dnat to ${f.fixed}`);
      post.push(`oifname "${qg}" ip saddr ${f.fixed} snat to ${f.floating}`); // before the router-wide SNAT
    }
    const gw4 = r.gateway!.ips.find((a) => a.version === 4 && isAddr(a.address));
    if (r.gateway!.snat && gw4) {
      const nets = [...new Set(r.interfaces.flatMap((i) => i.ips.filter((a) => a.version === 4 && isAddr(a.address))
        .map((a) => `${networkOf(a.address, a.prefixlen)}/${a.prefixlen}`)))];
      for (const n of nets) post.push(`oifname "${qg}" ip saddr ${n} snat to ${gw4.address}`);
    }
  }
  const chain = (name: string, hook: string, prio: string, rules: string[]) =>
    `  chain ${name} {\n    type nat hook ${hook} priority ${prio}; policy accept;\n${rules.map((l) => `    ${l}\n`).join('')}  }\n`;
  return `table ip ${TABLE}\ndelete table ip ${TABLE}\ntable ip ${TABLE} {\n`
    + chain('prerouting', 'prerouting', 'dstnat', pre) + chain('output', 'output', '-100', out)
    + chain('postrouting', 'postrouting', 'srcnat', post) + '}\n'
    // The metadata proxy listens on all addresses: keep it unreachable from the external leg.
    + `table inet ${TABLE}_filter\ndelete table inet ${TABLE}_filter\ntable inet ${TABLE}_filter {\n`
    + `  chain input {\n    type filter hook input priority 0; policy accept;\n    iifname "qg-*" tcp dport ${METADATA_PORT_ROUTER} drop\n  }\n}\n`;
}

async function leg(c: Ctx, ns: string, portId: string, inner: string, networkId: string, mac: string, addrs: string[], mtu: number,
  hostLinks: Map<string, Link>, nsLinks: Map<string, Link>): Promise<void> {
  const outer = c.n.outer(portId);
  await ensureVethLeg(c.hostNs, outer, ns, inner, hostLinks, nsLinks);
  const br = c.n.bridge(networkId);
  if ((await links(c.hostNs)).get(outer)?.master !== br) await ip(c.hostNs, 'link', 'set', outer, 'master', br);
  await ip(c.hostNs, 'link', 'set', outer, 'mtu', String(mtu), 'up');
  if (isMac(mac)) await ip(ns, 'link', 'set', inner, 'address', mac);
  await ip(ns, 'link', 'set', inner, 'mtu', String(mtu), 'up');
  await syncAddresses(ns, inner, addrs);
}

/** Routes with a nexthop (default and extra routes) made exactly as desired, for one IP version. */
async function syncRoutes(ns: string, v: 4 | 6, want: Array<{ dst: string; via: string; dev?: string }>): Promise<void> {
  const have = JSON.parse((await ip(ns, '-j', `-${v}`, 'route', 'show')) || '[]') as Array<Record<string, any>>;
  const key = (dst: string, via: string) => `${dst === '0.0.0.0/0' || dst === '::/0' ? 'default' : dst}|${via}`;
  const wantKeys = new Set(want.map((w) => key(w.dst, w.via)));
  for (const h of have) if (h.gateway && !wantKeys.has(key(h.dst, h.gateway))) await tryIp(ns, `-${v}`, 'route', 'del', h.dst, 'via', h.gateway);
  const haveKeys = new Set(have.filter((h) => h.gateway).map((h) => key(h.dst, h.gateway)));
  for (const w of want) {
    if (haveKeys.has(key(w.dst, w.via))) continue;
    const ok = await trySh('ip', ['-n', ns, `-${v}`, 'route', 'replace', w.dst, 'via', w.via, ...(w.dev ? ['dev', w.dev] : [])]);
    if (!ok) await ip(ns, `-${v}`, 'route', 'replace', w.dst, 'via', w.via).catch(() => { /* nexthop not on a leg yet */ });
  }
}

export async function syncRouters(c: Ctx, d: HostDataplane, hostLinks: Map<string, Link>): Promise<{ keepHost: Set<string>; keepNs: Set<string>; keepDirs: Set<string> }> {
  const keepHost = new Set<string>();
  const keepNs = new Set<string>();
  const keepDirs = new Set<string>();
  const mtu = new Map(d.networks.map((n) => [n.id, n.mtu]));
  const namespaces = new Set(listNamespaces());
  for (const r of d.routers) {
    const ns = c.n.routerNs(r.id);
    keepNs.add(ns);
    if (r.metadata) keepDirs.add(c.n.mdDir('router', r.id));
    const outers = [...r.interfaces.map((i) => c.n.outer(i.portId)), ...(r.gateway ? [c.n.outer(r.gateway.portId)] : [])];
    const sig = JSON.stringify([r, [...r.interfaces.map((i) => i.networkId), r.gateway?.networkId].map((n) => (n ? mtu.get(n) : null))]);
    if (unchanged(c, `router:${r.id}`, sig, ns, outers, hostLinks, namespaces)) {
      for (const o of outers) keepHost.add(o);
      continue;
    }
    c.built.delete(`router:${r.id}`);
    try {
      await ensureNamespace(ns);
      await inNs(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      await inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']).catch(() => { /* no IPv6 */ });
      const nsLinks = await links(ns);
      const legs = new Set<string>();
      for (const i of r.interfaces) {
        if (!mtu.has(i.networkId)) { c.log.warn({ router: r.id, network: i.networkId }, 'router interface on a network this host does not carry'); continue; }
        const inner = c.n.qr(i.portId);
        legs.add(inner); keepHost.add(c.n.outer(i.portId));
        await leg(c, ns, i.portId, inner, i.networkId, i.mac, i.ips.filter((a) => isAddr(a.address)).map((a) => `${a.address}/${a.prefixlen}`), mtu.get(i.networkId)!, hostLinks, nsLinks);
      }
      const g = r.gateway;
      if (g && mtu.has(g.networkId)) {
        const inner = c.n.qg(g.portId);
        legs.add(inner); keepHost.add(c.n.outer(g.portId));
        // Floating IPs (and port-forwarding addresses) live on the gateway leg as /32s, so the router answers ARP for them.
        const fips = [...new Set([...r.floatingIps.map((f) => f.floating), ...r.portForwardings.map((p) => p.floating)])]
          .filter((a) => isAddr(a) && !g.ips.some((x) => x.address === a)).map((a) => `${a}/${a.includes(':') ? 128 : 32}`);
        const before = nsLinks.has(inner) ? await addresses(ns, inner) : [];
        await leg(c, ns, g.portId, inner, g.networkId, g.mac, [...g.ips.filter((a) => isAddr(a.address)).map((a) => `${a.address}/${a.prefixlen}`), ...fips], mtu.get(g.networkId)!, hostLinks, nsLinks);
        // Flows through a floating IP that went away (or now points elsewhere) must end with it.
        const now = new Map<string, string>([...r.floatingIps.map((f) => [f.floating, f.fixed] as const),
          ...r.portForwardings.map((p) => [`${p.floating}:${p.protocol}:${p.externalPort}`, `${p.internal}:${p.internalPort}`] as const)]);
        const prev = c.nat.get(r.id);
        const gone = new Set(before.filter((a) => !fips.includes(a) && /\/(32|128)$/.test(a)).map((a) => a.split('/')[0]));
        for (const [k, v] of prev ?? []) if (now.get(k) !== v) gone.add(k.split(':')[0]);
        c.nat.set(r.id, now);
        await flushRouterConntrack(ns, [...gone]);
      } else if (g) c.log.warn({ router: r.id, network: g.networkId }, 'router gateway on a network this host does not carry');
      for (const name of nsLinks.keys()) if ((name.startsWith('qr-') || name.startsWith('qg-')) && !legs.has(name)) await tryIp(ns, 'link', 'del', name);
      const routes4: Array<{ dst: string; via: string; dev?: string }> = [];
      const routes6: typeof routes4 = [];
      if (g?.nexthop && isAddr(g.nexthop) && legs.has(c.n.qg(g.portId))) {
        (g.nexthop.includes(':') ? routes6 : routes4).push({ dst: 'default', via: g.nexthop, dev: c.n.qg(g.portId) });
      }
      for (const rt of r.routes) if (isCidr(rt.destination) && isAddr(rt.nexthop)) (rt.nexthop.includes(':') ? routes6 : routes4).push({ dst: rt.destination, via: rt.nexthop });
      await syncRoutes(ns, 4, routes4);
      await syncRoutes(ns, 6, routes6);
      await inNs(ns, 'nft', ['-f', '-'], natRules(c, r));
      if (r.metadata) await ensureMetadataProxy(c, 'router', r.id, ns);
      remember(c, `router:${r.id}`, sig);
    } catch (e) {
      c.log.error({ err: String(e), router: r.id }, 'router setup failed');
      c.errors.push(`router ${r.id}: ${String(e)}`);
      for (const i of r.interfaces) keepHost.add(c.n.outer(i.portId));
      if (r.gateway) keepHost.add(c.n.outer(r.gateway.portId));
    }
  }
  return { keepHost, keepNs, keepDirs };
}

/** Drops conntrack entries of NAT mappings that went away (best effort: the conntrack tool may be missing). */
export async function flushRouterConntrack(ns: string, addrs: string[]): Promise<void> {
  for (const a of addrs) {
    if (!isAddr(a)) continue;
    const f = a.includes(':') ? ['-f', 'ipv6'] : [];
    await trySh('ip', ['netns', 'exec', ns, 'conntrack', '-D', ...f, '-d', a]);
    await trySh('ip', ['netns', 'exec', ns, 'conntrack', '-D', ...f, '-s', a]);
  }
}
