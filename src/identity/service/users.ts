import { badRequest, conflict, notFound, unauthorized } from '../../core/errors.js';
import { newId, nowIso } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import type { IdentityConfig } from '../../core/config.js';
import type { UserRow } from '../db/schema.js';
import { bool, int, parseJson, type Db } from './deps.js';
import type { PasswordHasher } from './password-hasher.js';

export interface User {
  id: string;
  name: string;
  domainId: string;
  enabled: boolean;
  defaultProjectId: string | null;
  passwordExpiresAt: string | null;
  options: Record<string, unknown>;
  extra: Record<string, unknown>;
}

export interface UserInput {
  name?: string;
  domainId?: string;
  enabled?: boolean;
  defaultProjectId?: string | null;
  password?: string | null;
  options?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

const toUser = (r: UserRow, passwordExpiresAt: string | null = null): User => ({
  id: r.id,
  name: r.name,
  domainId: r.domain_id,
  enabled: bool(r.enabled),
  defaultProjectId: r.default_project_id,
  passwordExpiresAt,
  options: parseJson(r.options),
  extra: parseJson(r.extra),
});

/** Users, their passwords (with history), lockout and self-service password change. */
export class Users {
  constructor(private readonly db: Db, private readonly hasher: PasswordHasher, private readonly cfg: IdentityConfig) {}

