import { randomBytes } from 'node:crypto';
import { badRequest, conflict, forbidden, notFound, unauthorized } from '../../core/errors.js';
import { newId, nowIso } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import type { AppCredRow } from '../db/schema.js';
import type { Assignments } from './assignments.js';
import { bool, int, type Db } from './deps.js';
import type { PasswordHasher } from './password-hasher.js';
import type { Roles } from './roles.js';
import type { AppCredInfo, AppCredProvider } from './tokens.js';

export interface AccessRule {
  id: string;
  service: string;
  path: string;
  method: string;
}

export interface AppCred {
  id: string;
  name: string;
  description: string | null;
  userId: string;
  projectId: string | null;
  system: string | null;
  /** Canonical UTC instant with microseconds, 'YYYY-MM-DDTHH:MM:SS.ffffffZ', or null. */
  expiresAt: string | null;
  unrestricted: boolean;
  roles: { id: string; name: string; domainId: string | null }[];
  accessRules: AccessRule[];
}

export interface AppCredCreate {
  userId: string;
  projectId: string;
  name: string;
  description?: string | null;
  secret?: string | null;
  expiresAt?: string | null;
  unrestricted?: boolean;
  /** Roles asked for, by id or by (global) name; none means all the roles of the token. */
  roles?: { id?: string; name?: string }[];
  accessRules?: { id?: string; service?: string; path?: string; method?: string }[];
  /** The roles of the token the request came with: the ceiling of what may be delegated. */
  tokenRoleIds: string[];
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Keystone's expires_at: ISO 8601, UTC when no offset is given, kept to the microsecond so a
 * client gets back exactly what it sent. Returns 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (sortable text).
 */
export function parseExpiry(value: string, now = Date.now()): string {
  const m = ISO.exec(value.trim());
  const bad = () => badRequest(`Timestamp not in expected format. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error. Invalid value '${value}' for 'expires_at'.`);
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
  const base = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(base);
  if (Number.isNaN(base) || check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw bad();
  let offsetMin = 0;
  const tz = m[8];
  if (tz && tz.toUpperCase() !== 'Z') {
    const digits = tz.slice(1).replace(':', '');
    offsetMin = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')) * (tz[0] === '-' ? -1 : 1);
  }
  const utc = base - offsetMin * 60_000;
  const frac = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  const canonical = `${new Date(utc).toISOString().slice(0, 19)}.${frac}Z`;
  if (Date.parse(canonical) <= now) {
    throw badRequest("The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
  }
  return canonical;
}

/** How Keystone renders a stored expiry: naive UTC with microseconds. */
export const renderExpiry = (v: string | null): string | null => (v === null ? null : v.replace(/Z$/, ''));

const isExpired = (expiresAt: string | null, now = Date.now()) => expiresAt !== null && Date.parse(expiresAt) <= now;

/** 64 random bytes, URL-safe base64 without padding (Keystone's generated secret). */
const generateSecret = () => randomBytes(64).toString('base64url');

/**
 * Application credentials: a user delegates (a subset of) their roles on one project to an
 * application, which authenticates with an id and a secret (stored hashed only). Access rules
 * belong to the user and are shared by every credential that names the same service, path
 * and method.
 */
export class ApplicationCredentials implements AppCredProvider {
  constructor(
    private readonly db: Db,
    private readonly hasher: PasswordHasher,
    private readonly roles: Roles,
    private readonly assignments: Assignments,
  ) {}

  // --- token provider

  async authenticate(ref: { id?: string; name?: string; userId?: string; secret: string }): Promise<AppCredInfo> {
    const fail = () => unauthorized('Invalid application credential ID or secret');
    let row: AppCredRow | undefined;
    if (ref.id) {
      // Always bound to the credential's owner, whatever user the caller named.
      row = await this.db.selectFrom('application_credential').selectAll().where('id', '=', ref.id).executeTakeFirst();
    } else if (ref.name) {
      if (!ref.userId) throw badRequest('Expecting to find user in application credential. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
      row = await this.db.selectFrom('application_credential').selectAll().where('user_id', '=', ref.userId).where('name', '=', ref.name).executeTakeFirst();
    } else {
      throw badRequest('Expecting to find id or name in application credential. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
    }
    if (!row || typeof ref.secret !== 'string') throw fail();
    if (!(await this.hasher.verify(ref.secret, row.secret_hash).catch(() => false))) throw fail();
    if (isExpired(row.expires_at)) throw fail();
    return this.info(await this.hydrate(row));
  }

  async find(id: string): Promise<AppCredInfo | undefined> {
    const row = await this.db.selectFrom('application_credential').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || isExpired(row.expires_at)) return undefined;
    return this.info(await this.hydrate(row));
  }

  private info(c: AppCred): AppCredInfo {
    return {
      id: c.id, name: c.name, userId: c.userId, projectId: c.projectId, roleIds: c.roles.map((r) => r.id),
      expiresAt: c.expiresAt, unrestricted: c.unrestricted,
      ...(c.accessRules.length ? { accessRules: c.accessRules } : {}),
    };
  }

  // --- CRUD

  async create(input: AppCredCreate): Promise<{ cred: AppCred; secret: string }> {
    const expiresAt = input.expiresAt ? parseExpiry(input.expiresAt) : null;
    const roleIds = await this.chooseRoles(input);
    const secret = input.secret ? input.secret : generateSecret();
    const hash = await this.hasher.hash(secret);
    const row: AppCredRow = {
      id: newId(),
      name: input.name,
      secret_hash: hash,
      description: input.description ?? null,
      user_id: input.userId,
      project_id: input.projectId,
      system: null,
      expires_at: expiresAt,
      unrestricted: int(input.unrestricted ?? false),
      created_at: nowIso(),
    };
    // One retry: a concurrent request may create the same access rule first.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.transaction().execute(async (tx) => {
          await tx.insertInto('application_credential').values(row).execute();
          for (const roleId of roleIds) {
            await tx.insertInto('application_credential_role').values({ application_credential_id: row.id, role_id: roleId }).execute();
          }
          const ruleIds = new Set<string>();
          for (const rule of input.accessRules ?? []) ruleIds.add(await this.accessRuleFor(tx, input.userId, rule));
          for (const ruleId of ruleIds) {
            await tx.insertInto('application_credential_access_rule').values({ application_credential_id: row.id, access_rule_id: ruleId }).execute();
          }
        });
        break;
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        const taken = await this.db.selectFrom('application_credential').select('id').where('user_id', '=', input.userId).where('name', '=', input.name).executeTakeFirst();
        if (taken || attempt > 0) {
          throw conflict(`Conflict occurred attempting to store application_credential - Duplicate entry found with name ${input.name}.`);
        }
      }
    }
    return { cred: await this.get(row.id), secret };
  }

