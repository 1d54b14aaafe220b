/**
 * The network service (Neutron v2.0): networks, subnets, ports, routers, floating IPs,
 * security groups, quotas and RBAC, with a dataplane agent (Linux bridges, VXLAN, namespaces,
 * dnsmasq, nftables) that realises what the database says on this process's hosts.
 */
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { metadataSignerFor } from '../core/auth/metadata-signer.js';
import type { NuboConfig } from '../core/config.js';
import { migrateToLatest, openServiceDatabase } from '../core/db/database.js';
import { neutronErrorFormat } from '../core/errors.js';
import { registerRoutes } from '../core/http/routes.js';
import type { ServiceModule } from '../core/service-module.js';
import type { ServiceDeps } from '../all-in-one.js';
import type { NetworkApi } from '../compute/client.js';
import { NETWORK_AGENT_TOPIC, NetworkAgent } from './agent/network-agent.js';
import { MetadataProxy } from './agent/metadata-proxy.js';
import { networkPolicyDefaults, networkRoutes } from './api/routes/index.js';
import { networkApiFor } from './client.js';
import { networkMigrations } from './db/migrations.js';
import type { NetworkDB } from './db/schema.js';
import { createDataplaneDriver, dataplaneProblems } from './drivers/registry.js';
import { ensureSimulatedUnderlay } from './drivers/linux/underlay.js';
import { dataplaneLayout, localHosts, networkStateDir } from './dataplane-layout.js';
import { bootstrapNetworks } from './service/bootstrap.js';
import type { NetworkContext } from './service/context.js';

export interface NetworkServiceModule extends ServiceModule {
  context: NetworkContext;
  /** What compute calls (ports for servers). */
  computeApi: NetworkApi;
  /** The network node's agent (DHCP, routers); with separate hosts, one more agent per other host. */
  agent(): NetworkAgent | undefined;
  agents: NetworkAgent[];
}

/** 'auto' means the real dataplane when this machine can run it. */
function resolveDriver(cfg: NuboConfig, log: NetworkContext['logger']): 'linux' | 'fake' {
  if (cfg.network.driver !== 'auto') return cfg.network.driver;
  const problems = dataplaneProblems();
  if (problems.length === 0) return 'linux';
  log.warn({ problems }, 'network uses the FAKE dataplane (nothing is wired): the Linux dataplane cannot run here');
  return 'fake';
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
    const hosts = localHosts(cfg);
    const agents: NetworkAgent[] = [];
    let metadata: MetadataProxy | undefined;
    let computeUrl: string | undefined;
    const stateDir = networkStateDir(cfg);
    return {
      name: 'network',
      errorFormat: neutronErrorFormat,
      policyDefaults: networkPolicyDefaults,
      context: c,
      computeApi: networkApiFor(c, (host) => agents.find((a) => a.opts.hosts.includes(host))),
      agent: () => agents[0],
      agents,
      attach(app: FastifyInstance, routeDeps) {
        registerRoutes(app, networkRoutes(c), routeDeps);
      },
      async start(ctx) {
        if (cfg.network.bootstrap) await bootstrapNetworks(c, cfg, ctx.projects);
        const apiHost = cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
        if (cfg.services.includes('compute')) computeUrl = `http://${apiHost}:${ctx.ports.compute}`;
        mkdirSync(stateDir, { recursive: true });
        const kind = resolveDriver(cfg, log);
        const layout = dataplaneLayout(cfg, log, kind === 'linux');
        if (kind === 'linux') {
          metadata = new MetadataProxy(c.db, layout.hosts[0].driver.metadataSocket, metadataSignerFor(cfg.dataDir), () => computeUrl, log);
          await metadata.start();
        }
        if (kind === 'linux' && layout.underlay) await ensureSimulatedUnderlay(layout.underlay.namespace, layout.underlay.members);
        for (const h of layout.hosts) {
          const driver = await createDataplaneDriver(kind, h.driver);
          agents.push(new NetworkAgent(c, driver, { hosts: h.hosts, networkNode: h.networkNode, ...(h.tunnelIp ? { tunnelIp: h.tunnelIp } : {}) }));
        }
        // the network node first: the others' peers include it
        for (const a of agents) await a.start();
      },
      async close() {
        for (const a of agents) await a.stop();
        await metadata?.close();
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
