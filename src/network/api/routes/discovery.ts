/** Version discovery (`/`, `/v2.0`) and the extension list. */
import type { Route } from '../../../core/http/routes.js';
import { neutronError } from '../../service/errors.js';
import { baseUrl } from '../common.js';
import { EXTENSIONS, extensionView } from '../extensions.js';

/** Collections listed by GET /v2.0 (the core resources plus the L3 and security-group ones). */
const RESOURCES: [string, string][] = [
  ['network', 'networks'], ['subnet', 'subnets'], ['port', 'ports'], ['subnetpool', 'subnetpools'],
  ['router', 'routers'], ['floatingip', 'floatingips'], ['security_group', 'security_groups'], ['security_group_rule', 'security_group_rules'],
];

export function discoveryRoutes(): Route[] {
  return [
    {
      method: 'GET', url: '/', policy: 'public',
      handler: (ctx) => ({ versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${baseUrl(ctx)}/v2.0/`, rel: 'self' }] }] }),
    },
    {
      method: 'GET', url: '/v2.0', policy: 'authenticated',
      handler: (ctx) => ({
        resources: RESOURCES.map(([name, collection]) => ({ name, collection, links: [{ href: `${baseUrl(ctx)}/v2.0/${collection}`, rel: 'self' }] })),
      }),
    },
    { method: 'GET', url: '/v2.0/extensions', policy: 'authenticated', handler: () => ({ extensions: EXTENSIONS.map(extensionView) }) },
    {
      method: 'GET', url: '/v2.0/extensions/:alias', policy: 'authenticated',
      handler: (ctx) => {
        const e = EXTENSIONS.find((x) => x.alias === ctx.params.alias);
        if (!e) throw neutronError(404, 'HTTPNotFound', `Extension with alias ${ctx.params.alias} does not exist`);
        return { extension: extensionView(e) };
      },
    },
  ];
}