  /** The requested roles, each held by the token and by the user on the project; else all of the token's. */
  private async chooseRoles(input: AppCredCreate): Promise<string[]> {
    let ids: string[];
    if (input.roles && input.roles.length > 0) {
      ids = [];
      for (const r of input.roles) {
        if (r.id) ids.push(r.id);
        else {
          const role = await this.roles.findByName(r.name ?? '');
          if (!role) throw notFound(`Could not find role: ${r.name}.`);
          ids.push(role.id);
        }
      }
      for (const id of ids) {
        if (!input.tokenRoleIds.includes(id)) {
          throw badRequest('Invalid application credential: Cannot create an application credential with unassigned role');
        }
      }
    } else {
      ids = [...input.tokenRoleIds];
    }
    ids = [...new Set(ids)];
    const held = await this.assignments.effectiveRoleIds(input.userId, { project: input.projectId });
    for (const id of ids) {
      if (!held.includes(id)) {
        throw badRequest(`Invalid application credential: Could not find role assignment with role: ${id}, user or group: ${input.userId}, project, domain, or system: ${input.projectId}.`);
      }
    }
    if (ids.length === 0) throw badRequest('Invalid application credential: the token has no roles to delegate.');
    return ids;
  }

  /** The id of the user's access rule for (service, path, method), created when new. */
  private async accessRuleFor(tx: Db, userId: string, rule: { id?: string; service?: string; path?: string; method?: string }): Promise<string> {
    if (rule.id) {
      const byId = await tx.selectFrom('access_rule').selectAll().where('id', '=', rule.id).executeTakeFirst();
      if (byId) {
        if (byId.user_id !== userId) throw badRequest(`Invalid application credential: access rule ${rule.id} belongs to another user.`);
        return byId.id;
      }
    }
    if (rule.service === undefined || rule.path === undefined || rule.method === undefined) {
      throw badRequest(rule.id
        ? `Invalid application credential: could not find access rule ${rule.id}.`
        : 'Invalid application credential: an access rule needs a service, a path and a method.');
    }
    const same = await tx.selectFrom('access_rule').select('id')
      .where('user_id', '=', userId).where('service', '=', rule.service).where('path', '=', rule.path).where('method', '=', rule.method)
      .executeTakeFirst();
    if (same) return same.id;
    const id = rule.id ?? newId();
    await tx.insertInto('access_rule').values({ id, user_id: userId, service: rule.service, path: rule.path, method: rule.method }).execute();
    return id;
  }

