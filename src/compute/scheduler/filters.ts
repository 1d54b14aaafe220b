import type { HostCandidate } from '../../placement/client.js';

/** What the scheduler knows of one candidate host beyond placement's view. */
export interface HostState extends HostCandidate {
  host: string;
  nodeName: string;
  disabled: boolean;
  /** availability zone from the host's aggregates (default zone when none) */
  zone: string;
  /** servers already on the host (for affinity and same/different host) */
  instances: Set<string>;
  /** metadata its aggregates give the host: key → values */
  aggregateMeta: Map<string, Set<string>>;
  hypervisorType: string;
  arch: string;
}

/** What a server asks of its host. */
export interface RequestSpec {
  instanceUuid: string;
  availabilityZone?: string;
  /** forced host (az:host form, admin only) */
  forceHost?: string;
  group?: { policy: string; rules: Record<string, unknown>; hosts: string[] };
  sameHost?: string[];
  differentHost?: string[];
  /** the flavor's extra specs (aggregate_instance_extra_specs:* select hosts) */
  flavorExtraSpecs?: Record<string, string>;
  /** image properties that constrain the host (architecture, hypervisor type) */
  image?: { architecture?: string; hypervisorType?: string };
}

const AGG_SPEC = 'aggregate_instance_extra_specs:';
/** A value of an extra spec, as the filter compares it: "<in> a <or> b" forms reduced to a list. */
const wanted = (v: string) => v.replace(/^<in>\s*/, '').split(/\s*<or>\s*|,/).map((x) => x.trim()).filter(Boolean);

export type Filter = (h: HostState, spec: RequestSpec) => boolean;

/** Nova's default filters that matter for one cloud, in its order. */
export const FILTERS: Record<string, Filter> = {
  ComputeFilter: (h) => !h.disabled,
  AvailabilityZoneFilter: (h, s) => !s.availabilityZone || h.zone === s.availabilityZone,
  ForceHostFilter: (h, s) => !s.forceHost || h.host === s.forceHost,
  ServerGroupAffinityFilter: (h, s) => !s.group || s.group.policy !== 'affinity' || s.group.hosts.length === 0 || s.group.hosts.includes(h.host),
  ServerGroupAntiAffinityFilter: (h, s) => {
    if (!s.group || s.group.policy !== 'anti-affinity') return true;
    const max = Number(s.group.rules.max_server_per_host ?? 1);
    return s.group.hosts.filter((x) => x === h.host).length < max;
  },
  SameHostFilter: (h, s) => !s.sameHost?.length || s.sameHost.some((u) => h.instances.has(u)),
  DifferentHostFilter: (h, s) => !s.differentHost?.length || s.differentHost.every((u) => !h.instances.has(u)),
  AggregateInstanceExtraSpecsFilter: (h, s) => Object.entries(s.flavorExtraSpecs ?? {}).every(([k, v]) => {
    if (!k.startsWith(AGG_SPEC)) return true;
    const have = h.aggregateMeta.get(k.slice(AGG_SPEC.length));
    return !!have && wanted(v).some((x) => have.has(x));
  }),
  ImagePropertiesFilter: (h, s) =>
    (!s.image?.architecture || s.image.architecture === h.arch) &&
    (!s.image?.hypervisorType || s.image.hypervisorType.toLowerCase() === h.hypervisorType.toLowerCase() || (s.image.hypervisorType === 'kvm' && h.hypervisorType === 'QEMU')),
};

/** Weight of a host: free RAM times the multiplier (Nova's ram_weight_multiplier: 1.0 spreads, negative stacks), soft (anti-)affinity on top. */
export function weigh(h: HostState, spec: RequestSpec, multiplier = 1): number {
  const freeRam = (h.capacity.MEMORY_MB ?? 0) - (h.used.MEMORY_MB ?? 0);
  let w = multiplier * freeRam;
  if (spec.group?.policy === 'soft-affinity') w += 1e12 * spec.group.hosts.filter((x) => x === h.host).length;
  if (spec.group?.policy === 'soft-anti-affinity') w -= 1e12 * spec.group.hosts.filter((x) => x === h.host).length;
  return w;
}

/** Hosts that pass every filter, best first. */
export function rank(hosts: HostState[], spec: RequestSpec, multiplier = 1): HostState[] {
  const ok = hosts.filter((h) => Object.values(FILTERS).every((f) => f(h, spec)));
  return ok.map((h) => ({ h, w: weigh(h, spec, multiplier) })).sort((a, b) => b.w - a.w).map((x) => x.h);
}
