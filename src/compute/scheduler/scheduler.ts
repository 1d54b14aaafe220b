import type { ComputeContext } from '../service/context.js';
import type { BookedFlavor } from '../service/flavors.js';
import { rank, type HostState, type RequestSpec } from './filters.js';
import { hostCacheOf } from './host-cache.js';

/** Hosts placement proposes per request (a random subset when more have room: Nova's max_placement_results). */
const CANDIDATE_LIMIT = 50;

export interface Selection { host: string; node: string; providerUuid: string }

export class NoValidHost extends Error {
  override name = 'NoValidHost';
  constructor(reason: string) {
    super(`No valid host was found. ${reason}`.trim());
  }
}

/** Placement resources of a flavor (Nova's resources_from_flavor). */
export function flavorResources(f: Pick<BookedFlavor, 'vcpus' | 'memory_mb' | 'root_gb' | 'ephemeral_gb' | 'swap'>): Record<string, number> {
  return { VCPU: f.vcpus, MEMORY_MB: f.memory_mb, DISK_GB: f.root_gb + f.ephemeral_gb + Math.ceil(f.swap / 1024) };
}

/**
 * The scheduler: placement's candidates for the flavor, Nova's filters and weighers over them,
 * then a claim in placement on the best host; a claim lost to a concurrent one tries the next host.
 */
export async function selectDestination(c: ComputeContext, spec: RequestSpec, flavor: BookedFlavor, owner: { projectId: string; userId: string }): Promise<Selection> {
  const resources = flavorResources(flavor);
  for (let round = 0; round < 3; round++) {
    const candidates = await c.placement.candidates({ resources, limit: CANDIDATE_LIMIT });
    if (candidates.length === 0) throw new NoValidHost('There are not enough hosts available.');
    const view = await hostCacheOf(c).get(candidates.map((x) => x.providerUuid));
    const needInstances = !!(spec.sameHost?.length || spec.differentHost?.length);
    const instancesOn = new Map<string, Set<string>>();
    if (needInstances) {
      const ids = [...(spec.sameHost ?? []), ...(spec.differentHost ?? [])];
      const rows = await c.db.selectFrom('instance').select(['uuid', 'host']).where('uuid', 'in', ids).execute();
      for (const r of rows) if (r.host) (instancesOn.get(r.host) ?? instancesOn.set(r.host, new Set()).get(r.host)!).add(r.uuid);
    }
    const hosts: HostState[] = [];
    for (const cand of candidates) {
      const n = view.nodes.get(cand.providerUuid);
      if (!n) continue; // a provider that is not a compute node
      const info = view.nodeInfo.get(n.host);
      // Fields named one by one: spreading the candidate made V8 build slow dictionary-mode
      // objects, which cost more than the rest of scheduling (measured by bench/compute.ts).
      hosts.push({
        providerUuid: cand.providerUuid, name: cand.name, allocations: cand.allocations, capacity: cand.capacity, used: cand.used,
        traits: cand.traits, aggregates: cand.aggregates, host: n.host, nodeName: n.node, disabled: view.disabled.has(n.host), zone: view.zones.get(n.host) ?? c.config.compute.defaultAvailabilityZone,
        instances: instancesOn.get(n.host) ?? new Set(), aggregateMeta: view.aggregateMeta.get(n.host) ?? new Map(),
        hypervisorType: info?.hypervisorType ?? '', arch: info?.arch ?? 'x86_64',
      });
    }
    const ranked = rank(hosts, { ...spec, flavorExtraSpecs: flavor.extra_specs }, c.config.compute.ramWeightMultiplier);
    if (ranked.length === 0) throw new NoValidHost('There are not enough hosts available.');
    for (const h of ranked.slice(0, 10)) {
      if (await c.placement.claim(spec.instanceUuid, h.providerUuid, h.allocations, owner)) {
        return { host: h.host, node: h.nodeName, providerUuid: h.providerUuid };
      }
    }
  }
  throw new NoValidHost('Every claim lost to concurrent requests.');
}
