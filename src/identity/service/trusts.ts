import { badRequest, conflict, forbidden, notFound, unauthorized } from '../../core/errors.js';
import { newId, nowIso } from '../../core/ids.js';
import type { TrustRow } from '../db/schema.js';
import type { Assignments } from './assignments.js';
import { bool, int, parseJson, type Db } from './deps.js';
import type { Projects } from './projects.js';
import type { Revocations } from './revocation.js';
import type { Roles } from './roles.js';
import type { TrustInfo, TrustProvider } from './tokens.js';
import type { Users } from './users.js';

/** Keystone's [trust] max_redelegation_count. */
export const MAX_REDELEGATION_COUNT = 3;

export interface Trust {
  id: string;
  trustorUserId: string;
  trusteeUserId: string;
  projectId: string | null;
  impersonation: boolean;
  /** ISO-8601 (milliseconds) or null for a trust that never expires. */
  expiresAt: string | null;
  remainingUses: number | null;
  redelegatedTrustId: string | null;
  redelegationCount: number | null;
  deletedAt: string | null;
  createdAt: string;
  extra: Record<string, unknown>;
  roleIds: string[];
}

export interface TrustInput {
  trustorUserId: string;
  trusteeUserId: string;
  impersonation: boolean;
  projectId?: string | null;
  /** By id or by (global) name, as the API accepts them. */
  roles?: ({ id: string } | { name: string })[];
  expiresAt?: string | null;
  remainingUses?: number | null;
  allowRedelegation?: boolean | null;
  redelegationCount?: number | null;
  extra?: Record<string, unknown>;
}

const toTrust = (r: TrustRow, roleIds: string[]): Trust => ({
  id: r.id,
  trustorUserId: r.trustor_user_id,
  trusteeUserId: r.trustee_user_id,
  projectId: r.project_id,
  impersonation: bool(r.impersonation),
  expiresAt: r.expires_at,
  remainingUses: r.remaining_uses === null ? null : Number(r.remaining_uses),
  redelegatedTrustId: r.redelegated_trust_id,
  redelegationCount: r.redelegation_count === null ? null : Number(r.redelegation_count),
  deletedAt: r.deleted_at,
  createdAt: r.created_at,
  extra: parseJson(r.extra),
  roleIds,
});

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses an `expires_at` the way Keystone does (ISO 8601, UTC unless an offset is given):
 * malformed → 400, in the past → 400. Returns ISO-8601 with milliseconds.
 */
