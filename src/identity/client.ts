import type { TokenVerifier } from '../core/auth/context.js';
import type { IdentityServices } from './service/index.js';
import { ec2View } from './service/credentials.js';

/** What other services ask identity; in one process a direct call, across hosts its REST API. */
export interface IdentityClient {
  verifier: TokenVerifier;
  getProject(id: string): Promise<{ id: string; name: string; domainId: string; enabled: boolean } | undefined>;
  /**
   * The unified limit of a project's resource: the project's own limit, else the registered
   * default; undefined when nothing is registered (no quota).
   */
  getLimit(projectId: string, serviceType: string, resourceName: string): Promise<number | undefined>;
  /** Registers a service's default limits once (existing ones are left as the operator set them). */
  ensureRegisteredLimits(serviceType: string, defaults: Record<string, number>): Promise<void>;
  /** The EC2 credential of an access key (S3/EC2 signatures): its secret, user and project. */
  ec2Credential(accessKey: string): Promise<{ secret: string; userId: string; projectId: string } | undefined>;
}

export function inProcessIdentityClient(s: IdentityServices, verifier: TokenVerifier): IdentityClient {
  const serviceId = async (type: string) => (await s.catalog.listServices({ type }))[0]?.id;
  return {
    verifier,
    async getProject(id) {
      const p = await s.projects.get(id);
      return p && !p.isDomain ? { id: p.id, name: p.name, domainId: p.domainId!, enabled: p.enabled } : undefined;
    },
    async getLimit(projectId, serviceType, resourceName) {
      const sid = await serviceId(serviceType);
      if (!sid) return undefined;
      const own = await s.limits.listLimits({ serviceId: sid, projectId, resourceName });
      if (own.length) return own[0].resourceLimit;
      const reg = await s.limits.listRegistered({ serviceId: sid, resourceName });
      return reg[0]?.defaultLimit;
    },
    async ensureRegisteredLimits(serviceType, defaults) {
      const sid = await serviceId(serviceType);
      if (!sid) return;
      const existing = new Set((await s.limits.listRegistered({ serviceId: sid })).map((r) => r.resourceName));
      const missing = Object.entries(defaults).filter(([name]) => !existing.has(name));
      if (missing.length) await s.limits.createRegistered(missing.map(([resource_name, default_limit]) => ({ service_id: sid, resource_name, default_limit })));
    },
    async ec2Credential(accessKey) {
      const c = await s.credentials.findEc2(accessKey);
      if (!c?.projectId) return undefined;
      const { secret } = ec2View(c);
      return secret === null ? undefined : { secret, userId: c.userId, projectId: c.projectId };
    },
  };
}
