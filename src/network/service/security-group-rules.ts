/**
 * Security group rules: Neutron's validation (direction, ethertype, protocol names and numbers,
 * port ranges and ICMP type/code, remote prefix or group), duplicates, create and delete.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { lockKey } from '../../core/db/database.js';
import type { NetworkDB, SecurityGroupRuleRow } from '../db/schema.js';
import { neutronNow, type Caller, type NetworkContext } from './context.js';
import { neutronError, notFoundOf } from './errors.js';
import { formatCidr, formatIp, parseCidr } from './ip-math.js';
import { checkQuota } from './quotas.js';
import { canSeeGroup, getSecurityGroup } from './security-groups.js';

/** IANA protocol numbers of the names Neutron accepts. */
export const PROTOCOLS: Record<string, number> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, igmp: 2, ip: 0, ipip: 4, 'ipv6-encap': 41,
  'ipv6-frag': 44, 'ipv6-icmp': 58, icmpv6: 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89,
  pgm: 113, rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
const PORT_PROTOCOLS = [6, 17, 33, 132, 136];
const ICMP_PROTOCOLS = [1, 58];
const V6_ONLY = ['ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route'];

const bad = (type: string, message: string) => neutronError(400, type, message);

/** The protocol number of a stored protocol (name or number text); null for any. */
export function protocolNumber(p: string | null): number | null {
  if (p === null || p === '' || p === 'any') return null;
  return /^\d+$/.test(p) ? Number(p) : (PROTOCOLS[p] ?? null);
}

function convertProtocol(v: unknown): string | null {
  if (v === undefined || v === null || v === 'any') return null;
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.toLowerCase() : undefined;
  if (s !== undefined && ((/^\d+$/.test(s) && Number(s) <= 255) || s in PROTOCOLS)) return s;
  throw bad('SecurityGroupRuleInvalidProtocol', `Security group rule protocol ${String(v)} not supported. Only protocol values [${Object.keys(PROTOCOLS).map((k) => `'${k}'`).join(', ')}, None] and integer representations [0 to 255] are supported.`);
}

/** Neutron's convert_validate_port_value: null, or an integer 0-65535. */
function convertPort(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  throw bad('SecurityGroupInvalidPortValue', `Invalid value for port ${String(v)}.`);
}

