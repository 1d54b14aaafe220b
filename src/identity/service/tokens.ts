import { HttpError, notFound, unauthorized } from '../../core/errors.js';
import type { AuthContext } from '../../core/auth/context.js';
import type { TokenCodec } from '../tokens/token-codec.js';
import { newAuditId, type TokenPayload } from '../tokens/payload.js';
import type { Assignments } from './assignments.js';
import type { Catalog, CatalogEntry } from './catalog.js';
import type { Projects, Project } from './projects.js';
import type { Revocations } from './revocation.js';
import type { Roles } from './roles.js';
import type { User, Users } from './users.js';
import { GenerationCache } from '../../core/generation-cache.js';
import type { Generation } from './token-cache.js';

/** A validated token with everything the API shows and policy needs. */
export interface ResolvedToken {
  id: string;
  payload: TokenPayload;
  user: User;
  userDomain: Project;
  project?: Project;
  projectDomain?: Project;
  domain?: Project;
  system?: boolean;
  roles: { id: string; name: string; domain_id: string | null }[];
  trust?: TrustInfo;
  appCred?: AppCredInfo;
  isAdminProject: boolean;
}

/** What a trust contributes to a token (see trusts.ts). */
export interface TrustInfo {
  id: string;
  trustorUserId: string;
  trusteeUserId: string;
  impersonation: boolean;
  projectId: string | null;
  roleIds: string[];
  expiresAt: string | null;
  /** For a redelegated trust: the trustor of the first trust in the chain, whose roles count. */
  rootTrustorUserId?: string;
}

/** What an application credential contributes to a token (see application-credentials.ts). */
export interface AppCredInfo {
  id: string;
  name: string;
  userId: string;
  projectId: string | null;
  roleIds: string[];
  expiresAt: string | null;
  unrestricted: boolean;
  accessRules?: { id: string; service: string; path: string; method: string }[];
}

/** Trust lookups the token provider needs; implemented by the trusts module. */
export interface TrustProvider {
  /** The live trust (not deleted, not expired, uses left) or a 401/403/404. */
  getActive(trustId: string): Promise<TrustInfo>;
  /** Counts one use of a trust with limited uses. */
  consumeUse(trustId: string): Promise<void>;
}

/** Application credential lookups the token provider needs. */
export interface AppCredProvider {
  /** Checks id (or name + user) and secret; returns the credential or throws 401. */
  authenticate(ref: { id?: string; name?: string; userId?: string; secret: string }): Promise<AppCredInfo>;
  /** The credential if it still exists and has not expired, else undefined. */
  find(id: string): Promise<AppCredInfo | undefined>;
}

export interface IssueRequest {
  userId: string;
  methods: string[];
  scope: TokenPayload['scope'];
  /** Rescoping keeps the original expiry and audit chain. */
  expiresAt?: number;
  parentAuditIds?: string[];
  trustId?: string;
  appCredId?: string;
}

/** Issues and validates tokens; the roles and names are resolved at validation, never stored. */
export class Tokens {
  trusts?: TrustProvider;
  appCreds?: AppCredProvider;
  adminProjectId?: string;
  private readonly cache = new GenerationCache<ResolvedToken>();
  private catalogCache?: { gen: number; value: CatalogEntry[] };

  constructor(
    private readonly codec: TokenCodec,
    private readonly users: Users,
    private readonly projects: Projects,
    private readonly roles: Roles,
    private readonly assignments: Assignments,
    private readonly catalog: Catalog,
    private readonly revocations: Revocations,
    private readonly lifetimeSec: number,
    private readonly generation: Generation,
  ) {}

  async issue(req: IssueRequest): Promise<ResolvedToken> {
    const now = Date.now();
    const payload: TokenPayload = {
      userId: req.userId,
      methods: req.methods,
      scope: req.scope,
      issuedAt: now,
      expiresAt: Math.min(req.expiresAt ?? Infinity, now + this.lifetimeSec * 1000),
      auditIds: req.parentAuditIds ? [newAuditId(), req.parentAuditIds[req.parentAuditIds.length - 1]] : [newAuditId()],
      ...(req.trustId ? { trustId: req.trustId } : {}),
      ...(req.appCredId ? { appCredId: req.appCredId } : {}),
    };
    const id = this.codec.encode(payload);
    // Resolving now both checks the scope is allowed and renders the response.
    return this.resolve(id, payload, (msg) => unauthorized(msg));
  }

  /**
   * Validates a token. `fail` decides the error (401 for the caller's own token, 404 for a
   * subject token, as Keystone answers).
   */
  async validate(token: string, fail: (msg: string) => HttpError = (m) => notFound(m), opts: { allowExpired?: boolean } = {}): Promise<ResolvedToken> {
    // Read the generation before resolving: a write during resolution makes the entry stale.
    const gen = await this.generation.current();
    if (!opts.allowExpired) {
      const hit = this.cache.get(token, gen);
      if (hit) return hit;
    }
    const payload = this.codec.decode(token);
    if (!payload) throw fail('The token is invalid or malformed.');
    if (!opts.allowExpired && payload.expiresAt <= Date.now()) throw fail('The token has expired.');
    const r = await this.resolve(token, payload, fail);
    if (!opts.allowExpired) {
      // Cached no longer than the token, its trust or its application credential lives.
      const until = Math.min(
        payload.expiresAt,
        r.trust?.expiresAt ? Date.parse(r.trust.expiresAt) : Infinity,
        r.appCred?.expiresAt ? Date.parse(r.appCred.expiresAt) : Infinity,
      );
      this.cache.set(token, gen, until, r);
    }
    return r;
  }

