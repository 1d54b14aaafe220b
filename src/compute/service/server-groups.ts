/**
 * Server groups (os-server-groups): a policy (affinity, anti-affinity, soft-*) with rules
 * (max_server_per_host for anti-affinity) over member servers. Creating one counts against the
 * project's and user's server_groups quota; adding a member against server_group_members.
 */
import { randomUUID } from 'node:crypto';
import { HttpError, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { Kysely } from 'kysely';
import type { DbKind } from '../../core/db/database.js';
import type { ComputeDB, ServerGroupRow } from '../db/schema.js';
import { fromJson, lockKey, toJson, type ComputeContext } from './context.js';
import { effectiveLimits } from './quotas.js';

export interface ServerGroup extends ServerGroupRow {
  members: string[];
  rulesObj: Record<string, unknown>;
}

const groupNotFound = (id: string) => notFound(`Instance group ${id} could not be found.`);

async function withMembers(c: ComputeContext, rows: ServerGroupRow[]): Promise<ServerGroup[]> {
  if (rows.length === 0) return [];
  const members = await c.db.selectFrom('server_group_member')
    .leftJoin('instance', 'instance.uuid', 'server_group_member.instance_uuid')
    .select(['server_group_member.group_uuid', 'server_group_member.instance_uuid', 'instance.deleted'])
    .where('server_group_member.group_uuid', 'in', rows.map((r) => r.uuid))
    .orderBy('server_group_member.instance_uuid').execute();
  return rows.map((r) => ({
    ...r,
    // a deleted (or purged) server is no longer a member
    members: members.filter((m) => m.group_uuid === r.uuid && m.deleted !== null && Number(m.deleted) === 0).map((m) => m.instance_uuid),
    rulesObj: fromJson<Record<string, unknown>>(r.rules, {}),
  }));
}

export async function listServerGroups(c: ComputeContext, projectId: string | undefined): Promise<ServerGroup[]> {
  let q = c.db.selectFrom('server_group').selectAll();
  if (projectId !== undefined) q = q.where('project_id', '=', projectId);
  return withMembers(c, await q.orderBy('created_at').orderBy('uuid').execute());
}

export async function getServerGroup(c: ComputeContext, uuid: string): Promise<ServerGroup> {
  const row = await c.db.selectFrom('server_group').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  if (!row) throw groupNotFound(uuid);
  return (await withMembers(c, [row]))[0];
}

export async function createServerGroup(c: ComputeContext, owner: { projectId: string; userId: string }, g: { name: string; policy: string; rules: Record<string, unknown> }): Promise<ServerGroup> {
  const uuid = randomUUID();
  await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `server_groups:${owner.projectId}`);
    for (const user of [undefined, owner.userId]) {
      const limits = await effectiveLimits(trx, owner.projectId, user);
      const limit = limits.server_groups;
      if (limit === undefined || limit < 0) continue;
      let q = trx.selectFrom('server_group').select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', owner.projectId);
      if (user) q = q.where('user_id', '=', user);
      const used = Number((await q.executeTakeFirst())?.n ?? 0);
      if (used + 1 > limit) throw new HttpError(403, 'Quota exceeded, too many server groups.');
    }
    await trx.insertInto('server_group').values({
      uuid, name: g.name, project_id: owner.projectId, user_id: owner.userId, policy: g.policy, rules: toJson(g.rules), created_at: nowIso(),
    }).execute();
  });
  return getServerGroup(c, uuid);
}

export async function deleteServerGroup(c: ComputeContext, uuid: string): Promise<void> {
  await c.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('server_group_member').where('group_uuid', '=', uuid).execute();
    await trx.deleteFrom('server_group').where('uuid', '=', uuid).execute();
  });
}

/** For the scheduler: a group's policy, rules and the hosts its (live) members run on, one entry per member. */
export async function groupMembersHosts(c: ComputeContext, groupUuid: string): Promise<{ policy: string; rules: Record<string, unknown>; hosts: string[] }> {
  const g = await c.db.selectFrom('server_group').select(['policy', 'rules']).where('uuid', '=', groupUuid).executeTakeFirst();
  if (!g) throw groupNotFound(groupUuid);
  const rows = await c.db.selectFrom('server_group_member').innerJoin('instance', 'instance.uuid', 'server_group_member.instance_uuid')
    .select('instance.host').where('server_group_member.group_uuid', '=', groupUuid).where('instance.deleted', '=', 0).where('instance.host', 'is not', null).execute();
  return { policy: g.policy, rules: fromJson<Record<string, unknown>>(g.rules, {}), hosts: rows.map((r) => r.host as string) };
}

/** Throws 403 when `adding` more servers would pass the group's server_group_members quota (call inside the writing transaction). */
export async function checkGroupRoom(trx: Kysely<ComputeDB>, kind: DbKind, groupUuid: string, adding: number): Promise<void> {
  await lockKey(trx, kind, `server_group:${groupUuid}`);
  const g = await trx.selectFrom('server_group').select(['project_id', 'user_id']).where('uuid', '=', groupUuid).executeTakeFirst();
  if (!g) throw groupNotFound(groupUuid);
  const limit = (await effectiveLimits(trx, g.project_id)).server_group_members;
  if (limit === undefined || limit < 0) return;
  const members = await trx.selectFrom('server_group_member').leftJoin('instance', 'instance.uuid', 'server_group_member.instance_uuid')
    .select('instance.deleted').where('server_group_member.group_uuid', '=', groupUuid).execute();
  const used = members.filter((m) => m.deleted !== null && Number(m.deleted) === 0).length;
  if (used + adding > limit) throw new HttpError(403, 'Quota exceeded, too many servers in group');
}

/**
 * Adds a server to a group (idempotent), within the group project's server_group_members quota:
 * 403 "Quota exceeded, too many servers in group" past it.
 */
export async function addGroupMember(c: ComputeContext, groupUuid: string, instanceUuid: string): Promise<void> {
  await c.db.transaction().execute(async (trx) => {
    const already = await trx.selectFrom('server_group_member').select('instance_uuid').where('group_uuid', '=', groupUuid).where('instance_uuid', '=', instanceUuid).executeTakeFirst();
    if (already) return;
    await checkGroupRoom(trx, c.kind, groupUuid, 1);
    await trx.insertInto('server_group_member').values({ group_uuid: groupUuid, instance_uuid: instanceUuid }).execute();
  });
}
