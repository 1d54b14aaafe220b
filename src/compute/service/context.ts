import type { Kysely } from 'kysely';
import type { NuboConfig } from '../../core/config.js';
import type { DbKind } from '../../core/db/database.js';
import type { Logger } from '../../core/logger.js';
import type { Bus } from '../../core/bus/bus.js';
import type { IdentityClient } from '../../identity/client.js';
import type { ImageClient } from '../../image/client.js';
import type { PlacementClient } from '../../placement/client.js';
import type { VolumeClient } from '../../volume/client.js';
import type { ComputeDB } from '../db/schema.js';
import type { NetworkApi } from '../network/network-api.js';
import type { ConsoleTokens } from '../consoles/tokens.js';

/** What the compute service's logic works with; built once by the module. */
export interface ComputeContext {
  db: Kysely<ComputeDB>;
  kind: DbKind;
  config: NuboConfig;
  logger: Logger;
  bus: Bus;
  identity: IdentityClient;
  image: ImageClient;
  placement: PlacementClient;
  network: NetworkApi;
  /** The block storage service, when it runs in this process (volume attachments). */
  volume?: VolumeClient;
  /** Console access tokens (remote consoles and the VNC websocket proxy). */
  consoles: ConsoleTokens;
}

/** Who is asking (Nova's RequestContext). */
export interface Caller {
  projectId: string;
  userId: string;
  isAdmin: boolean;
  requestId: string;
}

// Shared with the other services; compute's modules import them from here.
export { lockKey, toJson, fromJson } from '../../core/db/database.js';
