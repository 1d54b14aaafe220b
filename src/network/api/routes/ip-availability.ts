/** /v2.0/network-ip-availabilities (admin only, as in Neutron's default policy). */
import type { Route } from '../../../core/http/routes.js';
import type { NetworkContext } from '../../service/context.js';
import { neutronError } from '../../service/errors.js';
import { ipAvailability } from '../../service/ip-availability.js';
import { fieldsOf, listBody, pickFields } from '../common.js';

export const ipAvailabilityPolicy: Record<string, string> = {
  get_network_ip_availability: 'rule:admin_only',
};

export function ipAvailabilityRoutes(c: NetworkContext): Route[] {
  return [
    {
      method: 'GET', url: '/v2.0/network-ip-availabilities', policy: 'get_network_ip_availability',
      handler: async (ctx) => {
        const nets = await c.db.selectFrom('network').selectAll().execute();
        // ip_version filters subnets, not networks
        const version = ctx.query.ip_version;
        const views = (await ipAvailability(c, nets)).map((a) => {
          if (version === undefined) return a;
          const subs = a.subnet_ip_availability.filter((s) => String(s.ip_version) === String(version));
          return { ...a, subnet_ip_availability: subs };
        }).filter((a) => version === undefined || a.subnet_ip_availability.length > 0);
        return listBody(ctx, 'network_ip_availabilities', views as unknown as Record<string, unknown>[], { ignore: ['ip_version'] });
      },
    },
    {
      method: 'GET', url: '/v2.0/network-ip-availabilities/:id', policy: 'get_network_ip_availability',
      handler: async (ctx) => {
        const n = await c.db.selectFrom('network').selectAll().where('id', '=', ctx.params.id).executeTakeFirst();
        if (!n) throw neutronError(404, 'NetworkNotFound', `Network ${ctx.params.id} could not be found.`);
        const [a] = await ipAvailability(c, [n]);
        return { network_ip_availability: pickFields(a as unknown as Record<string, unknown>, fieldsOf(ctx)) };
      },
    },
  ];
}
