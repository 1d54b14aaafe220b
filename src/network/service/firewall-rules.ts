/**
 * What the dataplane needs to render a port's firewall: its groups' rules, with each remote
 * group expanded to the fixed IPs of the ports that are members of that group.
 */
import type { Kysely } from 'kysely';
import type { NetworkDB } from '../db/schema.js';
import { normalizedCidr, protocolNumber } from './security-group-rules.js';

export interface FirewallRule {
  ruleId: string;
  securityGroupId: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** IANA protocol number; null matches every protocol. */
  protocol: number | null;
  /** TCP/UDP/SCTP/...: the port range; ICMP: type (min) and code (max). Null: any. */
  portRangeMin: number | null;
  portRangeMax: number | null;
  /**
   * Remote addresses as CIDRs of the rule's ethertype; null matches any address. A remote
   * group with no member addresses gives [] (matches nothing).
   */
  remote: string[] | null;
}

export interface PortFirewall {
  portId: string;
  securityGroupIds: string[];
  /** False only when every group of the port is stateless. */
  stateful: boolean;
  rules: FirewallRule[];
}

const chunks = <T>(xs: T[], n = 500): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/** Per port id: its groups and their rules, remote groups expanded. Ports without groups get no rules. */
export async function rulesForPorts(db: Kysely<NetworkDB>, portIds: string[]): Promise<Map<string, PortFirewall>> {
  const out = new Map<string, PortFirewall>();
  for (const p of portIds) out.set(p, { portId: p, securityGroupIds: [], stateful: true, rules: [] });
  if (portIds.length === 0) return out;
  const memberships: { port_id: string; security_group_id: string }[] = [];
  for (const ids of chunks(portIds)) memberships.push(...await db.selectFrom('port_security_group').selectAll().where('port_id', 'in', ids).execute());
  const groupIds = [...new Set(memberships.map((m) => m.security_group_id))];
  if (groupIds.length === 0) return out;

  const groups = new Map<string, { stateful: number }>();
  const rules: NetworkDB['security_group_rule'][] = [];
  for (const ids of chunks(groupIds)) {
    for (const g of await db.selectFrom('security_group').select(['id', 'stateful']).where('id', 'in', ids).execute()) groups.set(g.id, g);
    rules.push(...await db.selectFrom('security_group_rule').selectAll().where('security_group_id', 'in', ids).orderBy('id').execute());
  }

  // members' addresses of every group some rule names as remote
  const remoteIds = [...new Set(rules.map((r) => r.remote_group_id).filter((x): x is string => x !== null))];
  const members = new Map<string, string[]>();
  for (const ids of chunks(remoteIds)) {
    const rows = await db.selectFrom('port_security_group').innerJoin('ip_allocation', 'ip_allocation.port_id', 'port_security_group.port_id')
      .select(['port_security_group.security_group_id as gid', 'ip_allocation.ip_address as ip']).where('port_security_group.security_group_id', 'in', ids).execute();
    for (const r of rows) members.set(r.gid, [...(members.get(r.gid) ?? []), r.ip]);
  }
  const byGroup = new Map<string, FirewallRule[]>();
  for (const r of rules) {
    const v6 = r.ethertype === 'IPv6';
    let remote: string[] | null = null;
    if (r.remote_ip_prefix !== null) remote = [normalizedCidr(r.remote_ip_prefix)!];
    else if (r.remote_group_id !== null) {
      remote = [...new Set(members.get(r.remote_group_id) ?? [])].filter((ip) => ip.includes(':') === v6).sort().map((ip) => `${ip}/${v6 ? 128 : 32}`);
    }
    const rule: FirewallRule = {
      ruleId: r.id, securityGroupId: r.security_group_id, direction: r.direction as FirewallRule['direction'], ethertype: r.ethertype as FirewallRule['ethertype'],
      protocol: protocolNumber(r.protocol), portRangeMin: r.port_range_min, portRangeMax: r.port_range_max, remote,
    };
    byGroup.set(r.security_group_id, [...(byGroup.get(r.security_group_id) ?? []), rule]);
  }
  for (const m of memberships) {
    const f = out.get(m.port_id)!;
    f.securityGroupIds.push(m.security_group_id);
    f.rules.push(...(byGroup.get(m.security_group_id) ?? []));
  }
  for (const f of out.values()) {
    f.securityGroupIds.sort();
    if (f.securityGroupIds.length > 0) f.stateful = f.securityGroupIds.some((g) => groups.get(g)?.stateful !== 0);
  }
  return out;
}
