import { homedir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { IMPLEMENTED_SERVICES, type NuboConfig, type ServiceName } from './core/config.js';
import type { Logger } from './core/logger.js';
import { createServiceApp } from './core/http/app.js';
import { PolicyEnforcer } from './core/policy/enforcer.js';
import { createBus } from './core/bus/index.js';
import type { Bus } from './core/bus/bus.js';
import type { ServiceModule } from './core/service-module.js';
import { readCloudsYaml, upsertClouds, type CloudEntry } from './core/clouds-yaml.js';
import { createIdentityService, type IdentityService } from './identity/identity-service.js';
import type { IdentityClient } from './identity/client.js';
import { bootstrapIdentity } from './identity/bootstrap.js';
import { createImageService, type ImageService } from './image/image-service.js';
import type { ImageClient } from './image/client.js';
import { inProcessPlacementClient, type PlacementClient } from './placement/client.js';
import { createComputeService } from './compute/compute-service.js';
import { createObjectService } from './object/object-service.js';
import { createNetworkService, type NetworkServiceModule } from './network/network-service.js';
import type { NetworkApi } from './compute/network/network-api.js';
import { createPlacementService, type PlacementServiceModule } from './placement/placement-service.js';
import { createVolumeService, type VolumeServiceModule } from './volume/volume-service.js';
import type { VolumeClient } from './volume/client.js';

export interface CloudOptions {
  /** Also merge the nubo entries into ~/.config/openstack/clouds.yaml (off in tests). */
  writeUserCloudsYaml?: boolean;
  /** PostgreSQL schema prefix (tests isolate runs with it). */
  schemaPrefix?: string;
  /** Cloud names in clouds.yaml. */
  cloudName?: string;
}

/** What every service factory gets from the composition root. */
export interface ServiceDeps {
  config: NuboConfig;
  logger: Logger;
  bus: Bus;
  identity: IdentityClient;
  /** In-process clients of the services created so far (compute uses image and placement). */
  clients: { image?: ImageClient; placement?: PlacementClient; network?: NetworkApi; volume?: VolumeClient };
  schemaPrefix?: string;
}

/** Factories of the services beyond identity, by name; each returns its module. */
const FACTORIES: Partial<Record<ServiceName, (deps: ServiceDeps) => Promise<ServiceModule>>> = {
  image: createImageService,
  object: createObjectService,
  placement: createPlacementService,
  compute: createComputeService,
  network: createNetworkService,
  volume: createVolumeService,
};
/** Creation order: a service comes after those whose clients it uses. */
const CREATION_ORDER: ServiceName[] = ['placement', 'image', 'object', 'network', 'volume', 'compute'];

export interface RunningCloud {
  config: NuboConfig;
  endpoints: Partial<Record<ServiceName, string>>;
  admin: { username: string; password: string; project: string };
  demo: { username: string; password: string; project: string };
  identity: IdentityService;
  modules: ServiceModule[];
  bus: Bus;
  apps: FastifyInstance[];
  cloudsYamlPath: string;
  stop(): Promise<void>;
}

/**
 * The composition root: opens each enabled service (its own database), wires them together
 * (in-process clients and token checks), and starts one HTTP listener per service.
 */
export async function startCloud(cfg: NuboConfig, logger: Logger, opts: CloudOptions = {}): Promise<RunningCloud> {
  const started = performance.now();
  for (const s of cfg.services) {
    if (!IMPLEMENTED_SERVICES.includes(s)) logger.warn({ service: s }, 'service not implemented yet; skipped');
  }
  const names = cfg.services.filter((s) => IMPLEMENTED_SERVICES.includes(s));
  if (!names.includes('identity')) throw new Error('this build runs identity in every cloud process; add it to services');
  const bus = await createBus(cfg.transport, { logger });
  const identity = await createIdentityService(cfg, logger, { schemaPrefix: opts.schemaPrefix });
  const modules: ServiceModule[] = [identity];
  const apps: FastifyInstance[] = [];
  const ports = { ...cfg.ports };
  const stopAll = async () => {
    await Promise.all(apps.map((a) => a.close()));
    for (const m of [...modules].reverse()) await m.close();
    await bus.close();
  };
  try {
    const deps: ServiceDeps = { config: cfg, logger, bus, identity: identity.client, clients: {}, schemaPrefix: opts.schemaPrefix };
    for (const name of CREATION_ORDER.filter((n) => names.includes(n))) {
      const m = await FACTORIES[name]!(deps);
      modules.push(m);
      if (name === 'image') deps.clients.image = (m as ImageService).client;
      if (name === 'network') deps.clients.network = (m as NetworkServiceModule).computeApi;
      if (name === 'volume') deps.clients.volume = (m as VolumeServiceModule).client;
      if (name === 'placement') deps.clients.placement = inProcessPlacementClient((m as PlacementServiceModule).service);
    }
    for (const m of modules) {
      const app = createServiceApp({ service: m.name, logger, bodyLimit: cfg.bodyLimit, errorFormat: m.errorFormat });
      m.attach(app, { verifier: identity.verifier, policy: new PolicyEnforcer(m.policyDefaults, cfg.identity.policyFile) });
      await app.listen({ host: cfg.host, port: cfg.ports[m.name] });
      apps.push(app);
      // Port 0 (tests) means "any free port": the catalog gets the one really bound.
      ports[m.name] = (app.server.address() as AddressInfo).port;
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  const endpoints: Partial<Record<ServiceName, string>> = {};
  for (const m of modules) endpoints[m.name] = `http://${cfg.publicHost}:${ports[m.name]}${m.name === 'identity' ? '/v3' : ''}`;

  const cloudName = opts.cloudName ?? 'nubo';
  const cloudsYamlPath = join(cfg.dataDir, 'clouds.yaml');
  const stored = readCloudsYaml(cloudsYamlPath).clouds;
  const boot = await bootstrapIdentity(identity.services, { ...cfg, ports, services: names }, {
    adminPassword: stored[cloudName]?.auth.password,
    demoPassword: stored[`${cloudName}-demo`]?.auth.password,
  });
  for (const m of modules) await m.start?.({ ports, projects: { admin: boot.adminProjectId, demo: boot.demoProjectId } });

  const entry = (username: string, password: string, project: string): CloudEntry => ({
    auth: { auth_url: endpoints.identity!, username, password, project_name: project, user_domain_name: 'Default', project_domain_name: 'Default' },
    region_name: cfg.identity.region,
    interface: 'public',
    identity_api_version: 3,
  });
  const clouds = {
    [cloudName]: entry('admin', boot.adminPassword, 'admin'),
    [`${cloudName}-demo`]: entry('demo', boot.demoPassword, 'demo'),
  };
  upsertClouds(cloudsYamlPath, clouds);
  if (opts.writeUserCloudsYaml) upsertClouds(join(homedir(), '.config', 'openstack', 'clouds.yaml'), clouds);
  logger.info({ ms: Math.round(performance.now() - started), services: names }, 'cloud started');

  let stopping: Promise<void> | undefined;
  return {
    config: { ...cfg, ports },
    endpoints,
    admin: { username: 'admin', password: boot.adminPassword, project: 'admin' },
    demo: { username: 'demo', password: boot.demoPassword, project: 'demo' },
    identity,
    modules,
    bus,
    apps,
    cloudsYamlPath,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
