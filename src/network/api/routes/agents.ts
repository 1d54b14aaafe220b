/**
 * Agents (/v2.0/agents): the dataplane agents register and heartbeat in the agent table;
 * admins list, show, update (admin_state_up, description) and delete them.
 */
import type { Route } from '../../../core/http/routes.js';
import { fromJson } from '../../../core/db/database.js';
import type { AgentRow } from '../../db/schema.js';
import type { NetworkContext } from '../../service/context.js';
import { notFoundOf } from '../../service/errors.js';
import { bodyOf, boolAttr, callerOf, fieldsOf, listBody, onlyKnown, pickFields, strAttr, type View } from '../common.js';

export const agentsPolicy: Record<string, string> = {
  get_agent: 'rule:admin_only',
  update_agent: 'rule:admin_only',
  delete_agent: 'rule:admin_only',
};

/** Neutron's agent_down_time: an agent is alive while its last heartbeat is this recent. */
export const AGENT_DOWN_TIME_MS = 75_000;

/** Neutron shows agent times as "YYYY-MM-DD HH:MM:SS" (UTC). */
const agentTime = (s: string) => (/^\d{4}-\d\d-\d\dT/.test(s) ? s.replace('T', ' ').replace(/(\.\d+)?Z$/, '') : s);

export function agentView(a: AgentRow, now = Date.now()): View {
  const beat = Date.parse(/Z$|[+-]\d\d:?\d\d$/.test(a.heartbeat_timestamp) ? a.heartbeat_timestamp : `${a.heartbeat_timestamp.replace(' ', 'T')}Z`);
  return {
    id: a.id,
    agent_type: a.agent_type,
    binary: a.binary,
    host: a.host,
    topic: a.topic,
    availability_zone: a.availability_zone,
    admin_state_up: !!a.admin_state_up,
    alive: Number.isFinite(beat) && now - beat <= AGENT_DOWN_TIME_MS,
    configurations: fromJson<Record<string, unknown>>(a.configurations, {}),
    description: a.description,
    created_at: agentTime(a.created_at),
    started_at: agentTime(a.started_at),
    heartbeat_timestamp: agentTime(a.heartbeat_timestamp),
    resources_synced: null,
  };
}

export function agentsRoutes(c: NetworkContext): Route[] {
  const get = async (id: string) => {
    const a = await c.db.selectFrom('agent').selectAll().where('id', '=', id).executeTakeFirst();
    if (!a) throw notFoundOf('agent', id);
    return a;
  };
  return [
    {
      // non-admins get an empty list, as Neutron's policy filtering gives them
      method: 'GET', url: '/v2.0/agents', policy: 'authenticated',
      handler: async (ctx) => {
        const rows = ctx.allowed('get_agent', { project_id: callerOf(ctx).projectId }) ? await c.db.selectFrom('agent').selectAll().execute() : [];
        return listBody(ctx, 'agents', rows.map((a) => agentView(a)));
      },
    },
    {
      method: 'GET', url: '/v2.0/agents/:id', policy: 'get_agent',
      handler: async (ctx) => ({ agent: pickFields(agentView(await get(ctx.params.id)), fieldsOf(ctx)) }),
    },
    {
      method: 'PUT', url: '/v2.0/agents/:id', policy: 'update_agent',
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'agent');
        onlyKnown(b, ['admin_state_up', 'description']);
        await get(ctx.params.id);
        const set: Partial<AgentRow> = {};
        if (b.admin_state_up !== undefined) set.admin_state_up = Number(boolAttr(b, 'admin_state_up', true));
        if (b.description !== undefined) set.description = b.description === null ? null : strAttr(b, 'description', '');
        if (Object.keys(set).length) await c.db.updateTable('agent').set(set).where('id', '=', ctx.params.id).execute();
        if (set.admin_state_up !== undefined) c.notifyChanged('agent-updated');
        return { agent: agentView(await get(ctx.params.id)) };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/agents/:id', policy: 'delete_agent',
      handler: async (ctx) => {
        await get(ctx.params.id);
        await c.db.deleteFrom('agent').where('id', '=', ctx.params.id).execute();
      },
    },
  ];
}
