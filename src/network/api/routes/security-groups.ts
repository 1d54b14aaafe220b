/** Security groups and rules (/v2.0/security-groups, /v2.0/security-group-rules). */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from '../../db/schema.js';
import type { Caller, NetworkContext } from '../../service/context.js';
import {
  createSecurityGroupRules, deleteSecurityGroupRule, getSecurityGroupRule, listSecurityGroupRules, normalizedCidr, rulesOfGroups, type RuleInput,
} from '../../service/security-group-rules.js';
import {
  createSecurityGroup, deleteSecurityGroup, getSecurityGroup, listSecurityGroups, sharedGroupIds, updateSecurityGroup,
} from '../../service/security-groups.js';
import { tagsOf } from '../../service/tags.js';
import { bodyOf, boolAttr, bulkOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, standardView, strAttr, type View } from '../common.js';

export const securityGroupsPolicy: Record<string, string> = {
  create_security_group: '',
  get_security_group: '',
  update_security_group: 'rule:admin_or_owner',
  delete_security_group: 'rule:admin_or_owner',
  create_security_group_rule: '',
  get_security_group_rule: '',
  delete_security_group_rule: 'rule:admin_or_owner',
};

const GROUP_CREATE_KEYS = ['name', 'description', 'stateful', 'project_id', 'tenant_id'] as const;
const GROUP_UPDATE_KEYS = ['name', 'description', 'stateful'] as const;
const RULE_KEYS = ['security_group_id', 'direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max', 'remote_ip_prefix',
  'remote_group_id', 'remote_address_group_id', 'description', 'project_id', 'tenant_id'] as const;

/** A rule (rules carry the standard attributes but no tags). */
export function ruleView(r: SecurityGroupRuleRow): View {
  const std = standardView(r, []);
  delete std.tags;
  return {
    id: r.id,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    normalized_cidr: normalizedCidr(r.remote_ip_prefix),
    remote_group_id: r.remote_group_id,
    remote_address_group_id: r.remote_address_group_id,
    ...std,
  };
}

async function groupViews(c: NetworkContext, rows: SecurityGroupRow[]): Promise<View[]> {
  const ids = rows.map((g) => g.id);
  const [rules, tags, shared] = await Promise.all([rulesOfGroups(c.db, ids), tagsOf(c.db, ids), sharedGroupIds(c.db, ids)]);
  return rows.map((g) => ({
    id: g.id,
    name: g.name,
    stateful: !!g.stateful,
    shared: shared.has(g.id),
    security_group_rules: (rules.get(g.id) ?? []).map(ruleView),
    ...standardView(g, tags.get(g.id) ?? []),
  }));
}

const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function securityGroupsRoutes(c: NetworkContext): Route[] {
  const createGroup = async (ctx: RequestCtx, b: Record<string, unknown>, caller: Caller) => {
    onlyKnown(b, GROUP_CREATE_KEYS);
    const row = await createSecurityGroup(c, {
      projectId: ownerOf(ctx, b, caller), name: strAttr(b, 'name', ''), description: strAttr(b, 'description', ''),
      stateful: boolAttr(b, 'stateful', true),
    });
    return (await groupViews(c, [row]))[0];
  };
  const ruleInput = (b: Record<string, unknown>): RuleInput => {
    onlyKnown(b, RULE_KEYS);
    return { ...b, description: strAttr(b, 'description', '') };
  };
  const groupTarget = async (ctx: RequestCtx) => ({ project_id: (await getSecurityGroup(c, callerOf(ctx), ctx.params.id)).project_id });

  return [
    {
      method: 'GET', url: '/v2.0/security-groups', policy: 'get_security_group',
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const projects = [...all(ctx.query.project_id), ...all(ctx.query.tenant_id)];
        return listBody(ctx, 'security_groups', await groupViews(c, await listSecurityGroups(c, caller, projects)));
      },
    },
    {
      method: 'GET', url: '/v2.0/security-groups/:id', policy: 'get_security_group',
      handler: async (ctx) => {
        const [v] = await groupViews(c, [await getSecurityGroup(c, callerOf(ctx), ctx.params.id)]);
        return { security_group: pickFields(v, fieldsOf(ctx)) };
      },
    },
    {
      method: 'POST', url: '/v2.0/security-groups', policy: 'create_security_group', status: 201,
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const bulk = bulkOf(ctx, 'security_groups');
        if (bulk) {
          const out: View[] = [];
          for (const b of bulk) out.push(await createGroup(ctx, b, caller));
          return { security_groups: out };
        }
        return { security_group: await createGroup(ctx, bodyOf(ctx, 'security_group'), caller) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/security-groups/:id', policy: 'update_security_group', target: groupTarget,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'security_group');
        onlyKnown(b, GROUP_UPDATE_KEYS);
        const row = await updateSecurityGroup(c, callerOf(ctx), ctx.params.id, {
          name: b.name === undefined ? undefined : strAttr(b, 'name', ''),
          description: b.description === undefined ? undefined : strAttr(b, 'description', ''),
          stateful: b.stateful === undefined ? undefined : boolAttr(b, 'stateful', true),
        });
        return { security_group: (await groupViews(c, [row]))[0] };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/security-groups/:id', policy: 'delete_security_group', target: groupTarget,
      handler: async (ctx) => { await deleteSecurityGroup(c, callerOf(ctx), ctx.params.id); },
    },
    {
      method: 'GET', url: '/v2.0/security-group-rules', policy: 'get_security_group_rule',
      handler: async (ctx) => listBody(ctx, 'security_group_rules', (await listSecurityGroupRules(c, callerOf(ctx))).map(ruleView)),
    },
    {
      method: 'GET', url: '/v2.0/security-group-rules/:id', policy: 'get_security_group_rule',
      handler: async (ctx) => ({ security_group_rule: pickFields(ruleView(await getSecurityGroupRule(c, callerOf(ctx), ctx.params.id)), fieldsOf(ctx)) }),
    },
    {
      method: 'POST', url: '/v2.0/security-group-rules', policy: 'create_security_group_rule', status: 201,
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const bulk = bulkOf(ctx, 'security_group_rules');
        if (bulk) return { security_group_rules: (await createSecurityGroupRules(c, caller, bulk.map(ruleInput))).map(ruleView) };
        const [row] = await createSecurityGroupRules(c, caller, [ruleInput(bodyOf(ctx, 'security_group_rule'))]);
        return { security_group_rule: ruleView(row) };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/security-group-rules/:id', policy: 'delete_security_group_rule',
      target: async (ctx) => ({ project_id: (await getSecurityGroupRule(c, callerOf(ctx), ctx.params.id)).project_id }),
      handler: async (ctx) => { await deleteSecurityGroupRule(c, callerOf(ctx), ctx.params.id); },
    },
  ];
}
