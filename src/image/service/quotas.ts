import { HttpError } from '../../core/errors.js';
import type { IdentityClient } from '../../identity/client.js';
import type { ImageRepo } from '../db/images-repo.js';

const MiB = 1024 * 1024;

/** The unified limits Glance enforces (sizes in MiB), with their usage counters. */
export const IMAGE_LIMITS = ['image_size_total', 'image_stage_total', 'image_count_total', 'image_count_uploading'] as const;
export type ImageLimit = (typeof IMAGE_LIMITS)[number];

/**
 * Per-project quotas through Keystone unified limits, as Glance's use_keystone_limits: a
 * request is refused with 413 when usage + delta would exceed the project's limit (or the
 * registered default); a limit below zero means unlimited.
 */
export class ImageQuotas {
  constructor(private readonly identity: IdentityClient, private readonly images: ImageRepo) {}

  usage(projectId: string, name: ImageLimit): Promise<number> {
    switch (name) {
      case 'image_size_total': return this.images.storedBytes(projectId).then((b) => Math.floor(b / MiB));
      case 'image_stage_total': return this.images.stagedBytes(projectId).then((b) => Math.floor(b / MiB));
      case 'image_count_total': return this.images.countImages(projectId);
      case 'image_count_uploading': return this.images.countUploading(projectId);
    }
  }

  async limit(projectId: string, name: ImageLimit): Promise<number | undefined> {
    return this.identity.getLimit(projectId, 'image', name);
  }

  /** Throws Glance's 413 when the project is (or would be, by delta) over the limit. */
  async enforce(projectId: string | null, name: ImageLimit, delta = 0): Promise<void> {
    if (!projectId) return;
    const limit = await this.limit(projectId, name);
    if (limit === undefined || limit < 0) return;
    const used = await this.usage(projectId, name);
    if (used + delta > limit) {
      throw new HttpError(413,
        'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was breached.'
        + `\n\nThe response body:\nProject ${projectId} is over a limit for [Resource ${name} is over limit of ${limit} due to current usage ${used} and delta ${delta}]`);
    }
  }

  /** /v2/info/usage: every limit with its usage (-1 when unlimited). */
  async report(projectId: string): Promise<Record<string, { usage: number; limit: number }>> {
    const out: Record<string, { usage: number; limit: number }> = {};
    for (const name of IMAGE_LIMITS) out[name] = { usage: await this.usage(projectId, name), limit: (await this.limit(projectId, name)) ?? -1 };
    return out;
  }
}
