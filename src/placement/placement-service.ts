/**
 * The placement service: resource providers (nested trees), inventories, allocations with
 * consumer generations, usages, aggregates, resource classes, traits, and allocation
 * candidates for the scheduler. Microversions 1.0 – 1.39 (Zed).
 *
 * LIMITATIONS
 * - No POST /reshaper (1.30) and no `same_subtree` (1.36) yet.
 * - No Last-Modified / Cache-Control headers (1.15).
 * - As upstream, an inventory's capacity may be set below what is allocated (no warning is
 *   logged yet).
 */
import type { FastifyInstance } from 'fastify';
import { migrateToLatest, openServiceDatabase } from '../core/db/database.js';
import { placementErrorFormat } from '../core/errors.js';
import { negotiateMicroversion, formatVersion } from '../core/http/microversion.js';
import { registerRoutes } from '../core/http/routes.js';
import type { ServiceModule } from '../core/service-module.js';
import type { ServiceDeps } from '../all-in-one.js';
import { placementMigrations } from './db/migrations.js';
import type { PlacementDB } from './db/schema.js';
import { placementPolicyDefaults } from './api/policy-defaults.js';
import { MAX_VERSION, MIN_VERSION, placementRoutes, versions } from './api/routes.js';
import { PlacementService } from './service/placement.js';

export interface PlacementServiceModule extends ServiceModule {
  service: PlacementService;
}

export async function createPlacementService(deps: ServiceDeps): Promise<PlacementServiceModule> {
  const { config: cfg } = deps;
  const database = await openServiceDatabase<PlacementDB>('placement', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: deps.schemaPrefix });
  try {
    await migrateToLatest(database.db, placementMigrations, database.schema);
    const service = new PlacementService(database.db, database.kind);
    return {
      name: 'placement',
      errorFormat: placementErrorFormat,
      policyDefaults: placementPolicyDefaults,
      service,
      attach(app: FastifyInstance, routeDeps) {
        app.addHook('onRequest', async (req, reply) => {
          reply.header('vary', 'openstack-api-version');
          const v = negotiateMicroversion(req.headers, 'placement', { min: MIN_VERSION, max: MAX_VERSION });
          versions.set(req, v);
          reply.header('openstack-api-version', `placement ${formatVersion(v)}`);
        });
        registerRoutes(app, placementRoutes(service), routeDeps);
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
