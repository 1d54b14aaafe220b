import type { NuboConfig } from '../../core/config.js';
import { Assignments } from './assignments.js';
import { Authenticator } from './authenticate.js';
import { Catalog } from './catalog.js';
import type { IdentityDeps } from './deps.js';
import { Groups } from './groups.js';
import { Projects } from './projects.js';
import { Revocations } from './revocation.js';
import { Roles } from './roles.js';
import { Tokens } from './tokens.js';
import { Users } from './users.js';
import { ApplicationCredentials } from './application-credentials.js';
import { Credentials } from './credentials.js';
import { Limits } from './limits.js';
import type { Generation } from './token-cache.js';
import { Trusts } from './trusts.js';
import { OAuth1Consumers } from './oauth1.js';
import { Policies } from './policies.js';
import { DomainConfigs } from './domain-configs.js';
import { EndpointGroups } from './endpoint-groups.js';

/** Every piece of identity's domain logic, wired once. Routes receive this bag. */
export function createIdentityServices(deps: IdentityDeps, cloud: Pick<NuboConfig, 'publicHost' | 'ports'>, generation: Generation) {
  const { db, config, hasher, codec } = deps;
  const projects = new Projects(db);
  const users = new Users(db, hasher, config);
  const groups = new Groups(db);
  const roles = new Roles(db);
  const assignments = new Assignments(db, projects, roles);
  const catalog = new Catalog(db);
  // Events must outlive every token they could match: the longest token lifetime plus slack.
  const revocations = new Revocations(db, (config.tokenExpiration + 3600) * 1000);
  const tokens = new Tokens(codec, users, projects, roles, assignments, catalog, revocations, config.tokenExpiration, generation);
  const authenticator = new Authenticator(users, projects, assignments, tokens);
  const appCreds = new ApplicationCredentials(db, hasher, roles, assignments);
  tokens.appCreds = appCreds;
  const credentials = new Credentials(db);
  const limits = new Limits(db, catalog, projects);
  const trusts = new Trusts(db, users, projects, roles, assignments, revocations);
  tokens.trusts = trusts;
  const oauth1 = new OAuth1Consumers(db);
  const policies = new Policies(db);
  const domainConfigs = new DomainConfigs(db);
  const endpointGroups = new EndpointGroups(db, catalog, projects);
  return { deps, cloud, generation, projects, users, groups, roles, assignments, catalog, revocations, tokens, authenticator, appCreds, credentials, limits, trusts, oauth1, policies, domainConfigs, endpointGroups };
}

export type IdentityServices = ReturnType<typeof createIdentityServices>;