  async get(id: string): Promise<User> {
    const r = await this.db.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find user: ${id}.`);
    return toUser(r);
  }

  async find(id: string): Promise<User | undefined> {
    const r = await this.db.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  async findByName(name: string, domainId: string): Promise<User | undefined> {
    const r = await this.db.selectFrom('user').selectAll().where('name', '=', name).where('domain_id', '=', domainId).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  async list(f: { name?: string; domainId?: string; enabled?: boolean; ids?: string[] }): Promise<User[]> {
    let q = this.db.selectFrom('user').selectAll();
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.enabled !== undefined) q = q.where('enabled', '=', int(f.enabled));
    if (f.ids !== undefined) {
      if (f.ids.length === 0) return [];
      q = q.where('id', 'in', f.ids);
    }
    return (await q.orderBy('name').execute()).map((r) => toUser(r));
  }

  async create(input: UserInput & { domainId: string; id?: string }): Promise<User> {
    const name = input.name;
    if (!name || name.trim() === '' || name.length > 255) throw badRequest("Invalid input for field 'name': 1 to 255 characters are required.");
    const now = nowIso();
    const row: UserRow = {
      id: input.id ?? newId(),
      domain_id: input.domainId,
      name,
      enabled: int(input.enabled ?? true),
      default_project_id: input.defaultProjectId ?? null,
      extra: JSON.stringify(input.extra ?? {}),
      options: JSON.stringify(input.options ?? {}),
      created_at: now,
      last_active_at: null,
      failed_auth_count: 0,
      failed_auth_at: null,
    };
    const hash = input.password ? await this.hasher.hash(input.password) : null;
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('user').values(row).execute();
        if (hash) await tx.insertInto('password').values({ id: newId(), user_id: row.id, hash, created_at: now, expires_at: null, self_service: 0 }).execute();
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${name} at domain ID ${input.domainId}.`);
      throw e;
    }
    return toUser(row);
  }

  /** Admin update; a password set here skips history checks (as Keystone's admin reset). */
  async update(id: string, input: UserInput): Promise<User> {
    const cur = await this.get(id);
    const patch: Partial<UserRow> = {};
    if (input.name !== undefined) {
      if (input.name.trim() === '' || input.name.length > 255) throw badRequest("Invalid input for field 'name'.");
      patch.name = input.name;
    }
    if (input.enabled !== undefined) patch.enabled = int(input.enabled);
    if (input.defaultProjectId !== undefined) patch.default_project_id = input.defaultProjectId;
    if (input.extra !== undefined) patch.extra = JSON.stringify({ ...cur.extra, ...input.extra });
    if (input.options !== undefined) patch.options = JSON.stringify({ ...cur.options, ...input.options });
    if (input.enabled === true) patch.failed_auth_count = 0;
    try {
      if (Object.keys(patch).length) await this.db.updateTable('user').set(patch).where('id', '=', id).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${input.name}.`);
      throw e;
    }
    if (input.password) await this.storePassword(id, input.password, false);
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('assignment').where('actor_id', '=', id).execute();
      await tx.deleteFrom('credential').where('user_id', '=', id).execute();
      await tx.deleteFrom('application_credential').where('user_id', '=', id).execute();
      await tx.deleteFrom('access_rule').where('user_id', '=', id).execute();
      await tx.deleteFrom('user').where('id', '=', id).execute();
    });
  }

  private async storePassword(userId: string, password: string, selfService: boolean): Promise<void> {
    const hash = await this.hasher.hash(password);
    await this.db.insertInto('password').values({ id: newId(), user_id: userId, hash, created_at: nowIso(), expires_at: null, self_service: int(selfService) }).execute();
    // Keep only as much history as the checks need.
    const keep = Math.max(1, this.cfg.uniqueLastPasswordCount);
    const old = await this.db.selectFrom('password').select('id').where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id').offset(keep).limit(1000).execute();
    if (old.length) await this.db.deleteFrom('password').where('id', 'in', old.map((o) => o.id)).execute();
  }

  private async currentPassword(userId: string) {
    return this.db.selectFrom('password').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  }

  /**
   * Checks a password with Keystone's lockout rules: after N consecutive failures the account
   * is locked for the lockout duration, even for the right password. Throws 401.
   */
  async checkPassword(userId: string, password: string): Promise<User> {
    const row = await this.db.selectFrom('user').selectAll().where('id', '=', userId).executeTakeFirst();
    if (!row) throw unauthorized('The request you have made requires authentication.');
    const options = parseJson(row.options);
    const lockoutOn = this.cfg.lockoutFailureAttempts > 0 && !options.ignore_lockout_failure_attempts;
    const now = Date.now();
    if (lockoutOn && row.failed_auth_count >= this.cfg.lockoutFailureAttempts && row.failed_auth_at) {
      if (Date.parse(row.failed_auth_at) + this.cfg.lockoutDuration * 1000 > now) {
        throw unauthorized(`The account is locked for user: ${userId}.`);
      }
      await this.db.updateTable('user').set({ failed_auth_count: 0 }).where('id', '=', userId).execute();
      row.failed_auth_count = 0;
    }
    const pw = await this.currentPassword(userId);
    const ok = pw !== undefined && (await this.hasher.verify(password, pw.hash));
    if (!ok) {
      if (lockoutOn) {
        await this.db.updateTable('user').set({ failed_auth_count: row.failed_auth_count + 1, failed_auth_at: new Date(now).toISOString() }).where('id', '=', userId).execute();
      }
      throw unauthorized('The request you have made requires authentication.');
    }
    if (!bool(row.enabled)) throw unauthorized(`The account is disabled for user: ${userId}.`);
    if (row.failed_auth_count > 0) await this.db.updateTable('user').set({ failed_auth_count: 0 }).where('id', '=', userId).execute();
    return toUser(row);
  }

  /** POST /v3/users/{id}/password: checks the original, the history and the minimum age. */
  async changeOwnPassword(userId: string, original: string, password: string): Promise<void> {
    await this.checkPassword(userId, original);
    const history = await this.db.selectFrom('password').selectAll().where('user_id', '=', userId)
      .orderBy('created_at', 'desc').limit(Math.max(1, this.cfg.uniqueLastPasswordCount)).execute();
    if (this.cfg.minimumPasswordAge > 0 && history[0]?.self_service) {
      const age = Date.now() - Date.parse(history[0].created_at);
      if (age < this.cfg.minimumPasswordAge * 86400_000) {
        throw badRequest(`You cannot change your password at this time due to the minimum password age. Once you change your password, it must be used for ${this.cfg.minimumPasswordAge} day(s) before it can be changed.`);
      }
    }
    if (this.cfg.uniqueLastPasswordCount > 0) {
      for (const h of history) {
        if (await this.hasher.verify(password, h.hash)) {
          throw badRequest(`The new password cannot be identical to a previous password. The total number which includes the new password must be unique is ${this.cfg.uniqueLastPasswordCount}.`);
        }
      }
    }
    await this.storePassword(userId, password, true);
  }

  async groupIds(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('user_group_membership').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.group_id);
  }
}
