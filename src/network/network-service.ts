/**
 * The network service (Neutron v2.0): networks, subnets, ports, routers, floating IPs,
 * security groups, quotas and RBAC, with a Linux dataplane agent per host (bridges, VXLAN,
 * namespaces, dnsmasq, nftables) that realises what the database says.
 */
import type { FastifyInstance } from 'fastify';
import { migrateToLatest, openServiceDatabase } from '../core/db/database.js';
import { neutronErrorFormat } from '../core/errors.js';
import { registerRoutes } from '../core/http/routes.js';
import type { ServiceModule } from '../core/service-module.js';
import type { ServiceDeps } from '../all-in-one.js';
import { networkPolicyDefaults, networkRoutes } from './api/routes/index.js';
import { networkMigrations } from './db/migrations.js';
import type { NetworkDB } from './db/schema.js';
import type { NetworkContext } from './service/context.js';

/** The bus topic the dataplane agents listen on; `changed` is fanned out to all of them. */
export const NETWORK_AGENT_TOPIC = 'network-agent';

export interface NetworkServiceModule extends ServiceModule {
  context: NetworkContext;
}

export async function createNetworkService(deps: ServiceDeps): Promise<NetworkServiceModule> {
  const { config: cfg, logger } = deps;
  const database = await openServiceDatabase<NetworkDB>('network', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: deps.schemaPrefix });
  try {
    await migrateToLatest(database.db, networkMigrations, database.schema);
    const log = logger.child({ service: 'network' });
    const c: NetworkContext = {
      db: database.db, kind: database.kind, config: cfg, logger: log, bus: deps.bus,
      notifyChanged(reason) {
        deps.bus.fanout(NETWORK_AGENT_TOPIC, 'changed', { reason }).catch((e: unknown) => log.warn({ err: e, reason }, 'could not tell the network agents about a change'));
      },
    };
    return {
      name: 'network',
      errorFormat: neutronErrorFormat,
      policyDefaults: networkPolicyDefaults,
      context: c,
      attach(app: FastifyInstance, routeDeps) {
        registerRoutes(app, networkRoutes(c), routeDeps);
      },
      async close() {
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
