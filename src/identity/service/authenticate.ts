import { badRequest, forbidden, notFound, unauthorized } from '../../core/errors.js';
import type { Projects } from './projects.js';
import type { IssueRequest, Tokens } from './tokens.js';
import type { Users } from './users.js';
import type { Assignments } from './assignments.js';

type Ref = { id?: string; name?: string; domain?: { id?: string; name?: string } };

/** The body of POST /v3/auth/tokens (already schema-checked at the edge). */
export interface AuthBody {
  auth: {
    identity: {
      methods: string[];
      password?: { user: Ref & { password: string } };
      token?: { id: string };
      application_credential?: { id?: string; name?: string; secret: string; user?: Ref };
    };
    scope?: 'unscoped' | {
      project?: Ref;
      domain?: { id?: string; name?: string };
      system?: { all?: boolean };
      'OS-TRUST:trust'?: { id: string };
    };
  };
}

/**
 * Turns an authentication request into a token request: proves who the caller is with each
 * method, then resolves the scope the token is for (or the user's default project).
 */
export class Authenticator {
  constructor(
    private readonly users: Users,
    private readonly projects: Projects,
    private readonly assignments: Assignments,
    private readonly tokens: Tokens,
  ) {}

  async authenticate(body: AuthBody): Promise<IssueRequest> {
    const { identity, scope } = body.auth;
    const methods = [...new Set(identity.methods)];
    if (methods.length === 0) throw badRequest('At least one authentication method is required.');
    let userId: string | undefined;
    let req: Partial<IssueRequest> = {};

    for (const m of methods) {
      let who: string;
      if (m === 'password') {
        if (!identity.password) throw badRequest("Invalid input for field 'identity': 'password' is required for the password method.");
        who = await this.password(identity.password.user);
      } else if (m === 'token') {
        if (!identity.token?.id) throw badRequest("Invalid input for field 'identity': 'token.id' is required for the token method.");
        const t = await this.tokens.validate(identity.token.id, (msg) => notFound(msg));
        if (t.appCred) throw forbidden('Application credential tokens cannot be rescoped.');
        if (t.trust) throw forbidden('Trust tokens cannot be rescoped.');
        who = t.user.id;
        req = { ...req, expiresAt: t.payload.expiresAt, parentAuditIds: t.payload.auditIds };
        // A rescope keeps the methods that proved the original identity.
        req.methods = [...new Set([...(req.methods ?? []), ...t.payload.methods])];
      } else if (m === 'application_credential') {
        if (!identity.application_credential) throw badRequest("'application_credential' is required for that method.");
        if (!this.tokens.appCreds) throw unauthorized('Application credentials are not supported.');
        const ac = identity.application_credential;
        const userId2 = ac.user ? await this.userIdOf(ac.user) : undefined;
        const cred = await this.tokens.appCreds.authenticate({ id: ac.id, name: ac.name, userId: userId2, secret: ac.secret });
        who = cred.userId;
        if (scope && scope !== 'unscoped') throw unauthorized('Application credentials cannot request a scope.');
        req.appCredId = cred.id;
        req.scope = cred.projectId ? { project: cred.projectId } : { system: 'all' };
      } else {
        throw unauthorized(`Unsupported authentication method: ${m}.`);
      }
      if (userId && userId !== who) throw unauthorized('All authentication methods must identify the same user.');
      userId = who;
    }

    const issue: IssueRequest = { scope: null, ...req, userId: userId!, methods: [...new Set([...methods, ...(req.methods ?? [])])] };
    if (req.appCredId) return issue;

    if (scope && scope !== 'unscoped') {
      const keys = ['project', 'domain', 'system', 'OS-TRUST:trust'].filter((k) => (scope as Record<string, unknown>)[k] !== undefined);
      if (keys.length > 1) throw badRequest('Specify only one of project, domain, system or trust scope.');
      if (scope.project) issue.scope = { project: await this.projectIdOf(scope.project) };
      else if (scope.domain) issue.scope = { domain: await this.domainIdOf(scope.domain) };
      else if (scope.system) {
        if (scope.system.all !== true) throw badRequest('System scope must be {"all": true}.');
        issue.scope = { system: 'all' };
      } else if (scope['OS-TRUST:trust']) {
        return this.trustScope(issue, scope['OS-TRUST:trust'].id);
      }
    } else if (scope === undefined) {
      // Keystone scopes to the user's default project when it can, and silently does not otherwise.
      const u = await this.users.get(issue.userId);
      if (u.defaultProjectId) {
        const p = await this.projects.get(u.defaultProjectId);
        if (p && p.enabled && !p.isDomain && (await this.assignments.effectiveRoleIds(u.id, { project: p.id })).length > 0) {
          issue.scope = { project: p.id };
        }
      }
    }
    return issue;
  }

