import { notFound } from '../../core/errors.js';
import { isUniqueViolation } from '../../core/db/database.js';
import { NULL_DOMAIN_ID, type AssignmentRow, type AssignmentType } from '../db/schema.js';
import type { Db } from './deps.js';
import type { Projects } from './projects.js';
import type { Roles } from './roles.js';

export type Actor = { user: string } | { group: string };
export type Target = { project: string } | { domain: string } | { system: 'all' };

export function assignmentType(actor: Actor, target: Target): AssignmentType {
  const a = 'user' in actor ? 'User' : 'Group';
  const t = 'project' in target ? 'Project' : 'domain' in target ? 'Domain' : 'System';
  return `${a}${t}` as AssignmentType;
}
const actorId = (a: Actor) => ('user' in a ? a.user : a.group);
const targetId = (t: Target) => ('project' in t ? t.project : 'domain' in t ? t.domain : 'system');

/** One assignment as /v3/role_assignments reports it, after any effective expansion. */
export interface AssignmentView {
  roleId: string;
  userId?: string;
  groupId?: string;
  projectId?: string;
  domainId?: string;
  system?: boolean;
  inherited: boolean;
  /** How an effective assignment was derived (for its links). */
  viaGroupId?: string;
  viaPriorRoleId?: string;
  inheritedFrom?: { project?: string; domain?: string };
}

export interface AssignmentQuery {
  userId?: string;
  groupId?: string;
  roleId?: string;
  projectId?: string;
  domainId?: string;
  system?: boolean;
  inherited?: boolean;
  effective?: boolean;
  includeSubtree?: boolean;
}

/** Role assignments: grants, checks, effective roles for tokens, and the listing API. */
export class Assignments {
  constructor(private readonly db: Db, private readonly projects: Projects, private readonly roles: Roles) {}

  async grant(actor: Actor, target: Target, roleId: string, inherited = false): Promise<void> {
    try {
      await this.db.insertInto('assignment').values({
        type: assignmentType(actor, target), actor_id: actorId(actor), target_id: targetId(target), role_id: roleId, inherited: inherited ? 1 : 0,
      }).execute();
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
    }
  }

  async check(actor: Actor, target: Target, roleId: string, inherited = false): Promise<boolean> {
    const r = await this.db.selectFrom('assignment').select('role_id')
      .where('type', '=', assignmentType(actor, target)).where('actor_id', '=', actorId(actor))
      .where('target_id', '=', targetId(target)).where('role_id', '=', roleId).where('inherited', '=', inherited ? 1 : 0)
      .executeTakeFirst();
    return r !== undefined;
  }

