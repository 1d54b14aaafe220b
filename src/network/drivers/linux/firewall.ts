import { readFileSync, writeFileSync } from 'node:fs';
import type { FirewallRule, HostDataplane, VmPort } from '../driver.js';
import type { Ctx } from './context.js';
import { family, inNs, isAddr, isCidr, isMac, trySh } from './exec.js';

/**
 * Security groups in the host namespace, the hybrid verified in the notes (no nf_conntrack_bridge here,
 * so no `ct state` in the bridge family):
 *  - `bridge nubo_spoof`: stateless anti-spoofing per tap (MAC, IP, ARP, allowed address pairs, no DHCP/RA server).
 *  - `inet nubo_sg`: the stateful rules in the forward hook (br_netfilter), keyed on the bridge name and the port's IPs.
 * Both tables are replaced in one `nft -f` transaction, so a change takes effect at once.
 */

const PROTO: Record<string, number> = {
  hopopt: 0, icmp: 1, igmp: 2, ipip: 4, tcp: 6, egp: 8, udp: 17, 'ipv6-encap': 41, 'ipv6-route': 43, 'ipv6-frag': 44,
  rsvp: 46, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, ospf: 89, pgm: 113,
  vrrp: 112, sctp: 132, udplite: 136, dccp: 33,
};
const chainId = (p: VmPort) => p.id.replace(/[^A-Za-z0-9]/g, '_');

