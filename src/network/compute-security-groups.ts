/**
 * Nova's os-security-groups / os-security-group-rules over the network service (Nova's
 * neutron security_group_api): Neutron's groups and ingress rules shown in Nova's format, with
 * UUID ids; Nova's own request checks (names, rule arguments) first, then Neutron's, whose
 * errors are mapped to what Nova answers (409 in use → 400, quota → 403, not found → 404).
 */
import { HttpError, badRequest, notFound } from '../core/errors.js';
import {
  buildRule, sortSecurityGroups,
  type SecurityGroup, type SecurityGroupCaller, type SecurityGroupRule, type SecurityGroupStore,
} from '../compute/client.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from './db/schema.js';
import type { Caller, NetworkContext } from './service/context.js';
import { NeutronError } from './service/errors.js';
import {
  createSecurityGroup, deleteSecurityGroup, ensureDefaultSecurityGroup, getSecurityGroup, listSecurityGroups, updateSecurityGroup,
} from './service/security-groups.js';
import { createSecurityGroupRules, deleteSecurityGroupRule, getSecurityGroupRule, rulesOfGroups } from './service/security-group-rules.js';

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Nova's neutron validate_id: group and rule ids are UUIDs. */
function uuidOf(id: unknown): string {
  if (typeof id !== 'string' || !UUID_RE.test(id)) throw badRequest('Security group id should be uuid');
  return id;
}

/** Nova's validate_property + check_string_length. */
function property(value: unknown, what: 'name' | 'description', allowEmpty: boolean): string {
  if (typeof value !== 'string') throw badRequest(`Security group ${what} is not a string or unicode`);
  const v = value.trim();
  if (!allowEmpty && v === '') throw badRequest(`Security group ${what} cannot be empty.`);
  if (value.length > 255) throw badRequest(`Security group ${what} should not be greater than 255 characters.`);
  return value;
}

/** How Nova turns Neutron's client errors into its own. */
function novaError(e: unknown, onConflict: (m: string) => Error = (m) => badRequest(m)): unknown {
  if (!(e instanceof HttpError)) return e;
  const type = e instanceof NeutronError ? e.type : '';
  if (type === 'OverQuota') return new HttpError(403, `Quota exceeded, too many security groups. ${e.message}`);
  if (e.status === 404) return notFound(e.message);
  if (e.status === 409) return onConflict(e.message);
  if (e.status === 400) return badRequest(e.message);
  return e;
}

const callerOf = (c: SecurityGroupCaller): Caller => ({ projectId: c.projectId, userId: '', isAdmin: c.isAdmin });

