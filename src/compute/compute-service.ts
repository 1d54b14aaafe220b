/**
 * The compute service (Nova v2.1, microversions 2.1 – 2.93): the API, a conductor (scheduling
 * through placement) and this process's compute agents, over the bus. With the qemu driver the
 * agent runs real guests; with the fake driver (`compute.driver: fake`) it simulates
 * `compute.fakeHosts` hosts in this process.
 *
 * LIMITATIONS (this build)
 * - Without the network service in the process, networking is built in (QEMU user-mode, one
 *   interface per server) and security groups are names only ('default').
 * - Agents run in this process only: image and placement must be in the same process (no
 *   REST clients for them yet), so a host cannot run a compute agent alone.
 * - No swap disks, no multiattach volumes; shelve keeps the disk on its host; no soft delete
 *   (restore answers 409).
 */
import { join } from 'node:path';
import { localHostNames } from '../core/config.js';
import type { FastifyInstance } from 'fastify';
import { migrateToLatest, openServiceDatabase } from '../core/db/database.js';
import { novaErrorFormat } from '../core/errors.js';
import { formatVersion, negotiateMicroversion } from '../core/http/microversion.js';
import { registerRoutes } from '../core/http/routes.js';
import type { Subscription } from '../core/bus/bus.js';
import type { ServiceModule } from '../core/service-module.js';
import type { ServiceDeps } from '../all-in-one.js';
import { ComputeAgent } from './agent/compute-agent.js';
import { ImageCache } from './agent/image-cache.js';
import { MAX_VERSION, MIN_VERSION, versions } from './api/common.js';
import { computePolicyDefaults, computeRoutes } from './api/routes/index.js';
import { metadataSignerFor } from '../core/auth/metadata-signer.js';
import type { AddressInfo } from 'node:net';
import { computeMigrations } from './db/migrations.js';
import type { ComputeDB } from './db/schema.js';
import { createDriver, resolveDriver } from './drivers/registry.js';
import { builtinNetwork } from './network/builtin-network.js';
import { startConductor } from './service/conductor.js';
import type { ComputeContext } from './service/context.js';
import { seedDefaultFlavors } from './service/flavors.js';
import { ConsoleTokens } from './consoles/tokens.js';
import { attachVncProxy } from './consoles/vnc-proxy.js';

export interface ComputeServiceModule extends ServiceModule {
  context: ComputeContext;
  agents: ComputeAgent[];
}

export async function createComputeService(deps: ServiceDeps): Promise<ComputeServiceModule> {
  const { config: cfg, logger } = deps;
  const image = deps.clients.image;
  const placement = deps.clients.placement;
  if (!image || !placement) throw new Error('compute needs the image and placement services in the same process in this build (add them to services)');
  const database = await openServiceDatabase<ComputeDB>('compute', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: deps.schemaPrefix });
  const agents: ComputeAgent[] = [];
  let conductor: Subscription | undefined;
  try {
    await migrateToLatest(database.db, computeMigrations, database.schema);
    const c: ComputeContext = {
      db: database.db, kind: database.kind, config: cfg, logger: logger.child({ service: 'compute' }), bus: deps.bus,
      identity: deps.identity, image, placement, network: deps.clients.network ?? builtinNetwork(database.db, database.kind), consoles: new ConsoleTokens(),
      volume: deps.clients.volume,
    };
    const localHosts = new Set<string>();
    await seedDefaultFlavors(c);
    const signer = metadataSignerFor(cfg.dataDir);
    let listener: FastifyInstance | undefined;
    return {
      name: 'compute',
      errorFormat: novaErrorFormat,
      policyDefaults: computePolicyDefaults,
      context: c,
      agents,
      attach(app: FastifyInstance, routeDeps) {
        app.addHook('onRequest', async (req, reply) => {
          reply.header('vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
          const v = negotiateMicroversion(req.headers, 'compute', { min: MIN_VERSION, max: MAX_VERSION }, 'X-OpenStack-Nova-API-Version');
          versions.set(req, v);
          reply.header('openstack-api-version', `compute ${formatVersion(v)}`);
          reply.header('x-openstack-nova-api-version', formatVersion(v));
          // Nova answers with its request id under both names
          reply.header('x-compute-request-id', String(req.id));
        });
        registerRoutes(app, computeRoutes(c, signer), routeDeps);
        attachVncProxy(app.server, c, c.consoles, c.logger, localHosts);
        listener = app;
      },
      async start() {
        conductor = await startConductor(c, cfg.compute.host);
        const kind = resolveDriver(cfg.compute);
        if (kind === 'fake') logger.warn({ hosts: cfg.compute.fakeHosts }, 'compute uses the FAKE driver: servers are simulated, nothing runs');
        const count = kind === 'fake' ? cfg.compute.fakeHosts : cfg.compute.localHosts;
        const hosts = localHostNames(cfg.compute.host, count);
        // Guests' metadata requests come back to this listener (see api/routes/metadata.ts).
        const port = listener ? (listener.server.address() as AddressInfo).port : cfg.ports.compute;
        const apiHost = cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
        const metadataUrl = (uuid: string) => `http://${apiHost}:${port}/nubo-metadata/${signer.sign(uuid)}`;
        for (const host of hosts) {
          localHosts.add(host);
          const stateDir = join(cfg.dataDir, 'compute', host);
          const driver = await createDriver(kind, cfg.compute, { stateDir, cacheDir: join(cfg.dataDir, 'cache'), logger });
          const images = kind === 'fake' ? undefined : new ImageCache(join(cfg.dataDir, 'compute', '_base'), image);
          const agent = new ComputeAgent(c, host, driver, { stateDir, images, metadataUrl });
          await agent.start();
          agents.push(agent);
        }
      },
      async close() {
        for (const a of agents) {
          await a.stop();
          await a.driver.close();
        }
        await conductor?.close();
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
