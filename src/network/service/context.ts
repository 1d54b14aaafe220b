import type { Kysely } from 'kysely';
import type { NuboConfig } from '../../core/config.js';
import type { DbKind } from '../../core/db/database.js';
import type { Logger } from '../../core/logger.js';
import type { Bus } from '../../core/bus/bus.js';
import type { NetworkDB } from '../db/schema.js';

/** What the network service's logic works with; built once by the module. */
export interface NetworkContext {
  db: Kysely<NetworkDB>;
  kind: DbKind;
  config: NuboConfig;
  logger: Logger;
  bus: Bus;
  /** Tells the dataplane agents that something changed (they re-read their state). */
  notifyChanged(reason: string): void;
}

/** Who is asking (neutron-lib's context). */
export interface Caller {
  projectId: string;
  userId: string;
  isAdmin: boolean;
}

/** Neutron's timestamps: seconds, UTC, with a Z. */
export const neutronNow = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
