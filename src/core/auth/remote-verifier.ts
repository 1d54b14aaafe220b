import { HttpError, unauthorized } from '../errors.js';
import type { AuthContext, TokenVerifier } from './context.js';
import { GenerationCache } from '../generation-cache.js';

export interface RemoteVerifierOptions {
  /** Identity's public endpoint, e.g. http://host:5000/v3. */
  authUrl: string;
  /** The service user this process authenticates as (needs admin or service role). */
  username: string;
  password: string;
  projectName: string;
  userDomainName?: string;
  projectDomainName?: string;
  /** How long a validated token is trusted without asking again (keystonemiddleware: 300 s). */
  cacheSeconds?: number;
}

interface TokenBody {
  token: {
    user: { id: string; name: string; domain: { id: string; name: string } };
    project?: { id: string; name: string; domain: { id: string; name: string } };
    domain?: { id: string; name: string };
    system?: { all: boolean };
    roles?: { id: string; name: string }[];
    methods: string[];
    audit_ids: string[];
    issued_at: string;
    expires_at: string;
    is_admin_project?: boolean;
    'OS-TRUST:trust'?: { id: string };
    application_credential?: { id: string };
  };
}

/**
 * Validates tokens by asking identity (GET /v3/auth/tokens with a service token), as
 * keystonemiddleware does, for services running in another process than identity.
 */
export class RemoteTokenVerifier implements TokenVerifier {
  private serviceToken?: { id: string; expiresAt: number };
  private readonly cache = new GenerationCache<AuthContext>(10000);

  constructor(private readonly opts: RemoteVerifierOptions) {}

  async verify(token: string): Promise<AuthContext> {
    const hit = this.cache.get(token, 0);
    if (hit) return hit;
    let r = await this.validate(token, await this.getServiceToken());
    if (r.status === 401) {
      this.serviceToken = undefined;
      r = await this.validate(token, await this.getServiceToken());
    }
    if (r.status === 404) throw unauthorized('The request you have made requires authentication.');
    if (r.status !== 200) throw new HttpError(503, `Identity answered ${r.status} while validating a token.`);
    const ctx = toContext(token, (await r.json()) as TokenBody);
    const ttl = (this.opts.cacheSeconds ?? 60) * 1000;
    if (ttl > 0) this.cache.set(token, 0, Math.min(Date.now() + ttl, Date.parse(ctx.expiresAt)), ctx);
    return ctx;
  }

  private validate(token: string, serviceToken: string) {
    return fetch(`${this.opts.authUrl}/auth/tokens?nocatalog`, {
      headers: { 'x-auth-token': serviceToken, 'x-subject-token': token },
      signal: AbortSignal.timeout(10_000),
    });
  }

  private async getServiceToken(): Promise<string> {
    if (this.serviceToken && this.serviceToken.expiresAt - 60_000 > Date.now()) return this.serviceToken.id;
    const o = this.opts;
    const r = await fetch(`${o.authUrl}/auth/tokens?nocatalog`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: {
        identity: { methods: ['password'], password: { user: { name: o.username, password: o.password, domain: { name: o.userDomainName ?? 'Default' } } } },
        scope: { project: { name: o.projectName, domain: { name: o.projectDomainName ?? 'Default' } } },
      } }),
      signal: AbortSignal.timeout(10_000),
    });
    if (r.status !== 201) throw new HttpError(503, `The service user could not authenticate with identity (${r.status}).`);
    const body = (await r.json()) as TokenBody;
    this.serviceToken = { id: r.headers.get('x-subject-token')!, expiresAt: Date.parse(body.token.expires_at) };
    return this.serviceToken.id;
  }
}

function toContext(token: string, { token: t }: TokenBody): AuthContext {
  return {
    token,
    userId: t.user.id,
    userName: t.user.name,
    userDomainId: t.user.domain.id,
    userDomainName: t.user.domain.name,
    projectId: t.project?.id,
    projectName: t.project?.name,
    projectDomainId: t.project?.domain.id,
    projectDomainName: t.project?.domain.name,
    domainId: t.domain?.id,
    domainName: t.domain?.name,
    system: t.system?.all ? 'all' : undefined,
    roles: t.roles ?? [],
    methods: t.methods,
    auditIds: t.audit_ids,
    issuedAt: t.issued_at,
    expiresAt: t.expires_at,
    trustId: t['OS-TRUST:trust']?.id,
    applicationCredentialId: t.application_credential?.id,
    isAdminProject: t.is_admin_project ?? false,
  };
}