function validatePorts(protocol: string | null, min: number | null, max: number | null): void {
  if (min === null && max === null) return;
  if (protocol === null) throw bad('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
  const num = protocolNumber(protocol)!;
  if (PORT_PROTOCOLS.includes(num)) {
    if (min === 0 || max === 0) throw bad('SecurityGroupInvalidPortValue', 'Invalid value for port 0.');
    if (min !== null && max !== null && min <= max) return;
    throw bad('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
  }
  if (ICMP_PROTOCOLS.includes(num)) {
    for (const [v, field, attr] of [[min, 'type', 'port_range_min'], [max, 'code', 'port_range_max']] as const) {
      if (v !== null && !(v >= 0 && v <= 255)) throw bad('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${v}. It must be 0 to 255.`);
    }
    if (min === null && max !== null) throw bad('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
    return;
  }
  throw bad('SecurityGroupInvalidProtocolForPort', `Invalid protocol ${protocol} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP protocols.`);
}

export interface RuleInput {
  security_group_id?: unknown; direction?: unknown; ethertype?: unknown; protocol?: unknown;
  port_range_min?: unknown; port_range_max?: unknown; remote_ip_prefix?: unknown; remote_group_id?: unknown;
  remote_address_group_id?: unknown; description: string;
}

/** Validates a new rule against a visible group and returns its row (without inserting it). */
async function buildRule(c: NetworkContext, caller: Caller, b: RuleInput): Promise<SecurityGroupRuleRow> {
  if (typeof b.security_group_id !== 'string') throw bad('InvalidInput', "Invalid input for operation: 'security_group_id' is required.");
  const g = await getSecurityGroup(c, caller, b.security_group_id);
  if (!caller.isAdmin && g.project_id !== caller.projectId) throw notFoundOf('security_group', g.id);
  if (b.direction !== 'ingress' && b.direction !== 'egress') {
    throw bad('InvalidInput', `Invalid input for direction. Reason: ${b.direction === undefined ? 'direction is required' : `'${String(b.direction)}' is not in ['ingress', 'egress']`}.`);
  }
  const ethertype = b.ethertype === undefined || b.ethertype === null ? 'IPv4' : String(b.ethertype);
  const ether = ethertype.toLowerCase() === 'ipv4' ? 'IPv4' : ethertype.toLowerCase() === 'ipv6' ? 'IPv6' : undefined;
  if (!ether) throw bad('SecurityGroupRuleInvalidEtherType', `Security group rule for ethertype '${ethertype}' not supported. Allowed values are ['IPv4', 'IPv6'].`);
  const protocol = convertProtocol(b.protocol);
  if (protocol !== null && ether === 'IPv4' && V6_ONLY.includes(protocol)) {
    throw bad('SecurityGroupEthertypeConflictWithProtocol', `Invalid ethertype IPv4 for protocol ${protocol}.`);
  }
  const min = convertPort(b.port_range_min);
  const max = convertPort(b.port_range_max);
  validatePorts(protocol, min, max);

  let prefix: string | null = null;
  if (b.remote_ip_prefix !== undefined && b.remote_ip_prefix !== null) {
    const cidr = parseCidr(b.remote_ip_prefix);
    if (!cidr) throw bad('InvalidInput', `Invalid input for remote_ip_prefix. Reason: '${String(b.remote_ip_prefix)}' is not a valid IP subnet.`);
    if ((cidr.version === 4 ? 'IPv4' : 'IPv6') !== ether) {
      throw bad('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${ether} for CIDR ${String(b.remote_ip_prefix)}`);
    }
    // Neutron keeps host bits here (canonical text); normalized_cidr shows the network
    const address = parseCidr(String(b.remote_ip_prefix).split('/')[0])!.network;
    prefix = `${formatIp(address, cidr.version)}/${cidr.prefixlen}`;
  }
  const remoteGroup = b.remote_group_id === undefined || b.remote_group_id === null ? null : String(b.remote_group_id);
  const remoteAddressGroup = b.remote_address_group_id === undefined || b.remote_address_group_id === null ? null : String(b.remote_address_group_id);
  if ([prefix, remoteGroup, remoteAddressGroup].filter((x) => x !== null).length > 1) {
    throw bad('SecurityGroupRemoteGroupAndRemoteIpPrefix', 'Only remote_ip_prefix or remote_group_id may be provided.');
  }
  if (remoteGroup !== null) {
    const rg = await c.db.selectFrom('security_group').selectAll().where('id', '=', remoteGroup).executeTakeFirst();
    if (!rg || !(await canSeeGroup(c.db, caller, rg))) throw notFoundOf('security_group', remoteGroup);
  }
  // address groups are not implemented: no id can name one
  if (remoteAddressGroup !== null) throw neutronError(404, 'AddressGroupNotFound', `Address group ${remoteAddressGroup} could not be found.`);
  const now = neutronNow();
  return {
    id: randomUUID(), project_id: g.project_id, security_group_id: g.id, direction: b.direction, ethertype: ether, protocol,
    port_range_min: min, port_range_max: max, remote_ip_prefix: prefix, remote_group_id: remoteGroup, remote_address_group_id: null,
    description: b.description, revision_number: 0, created_at: now, updated_at: now,
  };
}

/** The network of a remote prefix ('10.1.2.3/16' → '10.1.0.0/16'). */
export function normalizedCidr(p: string | null): string | null {
  const c = p === null ? null : parseCidr(p);
  return c ? formatCidr(c) : p;
}

/** Two rules are the same when they match the same packets (0.0.0.0/0 is no prefix; names equal their numbers). */
function sameRule(a: SecurityGroupRuleRow, b: SecurityGroupRuleRow): boolean {
  const anyPrefix = (p: string | null) => {
    const n = normalizedCidr(p);
    return n === '0.0.0.0/0' || n === '::/0' ? null : n;
  };
  return a.direction === b.direction && a.ethertype === b.ethertype && protocolNumber(a.protocol) === protocolNumber(b.protocol)
    && a.port_range_min === b.port_range_min && a.port_range_max === b.port_range_max
    && anyPrefix(a.remote_ip_prefix) === anyPrefix(b.remote_ip_prefix) && a.remote_group_id === b.remote_group_id
    && a.remote_address_group_id === b.remote_address_group_id;
}

/** Creates rules (a bulk create is all or nothing). */
export async function createSecurityGroupRules(c: NetworkContext, caller: Caller, inputs: RuleInput[]): Promise<SecurityGroupRuleRow[]> {
  const rows: SecurityGroupRuleRow[] = [];
  for (const b of inputs) rows.push(await buildRule(c, caller, b));
  await c.db.transaction().execute(async (trx) => {
    for (const project of new Set(rows.map((r) => r.project_id))) {
      await lockKey(trx, c.kind, `sg-rule-create:${project}`);
      await checkQuota(trx, project, 'security_group_rule', rows.filter((r) => r.project_id === project).length);
    }
    for (const [i, row] of rows.entries()) {
      await lockKey(trx, c.kind, `sg:${row.security_group_id}`);
      const group = await trx.selectFrom('security_group').select('id').where('id', '=', row.security_group_id).executeTakeFirst();
      if (!group) throw notFoundOf('security_group', row.security_group_id);
      const existing = await trx.selectFrom('security_group_rule').selectAll().where('security_group_id', '=', row.security_group_id).execute();
      const dup = [...existing, ...rows.slice(0, i)].find((r) => sameRule(r, row));
      if (dup) throw neutronError(409, 'SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${dup.id}.`);
      await trx.insertInto('security_group_rule').values(row).execute();
    }
    for (const gid of new Set(rows.map((r) => r.security_group_id))) await bumpGroup(trx, gid);
  });
  c.notifyChanged('security-group-rule-created');
  return rows;
}

async function bumpGroup(db: Kysely<NetworkDB>, id: string): Promise<void> {
  const g = await db.selectFrom('security_group').select('revision_number').where('id', '=', id).executeTakeFirst();
  if (g) await db.updateTable('security_group').set({ revision_number: g.revision_number + 1, updated_at: neutronNow() }).where('id', '=', id).execute();
}

/** Rules a caller sees: its own, and those of groups it sees. */
export async function listSecurityGroupRules(c: NetworkContext, caller: Caller): Promise<SecurityGroupRuleRow[]> {
  const rows = await c.db.selectFrom('security_group_rule').selectAll().execute();
  if (caller.isAdmin) return rows;
  const groups = await c.db.selectFrom('security_group').selectAll().execute();
  const visible = new Set<string>();
  for (const g of groups) if (await canSeeGroup(c.db, caller, g)) visible.add(g.id);
  return rows.filter((r) => r.project_id === caller.projectId || visible.has(r.security_group_id));
}

export async function getSecurityGroupRule(c: NetworkContext, caller: Caller, id: string): Promise<SecurityGroupRuleRow> {
  const r = await c.db.selectFrom('security_group_rule').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw notFoundOf('security_group_rule', id);
  if (caller.isAdmin || r.project_id === caller.projectId) return r;
  const g = await c.db.selectFrom('security_group').selectAll().where('id', '=', r.security_group_id).executeTakeFirst();
  if (!g || !(await canSeeGroup(c.db, caller, g))) throw notFoundOf('security_group_rule', id);
  return r;
}

/** Rules of many groups at once (for group views). */
export async function rulesOfGroups(db: Kysely<NetworkDB>, ids: string[]): Promise<Map<string, SecurityGroupRuleRow[]>> {
  const out = new Map<string, SecurityGroupRuleRow[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('security_group_rule').selectAll().where('security_group_id', 'in', ids.slice(i, i + 500)).orderBy('created_at').orderBy('id').execute();
    for (const r of rows) out.set(r.security_group_id, [...(out.get(r.security_group_id) ?? []), r]);
  }
  return out;
}

export async function deleteSecurityGroupRule(c: NetworkContext, caller: Caller, id: string): Promise<void> {
  const r = await getSecurityGroupRule(c, caller, id);
  if (!caller.isAdmin && r.project_id !== caller.projectId) throw notFoundOf('security_group_rule', id);
  await c.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('security_group_rule').where('id', '=', id).execute();
    await bumpGroup(trx, r.security_group_id);
  });
  c.notifyChanged('security-group-rule-deleted');
}
