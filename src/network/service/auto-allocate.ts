/**
 * Auto-allocated topology ("get me a network"): per project, a network and subnet(s) behind a
 * router with its gateway on the default external network, made on first request.
 */
import { createHash } from 'node:crypto';
import { isUniqueViolation } from '../../core/db/database.js';
import type { NetworkRow } from '../db/schema.js';
import type { Caller, NetworkContext } from './context.js';
import { neutronError } from './errors.js';
import { createNetwork, deleteNetwork } from './networks.js';
import { addRouterInterface, createRouter, deleteRouter, removeRouterInterface, routerSubnetIds } from './routers.js';
import { createSubnet } from './subnets.js';

const failure = (reason: string) => neutronError(409, 'AutoAllocationFailure', `Deployment error: ${reason}.`);

async function defaultExternal(c: NetworkContext): Promise<NetworkRow> {
  const nets = await c.db.selectFrom('network').selectAll().where('external', '=', 1).where('is_default', '=', 1).execute();
  if (nets.length === 0) throw failure('No default router:external network');
  if (nets.length > 1) throw failure('Multiple default router:external networks');
  return nets[0];
}

/** What creation needs: a default external network (409 otherwise, as Neutron's dry-run). */
export async function checkAutoAllocation(c: NetworkContext): Promise<void> {
  await defaultExternal(c);
}

export async function topologyOf(c: NetworkContext, projectId: string): Promise<string | null> {
  const t = await c.db.selectFrom('auto_allocated_topology').select('network_id').where('project_id', '=', projectId).executeTakeFirst();
  return t?.network_id ?? null;
}

/** Without a default subnet pool: a 10.x.y.0/24 picked from the project id (stable per project). */
const fallbackCidr = (projectId: string): string => {
  const h = createHash('sha256').update(projectId).digest();
  return `10.${h[0]}.${h[1]}.0/24`;
};

const inFlight = new Map<string, Promise<string>>();

/** The project's auto-allocated network id, creating the topology on first call. */
export async function autoAllocate(c: NetworkContext, projectId: string): Promise<string> {
  const have = await topologyOf(c, projectId);
  if (have) return have;
  // concurrent requests of one process share one creation; the table's key stops other processes
  let p = inFlight.get(projectId);
  if (!p) {
    p = build(c, projectId).finally(() => inFlight.delete(projectId));
    inFlight.set(projectId, p);
  }
  return p;
}

async function build(c: NetworkContext, projectId: string): Promise<string> {
  const ext = await defaultExternal(c);
  const admin: Caller = { projectId, userId: '', isAdmin: true };
  const net = await createNetwork(c, {
    projectId, name: 'auto_allocated_network', description: 'Auto allocated network', adminStateUp: true, shared: false, external: false,
    isDefault: false, portSecurityEnabled: true, availabilityZoneHints: [], dnsDomain: '',
  });
  let routerId: string | undefined;
  try {
    const pools = await c.db.selectFrom('subnet_pool').select('ip_version').where('is_default', '=', 1).execute();
    const versions = [...new Set(pools.map((x) => x.ip_version))].sort();
    const subnets: string[] = [];
    if (versions.length === 0) {
      subnets.push((await createSubnet(c, admin, { projectId, networkId: net.id, name: 'auto_allocated_subnet_v4', description: '', ipVersion: 4, cidr: fallbackCidr(projectId), enableDhcp: true })).id);
    }
    for (const v of versions) {
      subnets.push((await createSubnet(c, admin, {
        projectId, networkId: net.id, name: `auto_allocated_subnet_v${v}`, description: '', ipVersion: v, useDefaultSubnetpool: true, enableDhcp: true,
        ...(v === 6 ? { ipv6RaMode: 'slaac', ipv6AddressMode: 'slaac' } : {}),
      })).id);
    }
    const router = await createRouter(c, {
      projectId, name: 'auto_allocated_router', description: 'Auto allocated router', adminStateUp: true, gateway: { networkId: ext.id }, availabilityZoneHints: [],
    });
    routerId = router.id;
    for (const s of subnets) await addRouterInterface(c, admin, router.id, { subnetId: s });
    await c.db.insertInto('auto_allocated_topology').values({ project_id: projectId, network_id: net.id, router_id: router.id }).execute();
    return net.id;
  } catch (e) {
    await teardown(c, projectId, net.id, routerId).catch(() => undefined);
    if (isUniqueViolation(e)) {
      const winner = await topologyOf(c, projectId);
      if (winner) return winner;
    }
    throw e;
  }
}

async function teardown(c: NetworkContext, projectId: string, networkId: string, routerId: string | undefined | null): Promise<void> {
  const admin: Caller = { projectId, userId: '', isAdmin: true };
  if (routerId) {
    const exists = await c.db.selectFrom('router').select('id').where('id', '=', routerId).executeTakeFirst();
    if (exists) {
      for (const s of await routerSubnetIds(c.db, routerId)) await removeRouterInterface(c, admin, routerId, { subnetId: s });
      await deleteRouter(c, admin, routerId);
    }
  }
  const net = await c.db.selectFrom('network').select('id').where('id', '=', networkId).executeTakeFirst();
  if (net) await deleteNetwork(c, admin, networkId);
}

/** Removes the project's topology (router, network); nothing to do is not an error. */
export async function deleteAutoAllocated(c: NetworkContext, projectId: string): Promise<void> {
  const t = await c.db.selectFrom('auto_allocated_topology').selectAll().where('project_id', '=', projectId).executeTakeFirst();
  if (!t) return;
  await teardown(c, projectId, t.network_id, t.router_id);
  await c.db.deleteFrom('auto_allocated_topology').where('project_id', '=', projectId).execute();
}
