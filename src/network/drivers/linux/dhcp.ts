import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DhcpServer, DhcpSubnet, HostDataplane } from '../driver.js';
import { remember, unchanged, type Ctx } from './context.js';
import { listNamespaces, ensureNamespace, ensureVethLeg, isAddr, isCidr, isMac, killPidFile, links, livePid, netmask4, networkOf, startDaemon, syncAddresses, ip, tryIp, type Link } from './exec.js';
import { ensureMetadataProxy, removeMetadataProxy } from './metadata.js';

/**
 * DHCP, Neutron style: one dnsmasq per network in its qdhcp namespace, static leases only
 * (hosts file + opts file, reloaded with SIGHUP), bound to the namespace leg of the DHCP port.
 */

const METADATA_IP = '169.254.169.254';
const hostname = (h: string) => h.replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'host';
const tag = (s: DhcpSubnet) => `subnet-${s.id}`;

function dhcpServes(s: DhcpSubnet): boolean {
  return s.version === 4 || s.ipv6AddressMode === 'dhcpv6-stateful' || s.ipv6AddressMode === 'dhcpv6-stateless';
}

export function hostsFile(srv: DhcpServer): string {
  const subnets = new Map(srv.subnets.map((s) => [s.id, s]));
  return srv.hosts.filter((h) => isMac(h.mac) && isAddr(h.ip)).flatMap((h) => {
    const s = subnets.get(h.subnetId);
    if (s && s.version === 6 && s.ipv6AddressMode !== 'dhcpv6-stateful') return [];
    const name = hostname(h.hostname);
    return [`${h.mac},${name}${srv.domain ? `.${srv.domain.replace(/\.$/, '')}` : ''},${h.ip.includes(':') ? `[${h.ip}]` : h.ip}`];
  }).join('\n') + '\n';
}

export function optsFile(srv: DhcpServer): string {
  const out: string[] = [];
  for (const s of srv.subnets) {
    if (!dhcpServes(s)) continue;
    const t = `tag:${tag(s)}`;
    const dns = s.dnsNameservers.filter(isAddr);
    if (s.version === 6) {
      if (dns.length) out.push(`${t},option6:dns-server,${dns.map((a) => `[${a}]`).join(',')}`);
      if (srv.domain) out.push(`${t},option6:domain-search,${srv.domain}`);
      continue;
    }
    if (dns.length) out.push(`${t},option:dns-server,${dns.join(',')}`);
    // No gateway: an empty router option, or dnsmasq would offer its own address as the router.
    out.push(s.gateway && isAddr(s.gateway) ? `${t},option:router,${s.gateway}` : `${t},option:router`);
    const routes: string[] = [];
    const [sNet, sLen] = s.cidr.split('/');
    const own = srv.port.ips.find((a) => a.version === 4 && isCidr(s.cidr) && networkOf(a.address, Number(sLen)) === networkOf(sNet, Number(sLen)));
    if (srv.metadata && own) routes.push(`${METADATA_IP}/32,${own.address}`);
    for (const r of s.hostRoutes) if (isCidr(r.destination) && isAddr(r.nexthop) && !r.destination.includes(':')) routes.push(`${r.destination},${r.nexthop}`);
    // Clients ignore option 3 when option 121 is present: repeat the default route there.
    if (routes.length && s.gateway && isAddr(s.gateway)) routes.push(`0.0.0.0/0,${s.gateway}`);
    if (routes.length) out.push(`${t},option:classless-static-route,${routes.join(',')}`);
    out.push(`${t},option:mtu,${srv.mtu}`);
    if (srv.domain) out.push(`${t},option:domain-name,${srv.domain}`);
  }
  return out.join('\n') + '\n';
}

function args(c: Ctx, srv: DhcpServer, dir: string): string[] {
  const a = [
    '--no-hosts', '--no-resolv', '--port=0', '--conf-file=/dev/null', `--pid-file=${join(dir, 'pid')}`,
    `--dhcp-hostsfile=${join(dir, 'host')}`, `--dhcp-optsfile=${join(dir, 'opts')}`, `--dhcp-leasefile=${join(dir, 'leases')}`,
    `--interface=${c.n.dhcpLeg(srv.port.id)}`, '--bind-interfaces', '--except-interface=lo',
    '--dhcp-lease-max=16777216', '--log-dhcp', `--log-facility=${join(dir, 'log')}`, '--user=root', '--group=root',
  ];
  if (srv.domain) a.push(`--domain=${srv.domain}`);
  for (const s of srv.subnets) {
    if (!dhcpServes(s) || !isCidr(s.cidr)) continue;
    const [net, len] = s.cidr.split('/');
    a.push(s.version === 4
      ? `--dhcp-range=set:${tag(s)},${net},static,${netmask4(Number(len))},86400s`
      : `--dhcp-range=set:${tag(s)},${net},static,${len},86400s`);
  }
  return a;
}

