import type { Route } from '../../../core/http/routes.js';
import type { NetworkContext } from '../../service/context.js';
import { networkBasePolicy } from '../policy-defaults.js';
import { discoveryRoutes } from './discovery.js';
import { networksPolicy, networksRoutes } from './networks.js';

export const networkPolicyDefaults: Record<string, string> = {
  ...networkBasePolicy,
  ...networksPolicy,
};

export function networkRoutes(c: NetworkContext): Route[] {
  return [
    ...discoveryRoutes(),
    ...networksRoutes(c),
  ];
}
