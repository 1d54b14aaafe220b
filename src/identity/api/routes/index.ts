import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';
import { applicationCredentialRoutes } from './application-credentials.js';
import { authRoutes } from './auth.js';
import { catalogRoutes } from './catalog.js';
import { credentialRoutes } from './credentials.js';
import { discoveryRoutes } from './discovery.js';
import { domainConfigRoutes } from './domain-configs.js';
import { endpointGroupRoutes } from './endpoint-groups.js';
import { limitRoutes } from './limits.js';
import { oauth1Routes } from './oauth1.js';
import { policyRoutes } from './policies.js';
import { projectRoutes } from './projects.js';
import { roleAssignmentRoutes } from './role-assignments.js';
import { roleRoutes } from './roles.js';
import { trustRoutes } from './trusts.js';
import { userRoutes } from './users.js';

/** Identity's whole route table, area by area. */
export function identityRoutes(s: IdentityServices): Route[] {
  return [
    ...discoveryRoutes(),
    ...authRoutes(s),
    ...projectRoutes(s),
    ...userRoutes(s),
    ...roleRoutes(s),
    ...roleAssignmentRoutes(s),
    ...catalogRoutes(s),
    ...credentialRoutes(s),
    ...trustRoutes(s),
    ...applicationCredentialRoutes(s),
    ...oauth1Routes(s),
    ...policyRoutes(s),
    ...domainConfigRoutes(s),
    ...limitRoutes(s),
    ...endpointGroupRoutes(s),
  ];
}