/** The match of one rule (without remote), or null when it cannot be expressed. */
function protoMatch(r: FirewallRule): string | null {
  const v6 = r.ethertype === 'IPv6';
  if (r.protocol === null || r.protocol === 'any') return '';
  const p = r.protocol.toLowerCase();
  const num = /^\d+$/.test(p) ? Number(p) : PROTO[p];
  if (num === undefined || num > 255) return null;
  const icmp = num === 1 || num === 58;
  if (icmp) {
    const kw = v6 ? 'icmpv6' : 'icmp';
    let m = `meta l4proto ${v6 ? 58 : 1}`;
    if (r.portMin !== null) m += ` ${kw} type ${r.portMin | 0}`;
    if (r.portMin !== null && r.portMax !== null) m += ` ${kw} code ${r.portMax | 0}`;
    return m;
  }
  if ([6, 17, 132, 136, 33].includes(num) && (r.portMin !== null || r.portMax !== null)) {
    const kw = { 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite', 33: 'dccp' }[num as 6];
    const lo = (r.portMin ?? 1) | 0;
    const hi = (r.portMax ?? 65535) | 0;
    return `meta l4proto ${num} ${kw} dport ${lo === hi ? lo : `${lo}-${hi}`}`;
  }
  return `meta l4proto ${num}`;
}

function ruleLines(r: FirewallRule): string[] {
  const fam = r.ethertype === 'IPv6' ? 'ip6' : 'ip';
  const pm = protoMatch(r);
  if (pm === null) return [];
  const dir = r.direction === 'ingress' ? 'saddr' : 'daddr';
  const remotes = r.remote === null ? [null] : [...new Set(r.remote.filter((x) => isCidr(x) && (family(x) === 6) === (fam === 'ip6')))];
  return remotes.map((rem) => [rem ? `${fam} ${dir} ${rem}` : `meta nfproto ${fam === 'ip' ? 'ipv4' : 'ipv6'}`, pm, 'return'].filter(Boolean).join(' '));
}

/** Addresses a port may use: its fixed IPs, and the allowed pairs' IPs by MAC. */
function addressesByMac(p: VmPort): Map<string, string[]> {
  const m = new Map<string, string[]>([[p.mac.toLowerCase(), p.ips.filter(isAddr)]]);
  for (const a of p.security?.allowedPairs ?? []) {
    const mac = (isMac(a.mac) ? a.mac : p.mac).toLowerCase();
    if (!isCidr(a.ip)) continue;
    m.set(mac, [...(m.get(mac) ?? []), a.ip]);
  }
  return m;
}

function spoofChain(p: VmPort): string[] {
  const l = [
    'ether type ip udp sport 67 drop', 'ether type ip6 udp sport 547 drop', 'ether type ip6 icmpv6 type nd-router-advert drop',
  ];
  for (const [mac, addrs] of addressesByMac(p)) {
    if (!isMac(mac)) continue;
    const v4 = addrs.filter((a) => family(a) === 4);
    const v6 = addrs.filter((a) => family(a) === 6);
    for (const a of v4) {
      l.push(`ether saddr ${mac} ether type arp arp saddr ether ${mac} arp saddr ip ${a} return`);
      l.push(`ether saddr ${mac} ether type ip ip saddr ${a} return`);
    }
    l.push(`ether saddr ${mac} ether type arp arp saddr ether ${mac} arp saddr ip 0.0.0.0 return`);
    l.push(`ether saddr ${mac} ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return`);
    for (const a of [...v6, 'fe80::/64', '::']) l.push(`ether saddr ${mac} ether type ip6 ip6 saddr ${a} return`);
  }
  l.push('counter drop');
  return l;
}

export function firewallRules(c: Ctx, d: HostDataplane): string {
  const ports = d.ports.filter((p) => p.security && isMac(p.mac));
  const pre: string[] = [];
  const spoof: string[] = [];
  const keysStateless: string[] = [];
  const keysStateful: string[] = [];
  const chains: string[] = [];
  for (const p of ports) {
    const id = chainId(p);
    pre.push(`iifname "${p.tap}" jump s_${id}`);
    spoof.push(`  chain s_${id} {\n${spoofChain(p).map((x) => `    ${x}\n`).join('')}  }\n`);
    const br = c.n.bridge(p.networkId);
    const keys = p.security!.stateful ? keysStateful : keysStateless;
    for (const a of [...new Set([...p.ips.filter(isAddr), ...p.security!.allowedPairs.map((x) => x.ip).filter(isCidr)])]) {
      const fam = family(a) === 6 ? 'ip6' : 'ip';
      keys.push(`iifname "${br}" ${fam} saddr ${a} jump e_${id}`);
      keys.push(`oifname "${br}" ${fam} daddr ${a} jump i_${id}`);
    }
    const rules = p.security!.rules;
    const ingress = [
      'udp sport 67 udp dport 68 return', 'udp sport 547 udp dport 546 return',
      'icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } return',
      ...rules.filter((r) => r.direction === 'ingress').flatMap(ruleLines), 'counter drop',
    ];
    const egress = [
      'udp sport 68 udp dport 67 return', 'udp sport 546 udp dport 547 return',
      'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } return',
      ...rules.filter((r) => r.direction === 'egress').flatMap(ruleLines), 'counter drop',
    ];
    chains.push(`  chain i_${id} {\n${ingress.map((x) => `    ${x}\n`).join('')}  }\n`);
    chains.push(`  chain e_${id} {\n${egress.map((x) => `    ${x}\n`).join('')}  }\n`);
  }
  // Stateless ports come before the conntrack shortcut; traffic that passes every jump is accepted.
  const forward = [...keysStateless, 'ct state established,related accept', ...keysStateful];
  return 'table bridge nubo_spoof\ndelete table bridge nubo_spoof\ntable bridge nubo_spoof {\n'
    + `  chain pre {\n    type filter hook prerouting priority -300; policy accept;\n${pre.map((x) => `    ${x}\n`).join('')}  }\n`
    + spoof.join('') + '}\n'
    + 'table inet nubo_sg\ndelete table inet nubo_sg\ntable inet nubo_sg {\n'
    + `  chain forward {\n    type filter hook forward priority 0; policy accept;\n${forward.map((x) => `    ${x}\n`).join('')}  }\n`
    + chains.join('') + '}\n';
}

/** Per port: its addresses and a fingerprint of what it may do (to know when flows must be cut). */
function fingerprints(d: HostDataplane): Record<string, { ips: string[]; rules: string[] }> {
  const out: Record<string, { ips: string[]; rules: string[] }> = {};
  for (const p of d.ports) {
    out[p.id] = {
      ips: p.ips.filter(isAddr),
      rules: p.security ? [...p.security.rules.map((r) => JSON.stringify(r)), ...p.security.allowedPairs.map((a) => JSON.stringify(a))] : ['*'],
    };
  }
  return out;
}

export async function applyFirewall(c: Ctx, d: HostDataplane): Promise<void> {
  if (d.ports.some((p) => p.security)) await inNs(c.hostNs, 'nft', ['-f', '-'], firewallRules(c, d));
  else await removeFirewall(c);
  // A removed rule must also end the flows it let in: drop their conntrack entries (best effort).
  let old: ReturnType<typeof fingerprints> = {};
  try { old = JSON.parse(readFileSync(c.n.fwStateFile(), 'utf8')); } catch { /* first apply */ }
  const now = fingerprints(d);
  const flush = new Set<string>();
  for (const [id, o] of Object.entries(old)) {
    const n = now[id];
    if (!n) { o.ips.forEach((a) => flush.add(a)); continue; }
    const still = new Set(n.rules);
    if (o.rules.some((r) => !still.has(r)) && !n.rules.includes('*')) o.ips.forEach((a) => flush.add(a));
  }
  for (const a of flush) {
    const f = family(a) === 6 ? ['-f', 'ipv6'] : [];
    await trySh('ip', ['netns', 'exec', c.hostNs, 'conntrack', '-D', ...f, '-d', a]);
    await trySh('ip', ['netns', 'exec', c.hostNs, 'conntrack', '-D', ...f, '-s', a]);
  }
  writeFileSync(c.n.fwStateFile(), JSON.stringify(now));
}

export async function removeFirewall(c: Ctx): Promise<void> {
  await trySh('ip', ['netns', 'exec', c.hostNs, 'nft', 'delete', 'table', 'bridge', 'nubo_spoof']);
  await trySh('ip', ['netns', 'exec', c.hostNs, 'nft', 'delete', 'table', 'inet', 'nubo_sg']);
}
