/** Availability zones and service providers. */
import type { Route } from '../../../core/http/routes.js';
import { listBody } from '../common.js';

export const miscPolicy: Record<string, string> = {
  get_availability_zone: '',
  get_service_provider: '',
};

/** One zone, 'nova', for both resources that have zones (every host is in it). */
const ZONES = [
  { name: 'nova', resource: 'network', state: 'available' },
  { name: 'nova', resource: 'router', state: 'available' },
];

export function miscRoutes(): Route[] {
  return [
    {
      method: 'GET', url: '/v2.0/availability_zones', policy: 'get_availability_zone',
      handler: (ctx) => listBody(ctx, 'availability_zones', ZONES.map((z) => ({ ...z }))),
    },
    {
      // no advanced services (LBaaS, VPNaaS) run here, so no providers to name
      method: 'GET', url: '/v2.0/service-providers', policy: 'get_service_provider',
      handler: (ctx) => listBody(ctx, 'service_providers', []),
    },
  ];
}