  private async resolve(id: string, payload: TokenPayload, fail: (msg: string) => HttpError): Promise<ResolvedToken> {
    const user = await this.users.find(payload.userId);
    if (!user || !user.enabled) throw fail('Could not find the user of the token, or it is disabled.');
    const userDomain = await this.projects.get(user.domainId);
    if (!userDomain || !userDomain.enabled) throw fail('The user\'s domain is disabled.');
    let scopeDomainId: string | undefined;
    const r: ResolvedToken = { id, payload, user, userDomain, roles: [], isAdminProject: false };
    let roleIds: string[] = [];

    if (payload.trustId) {
      if (!this.trusts) throw fail('Trusts are not supported.');
      const trust = await this.trusts.getActive(payload.trustId).catch(() => { throw fail('The trust of this token is no longer valid.'); });
      r.trust = trust;
      const trustor = await this.users.find(trust.trustorUserId);
      if (!trustor || !trustor.enabled) throw fail('The trustor is disabled or gone.');
      if (trust.projectId) {
        const held = await this.assignments.effectiveRoleIds(trust.rootTrustorUserId ?? trust.trustorUserId, { project: trust.projectId });
        const trustRoles = await this.roles.expand(trust.roleIds);
        if (!trust.roleIds.every((rid) => held.includes(rid))) throw fail('The trustor no longer has the delegated roles.');
        roleIds = trustRoles.filter((rid) => held.includes(rid));
      }
    }

    if (payload.scope && 'project' in payload.scope) {
      const p = await this.projects.get(payload.scope.project);
      if (!p || p.isDomain || !p.enabled) throw fail(`Project ${payload.scope.project} is disabled or does not exist.`);
      const pd = await this.projects.get(p.domainId!);
      if (!pd || !pd.enabled) throw fail('The project\'s domain is disabled.');
      r.project = p;
      r.projectDomain = pd;
      scopeDomainId = pd.id;
      r.isAdminProject = p.id === this.adminProjectId;
      if (!payload.trustId) roleIds = await this.assignments.effectiveRoleIds(user.id, { project: p.id });
    } else if (payload.scope && 'domain' in payload.scope) {
      const d = await this.projects.get(payload.scope.domain);
      if (!d || !d.isDomain || !d.enabled) throw fail(`Domain ${payload.scope.domain} is disabled or does not exist.`);
      r.domain = d;
      scopeDomainId = d.id;
      roleIds = await this.assignments.effectiveRoleIds(user.id, { domain: d.id });
    } else if (payload.scope && 'system' in payload.scope) {
      r.system = true;
      roleIds = await this.assignments.effectiveRoleIds(user.id, { system: 'all' });
    }

    if (payload.appCredId) {
      if (!this.appCreds) throw fail('Application credentials are not supported.');
      const ac = await this.appCreds.find(payload.appCredId);
      if (!ac) throw fail('The application credential of this token is gone or expired.');
      const allowed = await this.roles.expand(ac.roleIds);
      roleIds = roleIds.filter((rid) => allowed.includes(rid));
      r.appCred = ac;
    }

    if (payload.scope && roleIds.length === 0) {
      throw fail(`User ${user.id} has no access to the requested scope.`);
    }
    if (await this.revocations.isRevoked(payload, scopeDomainId, user.domainId)) throw fail('The token has been revoked.');
    r.roles = (await this.roles.byIds(roleIds)).map((x) => ({ id: x.id, name: x.name, domain_id: x.domainId }));
    return r;
  }

  async catalogFor(t: ResolvedToken): Promise<CatalogEntry[]> {
    const gen = await this.generation.current();
    if (this.catalogCache?.gen !== gen) this.catalogCache = { gen, value: await this.catalog.build() };
    // Keystone fills $(project_id)s / $(tenant_id)s with the token's project and leaves out
    // endpoints it cannot fill (an unscoped or domain token).
    const projectId = t.project?.id;
    return this.catalogCache.value.map((svc) => ({
      ...svc,
      endpoints: svc.endpoints.flatMap((ep) => {
        if (!/\$\((project_id|tenant_id)\)s/.test(ep.url)) return [ep];
        return projectId ? [{ ...ep, url: ep.url.replaceAll('$(project_id)s', projectId).replaceAll('$(tenant_id)s', projectId) }] : [];
      }),
    }));
  }

  /** The auth context other services see for a validated token. */
  static toAuthContext(t: ResolvedToken): AuthContext {
    return {
      token: t.id,
      userId: t.user.id,
      userName: t.user.name,
      userDomainId: t.user.domainId,
      userDomainName: t.userDomain.name,
      projectId: t.project?.id,
      projectName: t.project?.name,
      projectDomainId: t.projectDomain?.id,
      projectDomainName: t.projectDomain?.name,
      domainId: t.domain?.id,
      domainName: t.domain?.name,
      system: t.system ? 'all' : undefined,
      roles: t.roles.map(({ id, name }) => ({ id, name })),
      methods: t.payload.methods,
      auditIds: t.payload.auditIds,
      issuedAt: new Date(t.payload.issuedAt).toISOString(),
      expiresAt: new Date(t.payload.expiresAt).toISOString(),
      trustId: t.trust?.id,
      applicationCredentialId: t.appCred?.id,
      isAdminProject: t.isAdminProject,
    };
  }
}