export async function syncDhcp(c: Ctx, d: HostDataplane, hostLinks: Map<string, Link>): Promise<{ keepHost: Set<string>; keepNs: Set<string>; keepDirs: Set<string> }> {
  const keepHost = new Set<string>();
  const keepNs = new Set<string>();
  const keepDirs = new Set<string>();
  const mtu = new Map(d.networks.map((n) => [n.id, n.mtu]));
  const namespaces = new Set(listNamespaces());
  for (const srv of d.dhcp) {
    if (!mtu.has(srv.networkId)) { c.log.warn({ network: srv.networkId }, 'DHCP for a network this host does not carry: skipped'); continue; }
    const ns = c.n.dhcpNs(srv.networkId);
    const outer = c.n.outer(srv.port.id);
    const leg = c.n.dhcpLeg(srv.port.id);
    keepNs.add(ns); keepHost.add(outer);
    const sig = JSON.stringify(srv);
    // dnsmasq must also still run (a crashed one is restarted by the full check)
    if (unchanged(c, `dhcp:${srv.networkId}`, sig, ns, [outer], hostLinks, namespaces) && dnsmasqRunning(c, srv.networkId)) {
      keepDirs.add(c.n.dhcpDir(srv.networkId));
      if (srv.metadata) keepDirs.add(c.n.mdDir('net', srv.networkId));
      continue;
    }
    c.built.delete(`dhcp:${srv.networkId}`);
    try {
      await ensureNamespace(ns);
      const nsLinks = await links(ns);
      // Another leg name means the DHCP port changed: drop the old legs.
      for (const name of nsLinks.keys()) if (name.startsWith('ns-') && name !== leg) await tryIp(ns, 'link', 'del', name);
      await ensureVethLeg(c.hostNs, outer, ns, leg, hostLinks, nsLinks);
      const cur = (await links(c.hostNs)).get(outer);
      if (cur?.master !== c.n.bridge(srv.networkId)) await ip(c.hostNs, 'link', 'set', outer, 'master', c.n.bridge(srv.networkId));
      await ip(c.hostNs, 'link', 'set', outer, 'mtu', String(srv.mtu), 'up');
      if (isMac(srv.port.mac)) await ip(ns, 'link', 'set', leg, 'address', srv.port.mac);
      await ip(ns, 'link', 'set', leg, 'mtu', String(srv.mtu), 'up');
      const addrs = srv.port.ips.filter((a) => isAddr(a.address)).map((a) => `${a.address}/${a.prefixlen}`);
      if (srv.metadata) addrs.push(`${METADATA_IP}/32`);
      await syncAddresses(ns, leg, addrs);
      await ensureDnsmasq(c, srv);
      keepDirs.add(c.n.dhcpDir(srv.networkId));
      if (srv.metadata) {
        await ensureMetadataProxy(c, 'net', srv.networkId, ns);
        keepDirs.add(c.n.mdDir('net', srv.networkId));
      }
      remember(c, `dhcp:${srv.networkId}`, sig);
    } catch (e) {
      // One broken network must not stop the others; the next apply retries.
      c.log.error({ err: String(e), network: srv.networkId }, 'DHCP setup failed');
      c.errors.push(`DHCP for network ${srv.networkId}: ${String(e)}`);
      keepDirs.add(c.n.dhcpDir(srv.networkId));
      keepDirs.add(c.n.mdDir('net', srv.networkId));
    }
  }
  return { keepHost, keepNs, keepDirs };
}

/** Whether the network's dnsmasq (by its pid file) still runs. */
function dnsmasqRunning(c: Ctx, networkId: string): boolean {
  const pidFile = join(c.n.dhcpDir(networkId), 'pid');
  return !!livePid(pidFile, `--pid-file=${pidFile}`);
}

async function ensureDnsmasq(c: Ctx, srv: DhcpServer): Promise<void> {
  const dir = c.n.dhcpDir(srv.networkId);
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'pid');
  const marker = `--pid-file=${pidFile}`;
  const argv = args(c, srv, dir);
  const read = (f: string) => { try { return readFileSync(join(dir, f), 'utf8'); } catch { return ''; } };
  const host = hostsFile(srv);
  const opts = optsFile(srv);
  const changed = read('host') !== host || read('opts') !== opts;
  if (changed) { writeFileSync(join(dir, 'host'), host); writeFileSync(join(dir, 'opts'), opts); }
  const pid = livePid(pidFile, marker);
  const argsJson = JSON.stringify(argv);
  if (pid && read('args.json') === argsJson) {
    if (changed) process.kill(pid, 'SIGHUP'); // re-reads the hosts and opts files
    return;
  }
  if (pid) await killPidFile(pidFile, marker);
  writeFileSync(join(dir, 'args.json'), argsJson);
  await startDaemon(c.n.dhcpNs(srv.networkId), 'dnsmasq', argv, pidFile, join(dir, 'stderr'), marker);
  c.log.info({ network: srv.networkId }, 'dnsmasq started');
}

/** Stops the DHCP server (and metadata proxy) whose state directory this is. */
export async function removeDhcpDir(dir: string): Promise<void> {
  const pidFile = join(dir, 'pid');
  await killPidFile(pidFile, `--pid-file=${pidFile}`);
  rmSync(dir, { recursive: true, force: true });
}

export { removeMetadataProxy };
