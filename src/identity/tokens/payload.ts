import { randomBytes } from 'node:crypto';

/** What a token carries; everything else (roles, catalog, names) is looked up at validation. */
export interface TokenPayload {
  userId: string;
  methods: string[];
  scope: { project: string } | { domain: string } | { system: 'all' } | null;
  /** Milliseconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
  /** [this token's audit id, the audit id of the token it was rescoped from (its chain)]. */
  auditIds: string[];
  trustId?: string;
  appCredId?: string;
}

const METHODS = ['password', 'token', 'application_credential', 'totp', 'oauth1', 'mapped', 'external'];
const FORMAT = 1;

export const newAuditId = (): string => randomBytes(16).toString('base64url');

/** Compact JSON array: [format, user, methods bitmask, scope kind, scope id, issued, expires, audit ids, trust, app cred]. */
export function pack(p: TokenPayload): Buffer {
  const mask = p.methods.reduce((m, name) => m | (1 << METHODS.indexOf(name)), 0);
  const [kind, id] = p.scope === null ? [0, 0]
    : 'project' in p.scope ? [1, p.scope.project]
    : 'domain' in p.scope ? [2, p.scope.domain]
    : [3, 'all'];
  return Buffer.from(JSON.stringify([FORMAT, p.userId, mask, kind, id, p.issuedAt, p.expiresAt, p.auditIds, p.trustId ?? 0, p.appCredId ?? 0]));
}

export function unpack(buf: Buffer): TokenPayload | null {
  let a: unknown[];
  try {
    a = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(a) || a[0] !== FORMAT || a.length !== 10) return null;
  const [, userId, mask, kind, id, issuedAt, expiresAt, auditIds, trustId, appCredId] = a as [number, string, number, number, string, number, number, string[], string | 0, string | 0];
  const methods = METHODS.filter((_, i) => (mask & (1 << i)) !== 0);
  const scope = kind === 1 ? { project: id } : kind === 2 ? { domain: id } : kind === 3 ? { system: 'all' as const } : null;
  return {
    userId, methods, scope, issuedAt, expiresAt, auditIds,
    ...(trustId ? { trustId } : {}),
    ...(appCredId ? { appCredId } : {}),
  };
}
