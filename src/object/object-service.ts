/**
 * The object storage service: Swift v1 (accounts, containers, objects, listings, ACLs, quotas,
 * copy, bulk delete, DLO/SLO, versioning) over one store that an S3 front end can share:
 * metadata rows in the service's database (db/repo.ts), bytes in an ObjectStore driver
 * (drivers/), data writes and expiry in service/objects.ts; the Swift protocol is api/swift.ts,
 * the S3 protocol (SigV4 with EC2 credentials, same listener) api/s3/.
 *
 * LIMITATIONS
 * - One data directory per object API process: start-up reconciliation removes every blob no
 *   row references, so two processes must not share <dataDir>/objects.
 * - No container sync, CORS; static web serves anonymous (or X-Web-Mode) requests only; FormPOST bodies are read whole (at most 256 MiB); bulk upload reads tar/tar.gz (no bz2);
 *   /info lists only what is implemented, so clients (and Tempest) see what is offered.
 * - Account and container statistics are computed from the object rows on each request.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { migrateToLatest, openServiceDatabase } from '../core/db/database.js';
import type { ServiceModule } from '../core/service-module.js';
import type { ServiceDeps } from '../all-in-one.js';
import { ObjectRepo } from './db/repo.js';
import { objectMigrations } from './db/migrations.js';
import type { ObjectDB } from './db/schema.js';
import { FileObjectStore } from './drivers/file-store.js';
import { ObjectData } from './service/objects.js';
import { registerSwift } from './api/swift.js';
import { registerS3 } from './api/s3/s3.js';
import { TEMPURL_INFO } from './api/tempurl.js';
import { FORMPOST_INFO } from './api/formpost.js';
import { STATICWEB_INFO } from './api/staticweb.js';
import { swiftErrorFormat, SWIFT_LIMITS } from './api/common.js';

export interface ObjectService extends ServiceModule {
  data: ObjectData;
  reconciled: { leftovers: number; orphans: string[] };
}

/** What /info shows: Swift's limits and the middlewares this build implements. */
export function swiftInfo(): Record<string, unknown> {
  return {
    swift: { version: '2.30.1', ...SWIFT_LIMITS, policies: [{ name: 'Policy-0', aliases: 'Policy-0', default: true }], allow_account_management: false, account_autocreate: true, strict_cors_mode: true },
    bulk_delete: { max_deletes_per_request: 10000, max_failed_deletes: 1000 },
    bulk_upload: { max_containers_per_extraction: 10000, max_failed_extractions: 1000 },
    account_quotas: {},
    container_quotas: {},
    slo: { max_manifest_segments: 1000, max_manifest_size: 8388608, min_segment_size: 1, yield_frequency: 10 },
    dlo: { max_segments: 10000 },
    versioned_writes: { allowed_flags: ['x-versions-location', 'x-history-location'] },
    crossdomain: {},
    tempurl: TEMPURL_INFO,
    formpost: FORMPOST_INFO,
    staticweb: STATICWEB_INFO,
  };
}

export async function createObjectService(deps: ServiceDeps): Promise<ObjectService> {
  const { config: cfg, logger } = deps;
  const database = await openServiceDatabase<ObjectDB>('object', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: deps.schemaPrefix });
  try {
    await migrateToLatest(database.db, objectMigrations(database.kind), database.schema);
    const repo = new ObjectRepo(database.db, database.kind);
    const log = logger.child({ service: 'object' });
    const store = new FileObjectStore(join(cfg.dataDir, 'objects'));
    const data = new ObjectData(repo, store, log);
    const reconciled = await data.reconcile();
    let sweeping = false;
    const sweeper = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      data.expire().catch((e) => log.warn({ err: e }, 'object expiry failed')).finally(() => { sweeping = false; });
    }, 5000);
    sweeper.unref();
    return {
      name: 'object',
      errorFormat: swiftErrorFormat,
      policyDefaults: {},
      data,
      reconciled,
      attach(app: FastifyInstance, routeDeps) {
        // S3 (SigV4-signed requests) first: its hook answers them before Swift's routes.
        registerS3(app, { data, repo, identity: deps.identity });
        registerSwift(app, { data, repo, verifier: routeDeps.verifier, operatorRoles: ['member', 'admin'], resellerRoles: ['ResellerAdmin', 'admin'] }, swiftInfo);
      },
      async close() {
        clearInterval(sweeper);
        while (sweeping) await new Promise((r) => setTimeout(r, 20));
        await store.close();
        await database.close();
      },
    };
  } catch (e) {
    await database.close();
    throw e;
  }
}