export function parseExpiry(value: string, now = Date.now()): string {
  const m = ISO.exec(value.trim());
  const fail = () => badRequest('Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
  if (!m) throw fail();
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', tzRaw = 'Z'] = m;
  const tz = tzRaw.toUpperCase() === 'Z' ? 'Z' : tzRaw.length === 5 ? `${tzRaw.slice(0, 3)}:${tzRaw.slice(3)}` : tzRaw;
  const ms = frac ? `.${frac.padEnd(3, '0').slice(0, 3)}` : '';
  const t = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${tz}`);
  if (Number.isNaN(t) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw fail();
  if (t <= now) throw badRequest("The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
  return new Date(t).toISOString();
}

/** Keystone's isotime(subsecond=True): precise to the second, six zero digits. */
export const trustTime = (iso: string | null): string | null => (iso === null ? null : `${iso.slice(0, 19)}.000000Z`);

/**
 * OS-TRUST: a trustor delegates some of its roles on a project to a trustee, optionally
 * with impersonation, an expiry, a use limit and a redelegation depth. Deletion is soft
 * (deleted_at), recursive over redelegated trusts, and revokes the trusts' tokens.
 */
export class Trusts implements TrustProvider {
  constructor(
    private readonly db: Db,
    private readonly users: Users,
    private readonly projects: Projects,
    private readonly roles: Roles,
    private readonly assignments: Assignments,
    private readonly revocations: Revocations,
  ) {}

  /** The stored trust (soft-deleted included), or undefined. */
  async find(id: string): Promise<Trust | undefined> {
    const r = await this.db.selectFrom('trust').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) return undefined;
    const roles = await this.db.selectFrom('trust_role').select('role_id').where('trust_id', '=', id).execute();
    return toTrust(r, roles.map((x) => x.role_id));
  }

  /** A trust that can still be used: not deleted, not expired, uses left (else 404, as Keystone). */
  async get(id: string): Promise<Trust> {
    const t = await this.find(id);
    if (!t || t.deletedAt !== null || this.expired(t) || (t.remainingUses !== null && t.remainingUses <= 0)) {
      throw notFound(`Could not find trust: ${id}.`);
    }
    return t;
  }

  private expired(t: Trust, now = Date.now()): boolean {
    return t.expiresAt !== null && Date.parse(t.expiresAt) <= now;
  }

  /** Live trusts (not deleted), optionally by trustor or trustee. Expired ones still list, as in Keystone. */
  async list(f: { trustorUserId?: string; trusteeUserId?: string } = {}): Promise<Trust[]> {
    let q = this.db.selectFrom('trust').selectAll().where('deleted_at', 'is', null);
    if (f.trustorUserId !== undefined) q = q.where('trustor_user_id', '=', f.trustorUserId);
    if (f.trusteeUserId !== undefined) q = q.where('trustee_user_id', '=', f.trusteeUserId);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    if (rows.length === 0) return [];
    const roleRows = await this.db.selectFrom('trust_role').selectAll().where('trust_id', 'in', rows.map((r) => r.id)).execute();
    return rows.map((r) => toTrust(r, roleRows.filter((x) => x.trust_id === r.id).map((x) => x.role_id)));
  }

  /**
   * Creates a trust. `viaTrustId` is the trust of the caller's token: a trust created with a
   * trust token redelegates that trust.
   */
  async create(input: TrustInput, viaTrustId?: string): Promise<Trust> {
    const projectId = input.projectId ?? null;
    const requested = input.roles ?? [];
    if (projectId && requested.length === 0) throw forbidden('You are not authorized to perform the requested action: At least one role should be specified.');
    const trustee = await this.users.find(input.trusteeUserId);
    if (!trustee) throw notFound(`Could not find user: ${input.trusteeUserId}.`);

    // Roles by id or by (global, unique) name.
    const roleIds: string[] = [];
    for (const r of requested) {
      let id: string;
      if ('id' in r && r.id) id = r.id;
      else {
        const name = (r as { name: string }).name;
        const role = await this.roles.findByName(name, null);
        if (!role) throw notFound(`Role ${name} is not defined.`);
        id = role.id;
      }
      if (!roleIds.includes(id)) roleIds.push(id);
    }

    let parent: Trust | undefined;
    if (viaTrustId) {
      parent = await this.get(viaTrustId);
      if (projectId !== parent.projectId) throw forbidden('A redelegated trust must be for the project of the trust it redelegates.');
    }

    // The (original) trustor must hold every delegated role on the project.
    let held: string[] = [];
    if (projectId) {
      await this.projects.getProject(projectId);
      const origin = parent ? await this.root(parent) : undefined;
      held = await this.heldRoleIds(origin?.trustorUserId ?? input.trustorUserId, projectId);
    }
    for (const id of roleIds) if (!held.includes(id)) throw notFound(`Could not find role: ${id}.`);

    let expiresAt = input.expiresAt ? parseExpiry(input.expiresAt) : null;
    let remainingUses = input.remainingUses ?? null;
    const requestedCount = input.redelegationCount ?? null;
    const redelegatable = input.allowRedelegation === true && requestedCount !== 0;
    let redelegationCount: number | null;
    if (!redelegatable) {
      redelegationCount = 0;
      if (remainingUses !== null && remainingUses <= 0) throw badRequest('remaining_uses must be a positive integer or null.');
    } else {
      if (requestedCount !== null && requestedCount > MAX_REDELEGATION_COUNT) {
        throw forbidden(`Requested redelegation depth of ${requestedCount} is greater than allowed ${MAX_REDELEGATION_COUNT}.`);
      }
      if (remainingUses !== null) throw badRequest('remaining_uses must not be set if redelegation is allowed.');
      redelegationCount = requestedCount;
    }

    if (parent) {
      const remaining = (parent.redelegationCount ?? 0) - 1;
      if (redelegatable && requestedCount !== null && requestedCount !== 0 && requestedCount !== remaining) {
        throw forbidden('Modifying "redelegation_count" upon redelegation is forbidden. Omitting this parameter is advised.');
      }
      redelegationCount ??= remaining;
      const child = { expiresAt, remainingUses, roleIds, impersonation: input.impersonation };
      for (const t of await this.pedigree(parent)) {
        this.validateRedelegation(t, child);
        expiresAt = child.expiresAt;
      }
    }
    redelegationCount ??= MAX_REDELEGATION_COUNT;

    // Keystone's duplicate_trust_constraint (trustor, trustee, project, impersonation, expires_at).
    if (projectId && expiresAt) {
      const dup = await this.db.selectFrom('trust').select('id')
        .where('trustor_user_id', '=', input.trustorUserId).where('trustee_user_id', '=', input.trusteeUserId)
        .where('project_id', '=', projectId).where('impersonation', '=', int(input.impersonation))
        .where('expires_at', '=', expiresAt).where('deleted_at', 'is', null).executeTakeFirst();
      if (dup) throw conflict('Conflict occurred attempting to store trust - Duplicate entry.');
    }

    const row: TrustRow = {
      id: newId(),
      trustor_user_id: input.trustorUserId,
      trustee_user_id: input.trusteeUserId,
      project_id: projectId,
      impersonation: int(input.impersonation),
      expires_at: expiresAt,
      remaining_uses: remainingUses,
      redelegated_trust_id: parent?.id ?? null,
      redelegation_count: redelegationCount,
      deleted_at: null,
      created_at: nowIso(),
      extra: JSON.stringify(input.extra ?? {}),
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('trust').values(row).execute();
      if (roleIds.length) await tx.insertInto('trust_role').values(roleIds.map((role_id) => ({ trust_id: row.id, role_id }))).execute();
    });
    return toTrust(row, roleIds);
  }

  /** Keystone's _validate_redelegation(parent, child); may fill in the child's expiry. */
  private validateRedelegation(parent: Trust, child: { expiresAt: string | null; remainingUses: number | null; roleIds: string[]; impersonation: boolean }): void {
    const depth = parent.redelegationCount ?? 0;
    if (!(depth > 0 && depth <= MAX_REDELEGATION_COUNT)) {
      throw forbidden(`Remaining redelegation depth of ${depth} out of allowed range of [0..${MAX_REDELEGATION_COUNT}].`);
    }
    if (child.remainingUses !== null) {
      throw forbidden(`Field "remaining_uses" is set to ${child.remainingUses} while it must not be set in order to redelegate a trust.`);
    }
    if (child.expiresAt) {
      if (parent.expiresAt && Date.parse(parent.expiresAt) < Date.parse(child.expiresAt)) {
        throw forbidden('Requested expiration time is more than redelegated trust can provide.');
      }
    } else {
      child.expiresAt = parent.expiresAt;
    }
    if (!child.roleIds.every((r) => parent.roleIds.includes(r))) throw forbidden('Some of requested roles are not in redelegated trust.');
    if (!parent.impersonation && child.impersonation) {
      throw forbidden(`Impersonation is not allowed because redelegated trust does not specify impersonation. Redelegated trust id: ${parent.id}.`);
    }
  }

  /** The trust and the trusts it redelegates, nearest first. */
  private async pedigree(t: Trust): Promise<Trust[]> {
    const chain = [t];
    let cur = t;
    while (cur.redelegatedTrustId && chain.length <= MAX_REDELEGATION_COUNT + 1) {
      const up = await this.find(cur.redelegatedTrustId);
      if (!up) break;
      chain.push(up);
      cur = up;
    }
    return chain;
  }

  /** The first trust of a redelegation chain. */
  private async root(t: Trust): Promise<Trust> {
    const chain = await this.pedigree(t);
    return chain[chain.length - 1];
  }

  /** Effective roles of a user on a project (what a trust token's roles are checked against). */
  private async heldRoleIds(userId: string, projectId: string): Promise<string[]> {
    return this.assignments.effectiveRoleIds(userId, { project: projectId });
  }

  /** Soft-deletes a trust and everything redelegated from it, and revokes their tokens. */
  async delete(id: string): Promise<void> {
    const t = await this.find(id);
    if (!t || t.deletedAt !== null) throw notFound(`Could not find trust: ${id}.`);
    const children = await this.db.selectFrom('trust').select('id').where('redelegated_trust_id', '=', id).where('deleted_at', 'is', null).execute();
    for (const c of children) await this.delete(c.id).catch(() => undefined);
    await this.db.updateTable('trust').set({ deleted_at: nowIso() }).where('id', '=', id).where('deleted_at', 'is', null).execute();
    await this.revocations.revoke({ trustId: id });
  }

  /** Soft-deletes every trust a user gave or received (Keystone does this on user deletion). */
  async deleteForUser(userId: string): Promise<void> {
    const rows = await this.db.selectFrom('trust').select('id').where('deleted_at', 'is', null)
      .where((eb) => eb.or([eb('trustor_user_id', '=', userId), eb('trustee_user_id', '=', userId)])).execute();
    for (const r of rows) await this.delete(r.id).catch(() => undefined);
  }

  // --- TrustProvider (used by authentication and token validation)

  /**
   * The trust a token is for. Deleted, expired or unknown trusts are 401 (Keystone turns
   * TrustNotFound into Unauthorized when authenticating). The use limit is enforced when a
   * token is issued (consumeUse), so tokens already issued stay valid until they expire.
   */
  async getActive(trustId: string): Promise<TrustInfo> {
    const t = await this.find(trustId);
    if (!t || t.deletedAt !== null || this.expired(t)) throw unauthorized(`Could not find trust: ${trustId}.`);
    // As Keystone's token model: the trustee must still exist, be enabled, in an enabled domain.
    const trustee = await this.users.find(t.trusteeUserId);
    const trusteeDomain = trustee ? await this.projects.get(trustee.domainId) : undefined;
    if (!trustee || !trustee.enabled || !trusteeDomain?.enabled) throw unauthorized('The trustee of this trust is disabled or gone.');
    const info: TrustInfo & { rootTrustorUserId?: string } = {
      id: t.id,
      trustorUserId: t.trustorUserId,
      trusteeUserId: t.trusteeUserId,
      impersonation: t.impersonation,
      projectId: t.projectId,
      roleIds: t.roleIds,
      expiresAt: t.expiresAt,
    };
    if (t.redelegatedTrustId) {
      const chain = await this.pedigree(t);
      for (const p of chain.slice(1)) {
        if (p.deletedAt !== null || this.expired(p)) throw unauthorized(`Could not find trust: ${p.id}.`);
        const agent = await this.users.find(p.trusteeUserId);
        if (!agent || !agent.enabled) throw forbidden('One of the trust agents is disabled or deleted.');
      }
      info.rootTrustorUserId = chain[chain.length - 1].trustorUserId;
    }
    return info;
  }

  /** Counts one use; a trust with no uses left cannot issue tokens any more (401). */
  async consumeUse(trustId: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const r = await this.db.selectFrom('trust').select('remaining_uses').where('id', '=', trustId).where('deleted_at', 'is', null).executeTakeFirst();
      if (!r) throw unauthorized(`Could not find trust: ${trustId}.`);
      if (r.remaining_uses === null) return;
      const left = Number(r.remaining_uses);
      if (left <= 0) throw unauthorized(`Could not find trust: ${trustId}. It has no remaining uses.`);
      // Optimistic lock: only the caller that saw this count decrements it.
      const u = await this.db.updateTable('trust').set({ remaining_uses: left - 1 })
        .where('id', '=', trustId).where('deleted_at', 'is', null).where('remaining_uses', '=', left).executeTakeFirst();
      if (Number(u.numUpdatedRows) === 1) return;
    }
    throw unauthorized(`Could not consume a use of trust ${trustId}; try again.`);
  }
}
