import type { Kysely } from 'kysely';
import type { ImageConfig } from '../../core/config.js';
import type { DbKind } from '../../core/db/database.js';
import type { Logger } from '../../core/logger.js';
import type { Target } from '../../core/policy/enforcer.js';
import type { IdentityClient } from '../../identity/client.js';
import type { ImageStores } from '../drivers/registry.js';
import type { ImageRecord, ImageRepo } from '../db/images-repo.js';
import type { MemberRepo } from '../db/members-repo.js';
import type { ImageDB } from '../db/schema.js';
import type { TaskRepo } from '../db/tasks-repo.js';
import type { HashPool } from './hash-pool.js';

/** Who is asking, as the image service needs it (Glance's RequestContext). */
export interface Caller {
  projectId: string | null;
  userId: string;
  /** Glance's context.is_admin: the caller passes 'context_is_admin' (role:admin). */
  isAdmin: boolean;
  requestId: string;
  /** Evaluates a policy rule against a target without throwing. */
  allowed(rule: string, target: Target): boolean;
}

/** What the image service's logic works with; built once by the module. */
export interface ImageDeps {
  db: Kysely<ImageDB>;
  kind: DbKind;
  images: ImageRepo;
  members: MemberRepo;
  tasks: TaskRepo;
  stores: ImageStores;
  /** md5 + sha512 on worker threads, for uploads and imports. */
  hashes: HashPool;
  config: ImageConfig;
  identity: IdentityClient;
  logger: Logger;
  /** Region of this cloud (glance-download takes images from it). */
  region: string;
  /** This process as it marks images it moves data for: `<hostPrefix><boot id>`. */
  worker: string;
  /** `<host>:<data dir>:`, the part of `worker` that survives a restart. */
  hostPrefix: string;
}

/**
 * The policy target of an image, as Glance's ImageTarget presents it: project_id is the owner,
 * member_id the caller's project when it sees a shared image as a member, plus every property.
 */
export function imageTarget(image: ImageRecord, caller: Caller): Target {
  const member = image.visibility === 'shared' && caller.projectId !== image.owner ? caller.projectId : null;
  return {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected === 1,
    project_id: image.owner,
    owner: image.owner,
    member_id: member,
    member,
  };
}

/**
 * Glance's is_image_visible: admins see everything; anyone sees public, community and
 * owner-less images; a project sees its own, and shared ones it is a member of (any status).
 */
export async function isVisible(deps: ImageDeps, image: ImageRecord, caller: Caller): Promise<boolean> {
  if (caller.isAdmin || image.owner === null) return true;
  if (image.visibility === 'public' || image.visibility === 'community') return true;
  if (caller.projectId === null) return false;
  if (caller.projectId === image.owner) return true;
  return image.visibility === 'shared' && (await deps.members.get(image.id, caller.projectId)) !== undefined;
}
