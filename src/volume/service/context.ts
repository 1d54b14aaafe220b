import type { Kysely } from 'kysely';
import type { DbKind } from '../../core/db/database.js';
import type { Logger } from '../../core/logger.js';
import type { ImageClient } from '../../image/client.js';
import type { VolumeDB } from '../db/schema.js';
import type { VolumeDriver } from '../drivers/volume-driver.js';

/** What the volume service's logic works with; built once by the module. */
export interface VolumeContext {
  db: Kysely<VolumeDB>;
  kind: DbKind;
  logger: Logger;
  driver: VolumeDriver;
  image?: ImageClient;
  /** Cinder's volume host (host@backend#pool), shown to admins. */
  host: string;
  availabilityZone: string;
  /** Work started by the API (creation, deletion) that close() waits for. */
  pending: Set<Promise<unknown>>;
}

/** Who is asking (Cinder's RequestContext). */
export interface Caller {
  projectId: string;
  userId: string;
  isAdmin: boolean;
}

export { lockKey, toJson, fromJson } from '../../core/db/database.js';

/** Runs background work the module's close() waits for; its failure is logged by `onError`. */
export function background(c: VolumeContext, work: () => Promise<void>, onError: (e: unknown) => Promise<void>): void {
  const p = work().catch(async (e) => {
    c.logger.warn({ err: e }, 'volume work failed');
    await onError(e).catch(() => undefined);
  }).finally(() => c.pending.delete(p));
  c.pending.add(p);
}
