/**
 * The volume service (Cinder v3, microversions 3.0 – 3.70): volumes (from nothing, an image,
 * another volume or a snapshot), their metadata and actions (extend, reset-status, bootable,
 * readonly, and the attach actions Nova used before 3.27), snapshots, volume types, quotas
 * and limits. Compute attaches volumes through client.ts (reserve → host attaches → complete).
 *
 * LIMITATIONS (this build)
 * - One back end per process: 'file' (raw sparse files under <dataDir>/volumes) or 'fake'
 *   (records sizes, stores nothing; said at start). No scheduler, pools or multiple back ends.
 * - QoS specs are recorded and associated with types, not enforced. Retype relabels (one back end).
 * - No backups, groups, encrypted volumes (encryption specs are kept, but without a key manager
 *   volumes of an encrypted type are refused), migration, manage/unmanage, nor the 3.27
 *   /attachments API (attach with the os-* actions; compute uses the in-process client).
 * - An in-use volume extended (3.42) reaches the guest at its next start.
 */
import type { FastifyInstance } from 'fastify';
import { hostname } from 'node:os';
import { migrateToLatest, openServiceDatabase } from '../core/db/database.js';
import { notFound, novaErrorFormat } from '../core/errors.js';
import { formatVersion, negotiateMicroversion } from '../core/http/microversion.js';
import { registerRoutes } from '../core/http/routes.js';
import type { ServiceModule } from '../core/service-module.js';
import type { ServiceDeps } from '../all-in-one.js';
import { MAX_VERSION, MIN_VERSION, versions } from './api/common.js';
import { volumeBasePolicy } from './api/policy-defaults.js';
import { miscPolicy, miscRoutes, versionRoutes } from './api/routes/misc.js';
import { adminPolicy, adminRoutes } from './api/routes/admin.js';
import { qosPolicy, qosRoutes } from './api/routes/qos.js';
import { encryptionPolicy, encryptionRoutes } from './api/routes/encryption.js';
import { transfersPolicy, transfersRoutes } from './api/routes/transfers.js';
import { volumesPolicy, volumesRoutes } from './api/routes/volumes.js';
import { volumeMigrations } from './db/migrations.js';
import type { VolumeDB } from './db/schema.js';
import { createVolumeDriver } from './drivers/registry.js';
import type { VolumeContext } from './service/context.js';
import { ensureDefaultType } from './service/types.js';
import { inProcessVolumeClient, type VolumeClient } from './client.js';

export interface VolumeServiceModule extends ServiceModule {
  context: VolumeContext;
  /** What compute uses to reach the volume service in this process. */
  client: VolumeClient;
}

export async function createVolumeService(deps: ServiceDeps): Promise<VolumeServiceModule> {
  const { config: cfg, logger } = deps;
  const database = await openServiceDatabase<VolumeDB>('volume', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: deps.schemaPrefix });
  try {
    await migrateToLatest(database.db, volumeMigrations, database.schema);
    // auto: files when guests are real; with the fake compute driver the fake back end
    const kind = cfg.volume.driver === 'auto' ? (cfg.compute.driver === 'fake' ? 'fake' : 'file') : cfg.volume.driver;
    if (kind === 'fake') logger.warn('volume uses the FAKE driver: volumes are recorded, no data is stored');
    const c: VolumeContext = {
      db: database.db, kind: database.kind, logger: logger.child({ service: 'volume' }), driver: createVolumeDriver(kind, cfg.dataDir),
      image: deps.clients.image, host: `${hostname()}@${kind}#${kind}`, availabilityZone: cfg.compute.defaultAvailabilityZone, pending: new Set(),
    };
    await ensureDefaultType(c);
    // what a crash left half done: creations fail, deletions finish at the next delete
    await database.db.updateTable('volume').set({ status: 'error' }).where('status', 'in', ['creating', 'extending']).execute();
    return {
      name: 'volume',
      errorFormat: novaErrorFormat,
      policyDefaults: { ...volumeBasePolicy, ...volumesPolicy, ...miscPolicy, ...adminPolicy, ...qosPolicy, ...encryptionPolicy, ...transfersPolicy },
      context: c,
      client: inProcessVolumeClient(c),
      attach(app: FastifyInstance, routeDeps) {
        app.addHook('onRequest', async (req, reply) => {
          reply.header('vary', 'OpenStack-API-Version');
          const v = negotiateMicroversion(req.headers, 'volume', { min: MIN_VERSION, max: MAX_VERSION });
          versions.set(req, v);
          reply.header('openstack-api-version', `volume ${formatVersion(v)}`);
          // Cinder's router does not fold trailing slashes: /volumes/ is no volume (404)
          const path = req.url.split('?')[0];
          if (path.length > 4 && path.endsWith('/') && path !== '/v3/') throw notFound('The resource could not be found.');
        });
        registerRoutes(app, [...versionRoutes(), ...volumesRoutes(c), ...miscRoutes(c), ...adminRoutes(c), ...qosRoutes(c), ...encryptionRoutes(c), ...transfersRoutes(c)], routeDeps);
      },
      async close() {
        await Promise.allSettled([...c.pending]);
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
