import type { Route } from '../../../core/http/routes.js';
import type { NetworkContext } from '../../service/context.js';
import { networkBasePolicy } from '../policy-defaults.js';
import { agentsPolicy, agentsRoutes } from './agents.js';
import { discoveryRoutes } from './discovery.js';
import { ipAvailabilityPolicy, ipAvailabilityRoutes } from './ip-availability.js';
import { networksPolicy, networksRoutes } from './networks.js';
import { miscPolicy, miscRoutes } from './misc.js';
import { portsPolicy, portsRoutes } from './ports.js';
import { quotasPolicy, quotasRoutes } from './quotas.js';
import { rbacPolicy, rbacRoutes } from './rbac.js';
import { securityGroupsPolicy, securityGroupsRoutes } from './security-groups.js';
import { subnetpoolsPolicy, subnetpoolsRoutes } from './subnetpools.js';
import { subnetsPolicy, subnetsRoutes } from './subnets.js';
import { tagsRoutes } from './tags.js';
import { autoAllocatePolicy, autoAllocateRoutes } from './auto-allocate.js';
import { floatingIpsPolicy, floatingIpsRoutes } from './floating-ips.js';
import { routersPolicy, routersRoutes } from './routers.js';

export const networkPolicyDefaults: Record<string, string> = {
  ...networkBasePolicy,
  ...networksPolicy,
  ...subnetsPolicy,
  ...subnetpoolsPolicy,
  ...portsPolicy,
  ...ipAvailabilityPolicy,
  ...securityGroupsPolicy,
  ...quotasPolicy,
  ...rbacPolicy,
  ...agentsPolicy,
  ...miscPolicy,
  ...routersPolicy,
  ...floatingIpsPolicy,
  ...autoAllocatePolicy,
};

export function networkRoutes(c: NetworkContext): Route[] {
  return [
    ...discoveryRoutes(),
    ...networksRoutes(c),
    ...subnetsRoutes(c),
    ...subnetpoolsRoutes(c),
    ...portsRoutes(c),
    ...ipAvailabilityRoutes(c),
    ...securityGroupsRoutes(c),
    ...quotasRoutes(c),
    ...rbacRoutes(c),
    ...tagsRoutes(c),
    ...agentsRoutes(c),
    ...miscRoutes(),
    ...routersRoutes(c),
    ...floatingIpsRoutes(c),
    ...autoAllocateRoutes(c),
  ];
}