  async revoke(actor: Actor, target: Target, roleId: string, inherited = false): Promise<void> {
    const r = await this.db.deleteFrom('assignment')
      .where('type', '=', assignmentType(actor, target)).where('actor_id', '=', actorId(actor))
      .where('target_id', '=', targetId(target)).where('role_id', '=', roleId).where('inherited', '=', inherited ? 1 : 0)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Could not find role assignment with role: ${roleId}.`);
  }

  /** Roles granted directly to an actor on a target (no inheritance, groups or implications). */
  async direct(actor: Actor, target: Target, inherited = false): Promise<string[]> {
    const rows = await this.db.selectFrom('assignment').select('role_id')
      .where('type', '=', assignmentType(actor, target)).where('actor_id', '=', actorId(actor))
      .where('target_id', '=', targetId(target)).where('inherited', '=', inherited ? 1 : 0).execute();
    return rows.map((r) => r.role_id);
  }

  /**
   * The roles a user really has on a scope: direct and via groups, inherited from the domain
   * and from ancestor projects, then expanded by implications. Domain-specific roles stay out
   * (only what they imply counts), as in Keystone.
   */
  async effectiveRoleIds(userId: string, scope: Target, groupIds?: string[]): Promise<string[]> {
    const groups = groupIds ?? (await this.db.selectFrom('user_group_membership').select('group_id').where('user_id', '=', userId).execute()).map((r) => r.group_id);
    const actors = [userId, ...groups];
    const conds: { targets: string[]; inherited: number }[] = [];
    if ('project' in scope) {
      const p = await this.projects.get(scope.project);
      if (!p) return [];
      conds.push({ targets: [p.id], inherited: 0 });
      conds.push({ targets: [p.domainId!, ...(await this.projects.ancestors(p.id))], inherited: 1 });
    } else if ('domain' in scope) {
      conds.push({ targets: [scope.domain], inherited: 0 });
    } else {
      conds.push({ targets: ['system'], inherited: 0 });
    }
    const rows = await this.db.selectFrom('assignment').select('role_id')
      .where('actor_id', 'in', actors)
      .where((eb) => eb.or(conds.map((c) => eb.and([eb('target_id', 'in', c.targets), eb('inherited', '=', c.inherited)]))))
      .execute();
    const expanded = await this.roles.expand([...new Set(rows.map((r) => r.role_id))]);
    if (expanded.length === 0) return [];
    const globals = await this.db.selectFrom('role').select('id').where('id', 'in', expanded).where('domain_id', '=', NULL_DOMAIN_ID).execute();
    return globals.map((r) => r.id);
  }

  /** Projects (or domains) where the user has any effective role. */
  async projectsOfUser(userId: string): Promise<string[]> {
    const groups = (await this.db.selectFrom('user_group_membership').select('group_id').where('user_id', '=', userId).execute()).map((r) => r.group_id);
    const rows = await this.db.selectFrom('assignment').selectAll().where('actor_id', 'in', [userId, ...groups]).execute();
    const ids = new Set<string>();
    for (const r of rows) {
      if (r.type.endsWith('Project')) {
        if (!r.inherited) ids.add(r.target_id);
        else for (const d of await this.projects.descendants(r.target_id)) ids.add(d);
      } else if (r.type.endsWith('Domain') && r.inherited) {
        for (const p of await this.projects.list({ domainId: r.target_id })) ids.add(p.id);
      }
    }
    return [...ids];
  }

  async domainsOfUser(userId: string): Promise<string[]> {
    const groups = (await this.db.selectFrom('user_group_membership').select('group_id').where('user_id', '=', userId).execute()).map((r) => r.group_id);
    const rows = await this.db.selectFrom('assignment').select('target_id')
      .where('actor_id', 'in', [userId, ...groups]).where('type', 'in', ['UserDomain', 'GroupDomain']).where('inherited', '=', 0).execute();
    return [...new Set(rows.map((r) => r.target_id))];
  }

  async hasSystemRole(userId: string): Promise<boolean> {
    return (await this.effectiveRoleIds(userId, { system: 'all' })).length > 0;
  }

  /** GET /v3/role_assignments, with Keystone's effective expansion. */
  async list(q: AssignmentQuery): Promise<AssignmentView[]> {
    let qb = this.db.selectFrom('assignment').selectAll();
    if (q.roleId && !q.effective) qb = qb.where('role_id', '=', q.roleId);
    if (q.inherited !== undefined && !q.effective) qb = qb.where('inherited', '=', q.inherited ? 1 : 0);
    const rows = await qb.execute();
    let views: AssignmentView[] = rows.map(toView);
    if (q.effective) views = await this.expandEffective(views);
    const seen = new Set<string>();
    return views.filter((v) => {
      if (!this.matches(v, q)) return false;
      const key = [v.roleId, v.userId, v.groupId, v.projectId, v.domainId, v.system, v.inherited].join('|');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  private matches(v: AssignmentView, q: AssignmentQuery): boolean {
    if (q.userId && v.userId !== q.userId) return false;
    if (q.groupId && v.groupId !== q.groupId) return false;
    if (q.roleId && v.roleId !== q.roleId) return false;
    if (q.projectId && v.projectId !== q.projectId) return false;
    if (q.domainId && v.domainId !== q.domainId) return false;
    if (q.system && !v.system) return false;
    if (q.effective && v.groupId) return false;
    return true;
  }

  /** Groups → their users, inherited → the projects they apply to, roles → what they imply. */
  private async expandEffective(views: AssignmentView[]): Promise<AssignmentView[]> {
    const out: AssignmentView[] = [];
    const implications = await this.roles.allImplications();
    const domainRoles = new Set((await this.db.selectFrom('role').select('id').where('domain_id', '!=', NULL_DOMAIN_ID).execute()).map((r) => r.id));
    for (const v of views) {
      const users = v.groupId ? (await this.db.selectFrom('user_group_membership').select('user_id').where('group_id', '=', v.groupId).execute()).map((r) => r.user_id) : [v.userId!];
      let targets: { projectId?: string; domainId?: string; system?: boolean; inheritedFrom?: AssignmentView['inheritedFrom'] }[];
      if (v.inherited) {
        const projectIds = v.domainId
          ? (await this.projects.list({ domainId: v.domainId })).map((p) => p.id)
          : await this.projects.descendants(v.projectId!);
        targets = projectIds.map((projectId) => ({ projectId, inheritedFrom: v.domainId ? { domain: v.domainId } : { project: v.projectId } }));
      } else {
        targets = [{ projectId: v.projectId, domainId: v.domainId, system: v.system }];
      }
      for (const userId of users) {
        for (const t of targets) {
          const base: AssignmentView = { roleId: v.roleId, userId, ...t, inherited: false, ...(v.groupId ? { viaGroupId: v.groupId } : {}) };
          if (!domainRoles.has(v.roleId)) out.push(base);
          const seen = new Set([v.roleId]);
          let frontier = [v.roleId];
          while (frontier.length) {
            const next = implications.filter((i) => frontier.includes(i.prior_role_id) && !seen.has(i.implied_role_id));
            frontier = next.map((i) => i.implied_role_id);
            for (const i of next) {
              seen.add(i.implied_role_id);
              if (!domainRoles.has(i.implied_role_id)) out.push({ ...base, roleId: i.implied_role_id, viaPriorRoleId: i.prior_role_id });
            }
          }
        }
      }
    }
    return out;
  }

  async removeTarget(targetIdValue: string): Promise<void> {
    await this.db.deleteFrom('assignment').where('target_id', '=', targetIdValue).execute();
  }
}

function toView(r: AssignmentRow): AssignmentView {
  const v: AssignmentView = { roleId: r.role_id, inherited: r.inherited === 1 };
  if (r.type.startsWith('User')) v.userId = r.actor_id;
  else v.groupId = r.actor_id;
  if (r.type.endsWith('Project')) v.projectId = r.target_id;
  else if (r.type.endsWith('Domain')) v.domainId = r.target_id;
  else v.system = true;
  return v;
}
