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

/** Every piece of identity's domain logic, wired once. Routes receive this bag. */
export function createIdentityServices(deps: IdentityDeps, cloud: Pick<NuboConfig, 'publicHost' | 'ports'>) {
  const { db, config, hasher, codec } = deps;
  const projects = new Projects(db);
  const users = new Users(db, hasher, config);
  const groups = new Groups(db);
  const roles = new Roles(db);
  const assignments = new Assignments(db, projects, roles);
  const catalog = new Catalog(db);
  // Events must outlive every token they could match: the longest token lifetime plus slack.
  const revocations = new Revocations(db, (config.tokenExpiration + 3600) * 1000);
  const tokens = new Tokens(codec, users, projects, roles, assignments, catalog, revocations, config.tokenExpiration);
  const authenticator = new Authenticator(users, projects, assignments, tokens);
  return { deps, cloud, projects, users, groups, roles, assignments, catalog, revocations, tokens, authenticator };
}

export type IdentityServices = ReturnType<typeof createIdentityServices>;
