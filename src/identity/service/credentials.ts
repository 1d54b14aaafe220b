import { createHash, randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import type { CredentialRow } from '../db/schema.js';
import { parseJson, type Db } from './deps.js';

export interface Credential {
  id: string;
  userId: string;
  projectId: string | null;
  type: string;
  /** Opaque text; for ec2 a JSON object with at least `access` (and usually `secret`). */
  blob: string;
  extra: Record<string, unknown>;
}

export interface CredentialPatch {
  blob?: string;
  type?: string;
  projectId?: string | null;
  userId?: string;
  extra?: Record<string, unknown>;
}

/** What GET /v3/users/{id}/credentials/OS-EC2 shows of an ec2 credential. */
export interface Ec2View {
  user_id: string;
  tenant_id: string | null;
  access: string | null;
  secret: string | null;
  trust_id: string | null;
}

/** Keystone's credential id for an ec2 access key: sha256 of the key, in hex. */
export const hashAccessKey = (access: string) => createHash('sha256').update(access, 'utf8').digest('hex');

const isEc2 = (type: string | undefined) => (type ?? '').toLowerCase() === 'ec2';

/** Blob keys that bind an ec2 credential to a delegation; never changed by an update. */
const SCOPE_KEYS = ['trust_id', 'app_cred_id', 'access_token_id', 'access_id'];

const toCredential = (r: CredentialRow): Credential => ({
  id: r.id, userId: r.user_id, projectId: r.project_id, type: r.type, blob: r.blob, extra: parseJson(r.extra),
});

/** The JSON object inside an ec2 blob, with a non-null access key; 400 otherwise. */
export function ec2Blob(blob: string): Record<string, unknown> & { access: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(blob);
  } catch {
    throw badRequest('Invalid blob in credential');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw badRequest('Expecting to find blob in credential. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
  }
  const access = (parsed as Record<string, unknown>).access;
  if (access === undefined || access === null) {
    throw badRequest('Expecting to find access in credential. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
  }
  return { ...(parsed as Record<string, unknown>), access: String(access) };
}

export function ec2View(c: Credential): Ec2View {
  let blob: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(c.blob);
    if (parsed && typeof parsed === 'object') blob = parsed as Record<string, unknown>;
  } catch { /* a blob that is not JSON shows no keys */ }
  const str = (v: unknown) => (v === undefined || v === null ? null : String(v));
  return { user_id: c.userId, tenant_id: c.projectId, access: str(blob.access), secret: str(blob.secret), trust_id: str(blob.trust_id) };
}

/**
 * Credentials (/v3/credentials) and the EC2 view of the ec2 ones (OS-EC2). An ec2
 * credential's id is sha256(access) as in Keystone, and its access key is kept in its own
 * column so signatures (EC2, S3) find the secret with one indexed lookup.
 */
export class Credentials {
  constructor(private readonly db: Db) {}

  async find(id: string): Promise<Credential | undefined> {
    const r = await this.db.selectFrom('credential').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toCredential(r) : undefined;
  }

  async get(id: string): Promise<Credential> {
    const c = await this.find(id);
    if (!c) throw notFound(`Could not find credential: ${id}.`);
    return c;
  }

  async list(f: { userId?: string; type?: string } = {}): Promise<Credential[]> {
    let q = this.db.selectFrom('credential').selectAll();
    if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
    if (f.type !== undefined) q = q.where('type', '=', f.type);
    return (await q.orderBy('user_id').orderBy('id').execute()).map(toCredential);
  }

  async create(input: { userId: string; projectId?: string | null; type: string; blob: string; extra?: Record<string, unknown> }): Promise<Credential> {
    let id = newId();
    let accessKey: string | null = null;
    if (isEc2(input.type)) {
      if (!input.projectId) throw badRequest("Invalid input for field 'project_id': an ec2 credential requires a project_id.");
      accessKey = ec2Blob(input.blob).access;
      id = hashAccessKey(accessKey);
      await this.assertAccessFree(accessKey, id);
    }
    const row: CredentialRow = {
      id, user_id: input.userId, project_id: input.projectId ?? null, type: input.type, blob: input.blob,
      access_key: accessKey, extra: JSON.stringify(input.extra ?? {}),
    };
    try {
      await this.db.insertInto('credential').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Conflict occurred attempting to store credential - Duplicate ID, ${id}.`);
      throw e;
    }
    return toCredential(row);
  }

  /** 409 unless no other credential answers to this access key. */
  private async assertAccessFree(access: string, id: string, except?: string): Promise<void> {
    let q = this.db.selectFrom('credential').select('id').where((eb) => eb.or([eb('access_key', '=', access), eb('id', '=', id)]));
    if (except) q = q.where('id', '<>', except);
    if (await q.executeTakeFirst()) throw conflict('Conflict occurred attempting to store credential - Duplicate entry: the access key is already in use.');
  }

  /**
   * Updates blob, type, project and owner. For ec2 the delegation keys of the blob stay as
   * they were, the blob must keep an access key and a project is required; the id stays.
   */
  async update(id: string, patch: CredentialPatch): Promise<Credential> {
    const cur = await this.get(id);
    const next = {
      type: patch.type ?? cur.type,
      projectId: patch.projectId !== undefined ? patch.projectId : cur.projectId,
      userId: patch.userId ?? cur.userId,
      blob: patch.blob ?? cur.blob,
    };
    if (isEc2(cur.type) && patch.blob !== undefined) {
      const before = (() => { try { return JSON.parse(cur.blob) as Record<string, unknown>; } catch { return {}; } })();
      const after = ec2Blob(patch.blob);
      for (const k of SCOPE_KEYS) {
        if ((before[k] ?? null) !== (after[k] ?? null)) throw badRequest(`${k} can not be updated for credential`);
      }
    }
    let accessKey: string | null = null;
    if (isEc2(next.type)) {
      if (!next.projectId) {
        throw badRequest('Expecting to find project_id in credential. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
      }
      accessKey = ec2Blob(next.blob).access;
      await this.assertAccessFree(accessKey, hashAccessKey(accessKey), id);
    }
    const set: Partial<CredentialRow> = {
      type: next.type, project_id: next.projectId, user_id: next.userId, blob: next.blob, access_key: accessKey,
    };
    if (patch.extra && Object.keys(patch.extra).length) set.extra = JSON.stringify({ ...cur.extra, ...patch.extra });
    await this.db.updateTable('credential').set(set).where('id', '=', id).execute();
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    const r = await this.db.deleteFrom('credential').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Could not find credential: ${id}.`);
  }

  // --- EC2 (OS-EC2)

  /** A new ec2 key pair for a user on a project (Keystone: two uuid4 hex strings). */
  async createEc2(userId: string, projectId: string, trustId: string | null = null): Promise<Credential> {
    const access = randomUUID().replaceAll('-', '');
    const secret = randomUUID().replaceAll('-', '');
    return this.create({ userId, projectId, type: 'ec2', blob: JSON.stringify({ access, secret, trust_id: trustId }) });
  }

  /** The ec2 credential with this access key, if any. */
  async findEc2(access: string): Promise<Credential | undefined> {
    const r = await this.db.selectFrom('credential').selectAll()
      .where((eb) => eb.or([eb('access_key', '=', access), eb.and([eb('access_key', 'is', null), eb('id', '=', hashAccessKey(access))])]))
      .where('type', '=', 'ec2')
      .executeTakeFirst();
    return r ? toCredential(r) : undefined;
  }

  async listEc2(userId: string): Promise<Credential[]> {
    return this.list({ userId, type: 'ec2' });
  }
}
