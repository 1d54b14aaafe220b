/**
 * First start: the external network `public` (flat, on the host's test range, the host
 * itself as its gateway), and for the demo project a `private` network and a `router1`
 * joining it to `public` (so the demo's servers reach the host and get floating IPs).
 * Idempotent by name.
 */
import type { NuboConfig } from '../../core/config.js';
import type { NetworkRow } from '../db/schema.js';
import type { Caller, NetworkContext } from './context.js';
import { createNetwork } from './networks.js';
import { createSubnet } from './subnets.js';
import { addRouterInterface, createRouter } from './routers.js';
import { parseCidr, formatIp, lastOf } from './ip-math.js';

export interface BootstrapResult { publicNetwork: NetworkRow; privateNetwork: NetworkRow; privateSubnetId: string; publicSubnetId: string }

export async function bootstrapNetworks(c: NetworkContext, cfg: NuboConfig, projects: { admin: string; demo: string }): Promise<BootstrapResult> {
  const admin: Caller = { projectId: projects.admin, userId: '', isAdmin: true };
  const byName = (name: string, projectId: string) =>
    c.db.selectFrom('network').selectAll().where('name', '=', name).where('project_id', '=', projectId).executeTakeFirst();
  const firstSubnet = async (networkId: string) =>
    (await c.db.selectFrom('subnet').select('id').where('network_id', '=', networkId).orderBy('created_at').executeTakeFirst())?.id;

  let pub = await byName('public', projects.admin);
  if (!pub) {
    pub = await createNetwork(c, {
      projectId: projects.admin, name: 'public', description: 'External network of this host', adminStateUp: true, shared: false, external: true,
      isDefault: true, portSecurityEnabled: true, providerNetworkType: 'flat', providerPhysicalNetwork: 'public', availabilityZoneHints: [], dnsDomain: '',
    });
  }
  let pubSubnet = await firstSubnet(pub.id);
  if (!pubSubnet) {
    const cidr = parseCidr(cfg.network.externalCidr);
    if (!cidr || cidr.version !== 4) throw new Error(`network.externalCidr must be an IPv4 CIDR (got ${cfg.network.externalCidr})`);
    // addresses below .10 stay free for the host and its helpers
    const start = formatIp(cidr.network + 10n, 4);
    const end = formatIp(lastOf(cidr) - 1n, 4);
    pubSubnet = (await createSubnet(c, admin, {
      projectId: projects.admin, networkId: pub.id, name: 'public-subnet', description: '', ipVersion: 4, cidr: cfg.network.externalCidr,
      gatewayIp: cfg.network.externalHostAddress, allocationPools: [{ start, end }], enableDhcp: false,
    })).id;
  }
  let priv = await byName('private', projects.demo);
  if (!priv) {
    priv = await createNetwork(c, {
      projectId: projects.demo, name: 'private', description: '', adminStateUp: true, shared: false, external: false,
      isDefault: false, portSecurityEnabled: true, availabilityZoneHints: [], dnsDomain: '',
    });
  }
  let privSubnet = await firstSubnet(priv.id);
  if (!privSubnet) {
    privSubnet = (await createSubnet(c, admin, {
      projectId: projects.demo, networkId: priv.id, name: 'private-subnet', description: '', ipVersion: 4, cidr: cfg.network.privateCidr,
      enableDhcp: true, dnsNameservers: [],
    })).id;
  }
  const router = await c.db.selectFrom('router').select('id').where('name', '=', 'router1').where('project_id', '=', projects.demo).executeTakeFirst();
  if (!router) {
    const r = await createRouter(c, {
      projectId: projects.demo, name: 'router1', description: '', adminStateUp: true, gateway: { networkId: pub.id }, availabilityZoneHints: [],
    });
    await addRouterInterface(c, admin, r.id, { subnetId: privSubnet });
  }
  return { publicNetwork: pub, privateNetwork: priv, publicSubnetId: pubSubnet, privateSubnetId: privSubnet };
}
