import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';
import { computeBasePolicy } from '../policy-defaults.js';
import { adminPolicy, adminRoutes } from './admin.js';
import { flavorsPolicy, flavorsRoutes } from './flavors.js';
import { imagesPolicy, imagesRoutes } from './images.js';
import { interfacesPolicy, interfacesRoutes } from './interfaces.js';
import { floatingIpsPolicy, floatingIpsRoutes } from './floating-ips.js';
import { keypairsPolicy, keypairsRoutes } from './keypairs.js';
import { legacyPolicy, legacyRoutes } from './legacy.js';
import { novaNetworkPolicy, novaNetworkRoutes } from './nova-network.js';
import { serverMiscPolicy, serverMiscRoutes } from './server-misc.js';
import { quotasPolicy, quotasRoutes } from './quotas.js';
import { securityGroupsPolicy, securityGroupsRoutes } from './security-groups.js';
import { serverActionsPolicy, serverActionsRoutes } from './server-actions.js';
import { serverGroupsPolicy, serverGroupsRoutes } from './server-groups.js';
import { serverResourcesPolicy, serverResourcesRoutes } from './server-resources.js';
import { serversPolicy, serversRoutes } from './servers.js';
import { usagePolicy, usageRoutes } from './usage.js';
import { versionRoutes } from './versions.js';
import { volumeAttachmentsPolicy, volumeAttachmentsRoutes } from './volume-attachments.js';
import { volumesProxyPolicy, volumesProxyRoutes } from './volumes-proxy.js';
import { consolesPolicy, consolesRoutes } from './consoles.js';
import { metadataRoutes } from './metadata.js';
import type { MetadataSigner } from '../../../core/auth/metadata-signer.js';

export const computePolicyDefaults: Record<string, string> = {
  ...consolesPolicy,
  ...computeBasePolicy, ...serversPolicy, ...serverActionsPolicy, ...serverResourcesPolicy,
  ...flavorsPolicy, ...keypairsPolicy, ...quotasPolicy, ...adminPolicy, ...serverGroupsPolicy, ...usagePolicy, ...securityGroupsPolicy, ...imagesPolicy, ...legacyPolicy, ...novaNetworkPolicy, ...serverMiscPolicy, ...interfacesPolicy, ...floatingIpsPolicy,
  ...volumeAttachmentsPolicy, ...volumesProxyPolicy,
};

export function computeRoutes(c: ComputeContext, signer: MetadataSigner): Route[] {
  return [
    ...versionRoutes(), ...consolesRoutes(c), ...metadataRoutes(c, signer), ...serversRoutes(c), ...serverActionsRoutes(c), ...serverResourcesRoutes(c),
    ...flavorsRoutes(c), ...keypairsRoutes(c), ...quotasRoutes(c), ...adminRoutes(c), ...serverGroupsRoutes(c), ...usageRoutes(c), ...securityGroupsRoutes(c), ...imagesRoutes(c), ...legacyRoutes(c), ...novaNetworkRoutes(c), ...serverMiscRoutes(c), ...interfacesRoutes(c), ...floatingIpsRoutes(c),
    ...volumeAttachmentsRoutes(c), ...volumesProxyRoutes(c),
  ];
}
