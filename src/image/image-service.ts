/**
 * The image service (Glance v2, and v1 as Glance Queens served it, over the same images):
 * images and their data, interoperable import, sharing, tags, quotas through unified limits.
 *
 * LIMITATIONS
 * - One data store per process ('file' under <dataDir>/images; an object-store driver comes
 *   later); copy-image and multi-store imports need more than one store, so they are not offered.
 * - Image locations are not shown or settable in v2 (Glance's show_multiple_locations = False).
 *   A v1 location (x-image-meta-location) is recorded, never fetched: such an image is active
 *   with the size the client gave (else 0) and its data cannot be downloaded here (503).
 * - v1 copy-from fetches only from the web-download allow-list (else 403); v1 members have no
 *   can_share (always false).
 * - glance-download imports only from this cloud's own region.
 * - Staged data (glance-direct) lives on the host that received it: run one image API per
 *   data directory. Restart reconciliation only touches what this host left.
 * - No image cache API (2.14/2.16), no v2/tasks API beyond the tasks of an image; metadefs
 *   are stored and served, but Glance's shipped namespace catalogue is not preloaded (only its
 *   resource types are).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { migrateToLatest, openServiceDatabase } from '../core/db/database.js';
import { glanceErrorFormat, notFound } from '../core/errors.js';
import { registerRoutes } from '../core/http/routes.js';
import type { ServiceModule } from '../core/service-module.js';
import type { ServiceDeps } from '../all-in-one.js';
import { ImageRepo } from './db/images-repo.js';
import { MemberRepo } from './db/members-repo.js';
import { imageMigrations } from './db/migrations/index.js';
import type { ImageDB } from './db/schema.js';
import { TaskRepo } from './db/tasks-repo.js';
import { createImageStores } from './drivers/registry.js';
import { imagePolicyDefaults } from './api/policy-defaults.js';
import { registerBodyParsers } from './api/http.js';
import { imageApiRoutes } from './api/routes/index.js';
import { createImageServices, type ImageServices } from './service/index.js';
import { reconcile, type ReconcileReport } from './service/reconcile.js';
import { HashPool } from './service/hash-pool.js';
import { inProcessImageClient, type ImageClient } from './client.js';

export interface ImageService extends ServiceModule {
  services: ImageServices;
  /** What other services of this process use to reach the image service. */
  client: ImageClient;
  /** What start-up reconciliation found and repaired. */
  reconciled: ReconcileReport;
}

/** Opens the image database and stores, repairs what a crash left, and builds the API. */
export async function createImageService(deps: ServiceDeps): Promise<ImageService> {
  const { config: cfg, logger } = deps;
  const database = await openServiceDatabase<ImageDB>('image', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: deps.schemaPrefix });
  try {
    await migrateToLatest(database.db, imageMigrations, database.schema);
    const hostPrefix = `${hostname()}:${cfg.dataDir}:`;
    const services = createImageServices({
      db: database.db,
      kind: database.kind,
      images: new ImageRepo(database.db, database.kind),
      members: new MemberRepo(database.db),
      tasks: new TaskRepo(database.db),
      stores: createImageStores(cfg.image.store, cfg.dataDir),
      hashes: new HashPool(['md5', 'sha512']),
      config: cfg.image,
      identity: deps.identity,
      logger: logger.child({ service: 'image' }),
      region: cfg.identity.region,
      hostPrefix,
      worker: `${hostPrefix}${randomBytes(6).toString('hex')}`,
    });
    const reconciled = await reconcile(services.deps);
    return {
      name: 'image',
      errorFormat: glanceErrorFormat,
      policyDefaults: imagePolicyDefaults,
      services,
      client: inProcessImageClient(services),
      reconciled,
      attach(app: FastifyInstance, routeDeps) {
        registerBodyParsers(app, cfg.bodyLimit);
        // Glance's router does not fold trailing slashes: /v2/images/ is no image (404).
        app.addHook('onRequest', async (req) => {
          const path = req.url.split('?')[0];
          if (path.length > 1 && path.endsWith('/')) throw notFound('The resource could not be found.');
        });
        registerRoutes(app, imageApiRoutes(services), routeDeps);
      },
      async start() {
        await deps.identity.ensureRegisteredLimits('image', { ...cfg.image.defaultLimits });
      },
      async close() {
        await services.imports.drain();
        await services.deps.hashes.close();
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