  async get(id: string): Promise<AppCred> {
    const row = await this.db.selectFrom('application_credential').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`Could not find Application Credential: ${id}.`);
    return this.hydrate(row);
  }

  async list(userId: string, f: { name?: string } = {}): Promise<AppCred[]> {
    let q = this.db.selectFrom('application_credential').selectAll().where('user_id', '=', userId);
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    const rows = await q.orderBy('name').orderBy('id').execute();
    return Promise.all(rows.map((r) => this.hydrate(r)));
  }

  /** Deletes a credential; its tokens die with it (validation finds it gone). */
  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('application_credential_role').where('application_credential_id', '=', id).execute();
      await tx.deleteFrom('application_credential_access_rule').where('application_credential_id', '=', id).execute();
      const r = await tx.deleteFrom('application_credential').where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw notFound(`Could not find Application Credential: ${id}.`);
    });
  }

  private async hydrate(row: AppCredRow): Promise<AppCred> {
    const roleRows = await this.db.selectFrom('application_credential_role').select('role_id').where('application_credential_id', '=', row.id).execute();
    const roles = await this.roles.byIds(roleRows.map((r) => r.role_id));
    const rules = await this.db.selectFrom('application_credential_access_rule')
      .innerJoin('access_rule', 'access_rule.id', 'application_credential_access_rule.access_rule_id')
      .select(['access_rule.id', 'access_rule.service', 'access_rule.path', 'access_rule.method'])
      .where('application_credential_access_rule.application_credential_id', '=', row.id)
      .orderBy('access_rule.id')
      .execute();
    return {
      id: row.id, name: row.name, description: row.description, userId: row.user_id, projectId: row.project_id,
      system: row.system, expiresAt: row.expires_at, unrestricted: bool(row.unrestricted),
      roles: roles.map((r) => ({ id: r.id, name: r.name, domainId: r.domainId })),
      accessRules: rules.map((r) => ({ id: r.id, service: r.service, path: r.path, method: r.method })),
    };
  }

  // --- access rules

  async listAccessRules(userId: string, f: { service?: string; path?: string; method?: string } = {}): Promise<AccessRule[]> {
    let q = this.db.selectFrom('access_rule').select(['id', 'service', 'path', 'method']).where('user_id', '=', userId);
    if (f.service !== undefined) q = q.where('service', '=', f.service);
    if (f.path !== undefined) q = q.where('path', '=', f.path);
    if (f.method !== undefined) q = q.where('method', '=', f.method);
    return q.orderBy('service').orderBy('path').orderBy('method').execute();
  }

  /** A user's access rule; another user's is as good as absent. */
  async getAccessRule(userId: string, id: string): Promise<AccessRule> {
    const r = await this.db.selectFrom('access_rule').select(['id', 'service', 'path', 'method'])
      .where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    if (!r) throw notFound(`Could not find Access Rule: ${id}.`);
    return r;
  }

  /** Deletes an access rule no credential uses any more (403 while one does). */
  async deleteAccessRule(userId: string, id: string): Promise<void> {
    await this.getAccessRule(userId, id);
    await this.db.transaction().execute(async (tx) => {
      const used = await tx.selectFrom('application_credential_access_rule').select('application_credential_id').where('access_rule_id', '=', id).limit(1).executeTakeFirst();
      if (used) throw forbidden('May not delete access rule in use');
      await tx.deleteFrom('access_rule').where('id', '=', id).execute();
    });
  }
}
