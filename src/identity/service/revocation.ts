import { sql } from 'kysely';
import { newId, nowIso } from '../../core/ids.js';
import type { Db } from './deps.js';
import type { TokenPayload } from '../tokens/payload.js';

export interface RevokeBy {
  userId?: string;
  projectId?: string;
  domainId?: string;
  trustId?: string;
  auditId?: string;
  auditChainId?: string;
}

/**
 * Revocation events (Keystone's model): a token is revoked when an event matches one of its
 * keys and the token was issued at or before the event. Lookups use indexed keys only and
 * expired events are pruned, so validation stays cheap however many events accumulate.
 */
export class Revocations {
  constructor(private readonly db: Db, private readonly maxTokenLifetimeMs: number) {}

  async revoke(by: RevokeBy, at = nowIso()): Promise<void> {
    await this.db.insertInto('revocation_event').values({
      id: newId(),
      user_id: by.userId ?? null,
      project_id: by.projectId ?? null,
      domain_id: by.domainId ?? null,
      trust_id: by.trustId ?? null,
      role_id: null,
      consumer_id: null,
      audit_id: by.auditId ?? null,
      audit_chain_id: by.auditChainId ?? null,
      issued_before: at,
      expires_at: new Date(Date.parse(at) + this.maxTokenLifetimeMs).toISOString(),
      revoked_at: at,
    }).execute();
  }

  async isRevoked(p: TokenPayload, scopeDomainId?: string, userDomainId?: string): Promise<boolean> {
    const issued = new Date(p.issuedAt).toISOString();
    const projectId = p.scope && 'project' in p.scope ? p.scope.project : null;
    const chain = p.auditIds[p.auditIds.length - 1];
    const row = await this.db.selectFrom('revocation_event').select('id')
      .where('issued_before', '>=', issued)
      .where((eb) => {
        const ors = [eb('audit_id', '=', p.auditIds[0]), eb('audit_chain_id', '=', chain), eb('user_id', '=', p.userId)];
        if (projectId) ors.push(eb('project_id', '=', projectId));
        if (scopeDomainId) ors.push(eb('domain_id', '=', scopeDomainId));
        if (userDomainId) ors.push(eb('domain_id', '=', userDomainId));
        if (p.trustId) ors.push(eb('trust_id', '=', p.trustId));
        return eb.or(ors);
      })
      .limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Forgets events no live token can match any more. */
  async prune(now = nowIso()): Promise<number> {
    const r = await this.db.deleteFrom('revocation_event').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async list(since?: string) {
    let q = this.db.selectFrom('revocation_event').selectAll();
    if (since) q = q.where('revoked_at', '>=', since);
    return q.orderBy(sql`revoked_at`).execute();
  }
}
