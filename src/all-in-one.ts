import { homedir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { IMPLEMENTED_SERVICES, type NuboConfig, type ServiceName } from './core/config.js';
import type { Logger } from './core/logger.js';
import { keystoneErrorFormat } from './core/errors.js';
import { createServiceApp } from './core/http/app.js';
import { PolicyEnforcer } from './core/policy/enforcer.js';
import { createBus } from './core/bus/index.js';
import type { Bus } from './core/bus/bus.js';
import { readCloudsYaml, upsertClouds, type CloudEntry } from './core/clouds-yaml.js';
import { createIdentityService, type IdentityService } from './identity/identity-service.js';
import { bootstrapIdentity } from './identity/bootstrap.js';

export interface CloudOptions {
  /** Also merge the nubo entries into ~/.config/openstack/clouds.yaml (off in tests). */
  writeUserCloudsYaml?: boolean;
  /** PostgreSQL schema prefix (tests isolate runs with it). */
  schemaPrefix?: string;
  /** Cloud names in clouds.yaml. */
  cloudName?: string;
}

export interface RunningCloud {
  config: NuboConfig;
  endpoints: Partial<Record<ServiceName, string>>;
  admin: { username: string; password: string; project: string };
  demo: { username: string; password: string; project: string };
  identity: IdentityService;
  bus: Bus;
  apps: FastifyInstance[];
  cloudsYamlPath: string;
  stop(): Promise<void>;
}

/**
 * The composition root: opens each enabled service's database, wires services together
 * (in-process clients and token checks), and starts one HTTP listener per service.
 */
export async function startCloud(cfg: NuboConfig, logger: Logger, opts: CloudOptions = {}): Promise<RunningCloud> {
  const started = performance.now();
  for (const s of cfg.services) {
    if (!IMPLEMENTED_SERVICES.includes(s)) logger.warn({ service: s }, 'service not implemented yet; skipped');
  }
  const services = cfg.services.filter((s) => IMPLEMENTED_SERVICES.includes(s));
  const bus = await createBus(cfg.transport, { logger });
  const identity = await createIdentityService(cfg, logger, { schemaPrefix: opts.schemaPrefix });

  const policy = new PolicyEnforcer(identity.policyDefaults, cfg.identity.policyFile);
  const apps: FastifyInstance[] = [];
  const endpoints: Partial<Record<ServiceName, string>> = {};
  const ports = { ...cfg.ports };
  try {
    const app = createServiceApp({ service: 'identity', logger, bodyLimit: cfg.bodyLimit, errorFormat: keystoneErrorFormat });
    identity.attach(app, policy);
    await app.listen({ host: cfg.host, port: cfg.ports.identity });
    apps.push(app);
    // Port 0 (tests) means "any free port": the catalog gets the one really bound.
    ports.identity = (app.server.address() as AddressInfo).port;
    endpoints.identity = `http://${cfg.publicHost}:${ports.identity}/v3`;
  } catch (e) {
    await Promise.all(apps.map((a) => a.close()));
    await identity.close();
    await bus.close();
    throw e;
  }

  const cloudName = opts.cloudName ?? 'nubo';
  const cloudsYamlPath = join(cfg.dataDir, 'clouds.yaml');
  const stored = readCloudsYaml(cloudsYamlPath).clouds;
  const boot = await bootstrapIdentity(identity.services, { ...cfg, ports, services }, {
    adminPassword: stored[cloudName]?.auth.password,
    demoPassword: stored[`${cloudName}-demo`]?.auth.password,
  });

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
  logger.info({ ms: Math.round(performance.now() - started), services }, 'cloud started');

  let stopping: Promise<void> | undefined;
  return {
    config: { ...cfg, ports },
    endpoints,
    admin: { username: 'admin', password: boot.adminPassword, project: 'admin' },
    demo: { username: 'demo', password: boot.demoPassword, project: 'demo' },
    identity,
    bus,
    apps,
    cloudsYamlPath,
    stop() {
      stopping ??= (async () => {
        await Promise.all(apps.map((a) => a.close()));
        await bus.close();
        await identity.close();
      })();
      return stopping;
    },
  };
}