  private async trustScope(issue: IssueRequest, trustId: string): Promise<IssueRequest> {
    if (!this.tokens.trusts) throw unauthorized('Trusts are not supported.');
    const trust = await this.tokens.trusts.getActive(trustId).catch((e) => { throw e.status === 404 ? notFound(`Could not find trust: ${trustId}.`) : e; });
    if (trust.trusteeUserId !== issue.userId) throw forbidden('The user is not the trustee of this trust.');
    await this.tokens.trusts.consumeUse(trustId);
    return {
      ...issue,
      userId: trust.impersonation ? trust.trustorUserId : trust.trusteeUserId,
      scope: trust.projectId ? { project: trust.projectId } : null,
      trustId,
      expiresAt: trust.expiresAt ? Math.min(issue.expiresAt ?? Infinity, Date.parse(trust.expiresAt)) : issue.expiresAt,
    };
  }

  private async password(ref: Ref & { password: string }): Promise<string> {
    if (typeof ref.password !== 'string') throw badRequest("Invalid input for field 'password'.");
    const id = await this.userIdOf(ref, true);
    await this.users.checkPassword(id, ref.password);
    return id;
  }

  /** A user reference by id, or by name and domain (id or name). Unknown users are 401, not 404. */
  async userIdOf(ref: Ref, forAuth = true): Promise<string> {
    const fail = (m: string) => (forAuth ? unauthorized('The request you have made requires authentication.') : notFound(m));
    if (ref.id) {
      const u = await this.users.find(ref.id);
      if (!u) throw fail(`Could not find user: ${ref.id}.`);
      return u.id;
    }
    if (!ref.name) throw badRequest('A user needs an id, or a name and a domain.');
    if (!ref.domain) throw badRequest(`Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect.`);
    const domainId = await this.domainIdOf(ref.domain, true);
    const u = await this.users.findByName(ref.name, domainId);
    if (!u) throw fail(`Could not find user: ${ref.name}.`);
    return u.id;
  }

  private async projectIdOf(ref: Ref): Promise<string> {
    if (ref.id) {
      const p = await this.projects.get(ref.id);
      if (!p || p.isDomain) throw unauthorized(`Could not find project: ${ref.id}.`);
      return p.id;
    }
    if (!ref.name || !ref.domain) throw badRequest('A project needs an id, or a name and a domain.');
    const domainId = await this.domainIdOf(ref.domain, true);
    const p = await this.projects.findByName(ref.name, domainId);
    if (!p) throw unauthorized(`Could not find project: ${ref.name}.`);
    return p.id;
  }

  private async domainIdOf(ref: { id?: string; name?: string }, forAuth = true): Promise<string> {
    const fail = (m: string) => (forAuth ? unauthorized(m) : notFound(m));
    if (ref.id) {
      const d = await this.projects.get(ref.id);
      if (!d || !d.isDomain) throw fail(`Could not find domain: ${ref.id}.`);
      if (!d.enabled) throw unauthorized(`Domain ${ref.id} is disabled.`);
      return d.id;
    }
    if (!ref.name) throw badRequest('A domain needs an id or a name.');
    const d = await this.projects.findDomainByName(ref.name);
    if (!d) throw fail(`Could not find domain: ${ref.name}.`);
    if (!d.enabled) throw unauthorized(`Domain ${ref.name} is disabled.`);
    return d.id;
  }
}
