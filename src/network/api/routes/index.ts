import type { Route } from '../../../core/http/routes.js';
import type { NetworkContext } from '../../service/context.js';
import { networkBasePolicy } from '../policy-defaults.js';
import { discoveryRoutes } from './discovery.js';
import { ipAvailabilityPolicy, ipAvailabilityRoutes } from './ip-availability.js';
import { networksPolicy, networksRoutes } from './networks.js';
import { portsPolicy, portsRoutes } from './ports.js';
import { subnetpoolsPolicy, subnetpoolsRoutes } from './subnetpools.js';
import { subnetsPolicy, subnetsRoutes } from './subnets.js';

export const networkPolicyDefaults: Record<string, string> = {
  ...networkBasePolicy,
  ...networksPolicy,
  ...subnetsPolicy,
  ...subnetpoolsPolicy,
  ...portsPolicy,
  ...ipAvailabilityPolicy,
};

export function networkRoutes(c: NetworkContext): Route[] {
  return [
    ...discoveryRoutes(),
    ...networksRoutes(c),
    ...subnetsRoutes(c),
    ...subnetpoolsRoutes(c),
    ...portsRoutes(c),
    ...ipAvailabilityRoutes(c),
  ];
}