export function computeSecurityGroups(c: NetworkContext): SecurityGroupStore {
  const db = c.db;

  /** Nova's _convert_to_nova_security_group_rule_format: ports of "any" TCP/UDP are 1-65535, of others -1. */
  const ruleView = (r: SecurityGroupRuleRow, groups: Map<string, SecurityGroupRow>): SecurityGroupRule => {
    let from = r.port_range_min;
    let to = r.port_range_max;
    if (r.protocol && from === null && to === null) {
      const tcpUdp = ['TCP', 'UDP'].includes(r.protocol.toUpperCase());
      from = tcpUdp ? 1 : -1;
      to = tcpUdp ? 65535 : -1;
    }
    const base = { id: r.id, parent_group_id: r.security_group_id, ip_protocol: r.protocol, from_port: from, to_port: to };
    if (r.remote_group_id) {
      const g = groups.get(r.remote_group_id);
      return { ...base, group: g ? { name: g.name, tenant_id: g.project_id } : {}, ip_range: {} };
    }
    return { ...base, group: {}, ip_range: { cidr: r.remote_ip_prefix ?? '0.0.0.0/0' } };
  };

  /** Groups in Nova's format: only ingress rules (Nova knows no others). */
  const views = async (rows: SecurityGroupRow[]): Promise<SecurityGroup[]> => {
    if (rows.length === 0) return [];
    const rules = await rulesOfGroups(db, rows.map((g) => g.id));
    const known = new Map(rows.map((g) => [g.id, g]));
    const remote = [...new Set([...rules.values()].flat().map((r) => r.remote_group_id).filter((x): x is string => !!x && !known.has(x)))];
    if (remote.length) for (const g of await db.selectFrom('security_group').selectAll().where('id', 'in', remote).execute()) known.set(g.id, g);
    return rows.map((g) => ({
      id: g.id, name: g.name, description: g.description, tenant_id: g.project_id,
      rules: (rules.get(g.id) ?? []).filter((r) => r.direction === 'ingress').map((r) => ruleView(r, known)),
    }));
  };

  const get = async (caller: SecurityGroupCaller, id: unknown): Promise<SecurityGroupRow> => {
    const gid = uuidOf(id);
    try {
      const g = await getSecurityGroup(c, callerOf(caller), gid);
      if (!caller.isAdmin && g.project_id !== caller.projectId) throw notFound(`Security group ${gid} not found.`);
      return g;
    } catch (e) {
      throw novaError(e);
    }
  };

  /** Groups of a project by name or id (a server's groups). */
  const byRefs = async (projectId: string, refs: string[]): Promise<SecurityGroupRow[]> => {
    if (refs.length === 0) return [];
    if (refs.includes('default')) await ensureDefaultSecurityGroup(c, db, projectId);
    const ids = refs.filter((r) => UUID_RE.test(r));
    return db.selectFrom('security_group').selectAll().where('project_id', '=', projectId)
      .where((e) => (ids.length ? e.or([e('name', 'in', refs), e('id', 'in', ids)]) : e('name', 'in', refs))).execute();
  };

  return {
    async list(caller, opts = {}) {
      const rows = await listSecurityGroups(c, callerOf(caller), []);
      const all = opts.allTenants && caller.isAdmin;
      return views(rows.filter((g) => all || g.project_id === caller.projectId));
    },

    async get(caller, id) {
      return (await views([await get(caller, id)]))[0];
    },

    async create(caller, input) {
      const name = property(input.name, 'name', false);
      const description = input.description === undefined || input.description === null ? '' : property(input.description, 'description', true);
      try {
        const row = await createSecurityGroup(c, { projectId: caller.projectId, name, description, stateful: true });
        return (await views([row]))[0];
      } catch (e) {
        throw novaError(e);
      }
    },

    async update(caller, id, input) {
      const g = await get(caller, id);
      if (input.name === undefined && input.description === undefined) property(undefined, 'name', false);
      const name = input.name === undefined ? undefined : property(input.name, 'name', false);
      const description = input.description === undefined ? undefined : input.description === null ? '' : property(input.description, 'description', true);
      try {
        const row = await updateSecurityGroup(c, callerOf(caller), g.id, { name, description });
        return (await views([row]))[0];
      } catch (e) {
        throw novaError(e);
      }
    },

    async delete(caller, id) {
      const g = await get(caller, id);
      try {
        // Nova cannot remove the default group even as admin (Neutron would let an admin)
        if (g.name === 'default') throw badRequest('Removing default security group not allowed');
        await deleteSecurityGroup(c, callerOf(caller), g.id);
      } catch (e) {
        throw novaError(e);
      }
    },

    async createRule(caller, input) {
      const parent = await get(caller, input.parent_group_id);
      const source = input.group_id === undefined || input.group_id === null ? null : await get(caller, input.group_id);
      // buildRule only asks whether there is a source group; the id used is the Neutron one below
      const rule = buildRule(input, source ? 0 : null);
      const cidr = rule.cidr;
      const ethertype = cidr && cidr.includes(':') ? 'IPv6' : 'IPv4';
      try {
        const [row] = await createSecurityGroupRules(c, callerOf(caller), [{
          security_group_id: parent.id, direction: 'ingress', ethertype, protocol: rule.ip_protocol,
          port_range_min: rule.from_port === -1 ? null : rule.from_port, port_range_max: rule.to_port === -1 ? null : rule.to_port,
          remote_ip_prefix: cidr, remote_group_id: source?.id ?? null, description: '',
        }]);
        return ruleView(row, new Map([[parent.id, parent], ...(source ? [[source.id, source] as const] : [])]));
      } catch (e) {
        if (e instanceof NeutronError && e.type === 'SecurityGroupRuleExists') throw badRequest(`This rule already exists in group ${parent.id}`);
        if (e instanceof NeutronError && e.type === 'OverQuota') throw new HttpError(403, 'Quota exceeded, too many security group rules.');
        throw novaError(e);
      }
    },

    async deleteRule(caller, id) {
      const rid = uuidOf(id);
      try {
        const r = await getSecurityGroupRule(c, callerOf(caller), rid);
        if (!caller.isAdmin && r.project_id !== caller.projectId) throw notFound(`Security group rule ${rid} not found.`);
        await deleteSecurityGroupRule(c, callerOf(caller), rid);
      } catch (e) {
        throw novaError(e);
      }
    },

    async ofServer(projectId, refs) {
      return sortSecurityGroups(await views(await byRefs(projectId, refs)));
    },

    async exists(projectId, nameOrId) {
      if (nameOrId === 'default') return true;
      return (await byRefs(projectId, [nameOrId])).length > 0;
    },
  };
}
