/**
 * The network service (Neutron v2.0): networks, subnets, ports, routers, floating IPs,
 * security groups, quotas and RBAC, with a dataplane agent (Linux bridges, VXLAN, namespaces,
 * dnsmasq, nftables) that realises what the database says on this process's hosts.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { metadataSignerFor } from '../core/auth/metadata-signer.js';
import { localHostNames, type NuboConfig } from '../core/config.js';
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
import { ensureSimulatedUnderlay, UNDERLAY_DEVICE } from './drivers/linux/underlay.js';
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

/** The compute hosts this process runs (compute names them host, host-2, ...): the agent serves them all. */
function localHosts(cfg: NuboConfig): string[] {
  return localHostNames(cfg.compute.host, Math.max(cfg.compute.fakeHosts, cfg.compute.localHosts));
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
    const stateDir = join(cfg.dataDir, 'network');
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
        const metadataSocket = join(stateDir, 'metadata.sock');
        if (kind === 'linux') {
          metadata = new MetadataProxy(c.db, metadataSocket, metadataSignerFor(cfg.dataDir), () => computeUrl, log);
          await metadata.start();
        }
        const p = cfg.network.namespacePrefix;
        const common = { stateDir: join(stateDir, 'dataplane'), metadataSocket, logger: log };
        const external = { cidr: cfg.network.externalCidr, hostAddress: cfg.network.externalHostAddress };
        if (cfg.network.separateHosts && hosts.length > 1 && kind === 'linux') {
          // one namespace and agent per host, VXLAN between them over a simulated underlay
          const layout = hosts.map((host, i) => ({ host, ns: `${p}a${i + 1}-host`, prefix: `${p}a${i + 1}-`, ip: `192.168.254.${i + 1}` }));
          await ensureSimulatedUnderlay(`${p}underlay`, layout.map((h) => ({ ns: h.ns, ip: h.ip, prefixlen: 24 })));
          for (const [i, h] of layout.entries()) {
            const driver = await createDataplaneDriver(kind, {
              ...common, prefix: h.prefix, hostNamespace: h.ns, underlay: { localIp: h.ip, device: UNDERLAY_DEVICE }, ...(i === 0 ? { external } : {}),
            });
            agents.push(new NetworkAgent(c, driver, { hosts: [h.host], networkNode: i === 0, tunnelIp: h.ip }));
          }
        } else {
          const driver = await createDataplaneDriver(kind, { ...common, prefix: p, hostNamespace: `${p}host`, external });
          agents.push(new NetworkAgent(c, driver, { hosts, networkNode: true }));
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
