import type { ComputeContext } from '../service/context.js';

export interface HostView {
  /** compute node uuid (placement provider) → its host and node name */
  nodes: Map<string, { host: string; node: string }>;
  /** hosts whose compute service is disabled or forced down */
  disabled: Set<string>;
  /** host → availability zone (from aggregate metadata); absent = default zone */
  zones: Map<string, string>;
  /** host → metadata key → the values its aggregates give it */
  aggregateMeta: Map<string, Map<string, Set<string>>>;
  /** host → hypervisor type and architecture of its node */
  nodeInfo: Map<string, { hypervisorType: string; arch: string }>;
}

const TTL_MS = 1000;

/**
 * What the scheduler knows of the hosts between requests (Nova's HostManager): re-read at most
 * once a second, and at once when placement names a node it does not know. A service disabled
 * or a zone changed takes up to a second to be seen.
 */
export class HostCache {
  private view?: HostView;
  private at = 0;
  private loading?: Promise<HostView>;

  constructor(private readonly c: Pick<ComputeContext, 'db'>) {}

  async get(uuids: string[]): Promise<HostView> {
    const v = this.view;
    if (v && performance.now() - this.at < TTL_MS && uuids.every((u) => v.nodes.has(u))) return v;
    this.loading ??= this.load().finally(() => { this.loading = undefined; });
    return this.loading;
  }

  invalidate(): void {
    this.view = undefined;
  }

  private async load(): Promise<HostView> {
    const { db } = this.c;
    const [nodes, services, zones] = await Promise.all([
      db.selectFrom('compute_node').select(['uuid', 'host', 'hypervisor_hostname', 'hypervisor_type', 'cpu_info']).execute(),
      db.selectFrom('service').select('host').where('binary', '=', 'nova-compute').where((eb) => eb.or([eb('disabled', '=', 1), eb('forced_down', '=', 1)])).execute(),
      db.selectFrom('aggregate_host').innerJoin('aggregate_metadata', 'aggregate_metadata.aggregate_id', 'aggregate_host.aggregate_id')
        .select(['aggregate_host.host', 'aggregate_metadata.key', 'aggregate_metadata.value']).execute(),
    ]);
    const aggregateMeta = new Map<string, Map<string, Set<string>>>();
    for (const m of zones) {
      const byKey = aggregateMeta.get(m.host) ?? aggregateMeta.set(m.host, new Map()).get(m.host)!;
      (byKey.get(m.key) ?? byKey.set(m.key, new Set()).get(m.key)!).add(m.value);
    }
    const view: HostView = {
      nodes: new Map(nodes.map((n) => [n.uuid, { host: n.host, node: n.hypervisor_hostname }])),
      disabled: new Set(services.map((s) => s.host)),
      zones: new Map(zones.filter((z) => z.key === 'availability_zone').map((z) => [z.host, z.value])),
      aggregateMeta,
      nodeInfo: new Map(nodes.map((n) => [n.host, { hypervisorType: n.hypervisor_type, arch: String((JSON.parse(n.cpu_info || '{}') as { arch?: string }).arch ?? 'x86_64') }])),
    };
    this.view = view;
    this.at = performance.now();
    return view;
  }
}

const caches = new WeakMap<object, HostCache>();
/** The host cache of a compute database (one per service instance). */
export const hostCacheOf = (c: Pick<ComputeContext, 'db'>): HostCache => {
  let h = caches.get(c.db);
  if (!h) caches.set(c.db, (h = new HostCache(c)));
  return h;
};
