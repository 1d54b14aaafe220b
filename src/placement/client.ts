import { allocationCandidates, capacityOf, unitProblem, type RequestGroup, type SnapProvider, type Snapshot } from './service/candidates.js';
import type { InventoryInput, PlacementService } from './service/placement.js';

/** A host the scheduler may pick: its provider and what it has left, per resource class. */
export interface HostCandidate {
  providerUuid: string;
  name: string;
  /** the amounts to claim on this provider */
  allocations: Record<string, number>;
  /** capacity and usage per class, for weighers */
  capacity: Record<string, number>;
  used: Record<string, number>;
  traits: string[];
  aggregates: string[];
}

export interface CandidateQuery {
  resources: Record<string, number>;
  required?: string[];
  forbidden?: string[];
  /** any-of aggregate uuids, each inner list must match */
  memberOf?: string[][];
  inTree?: string;
  limit?: number;
}

/**
 * What compute asks of placement: register its hosts, find hosts with room, claim and free
 * resources per server. In one process a direct call; across hosts the Placement API.
 */
export interface PlacementClient {
  ensureProvider(uuid: string, name: string): Promise<void>;
  /** Replaces the provider's inventories (retries on generation conflicts). */
  setInventory(uuid: string, inventories: Record<string, InventoryInput>): Promise<void>;
  deleteProvider(uuid: string): Promise<void>;
  candidates(q: CandidateQuery): Promise<HostCandidate[]>;
  /** Claims for a consumer atomically; false when the provider no longer has room (someone was faster). */
  claim(consumer: string, providerUuid: string, resources: Record<string, number>, owner: { projectId: string; userId: string }): Promise<boolean>;
  /** Current allocations of a consumer: provider → class → amount. */
  allocations(consumer: string): Promise<Record<string, Record<string, number>>>;
  /** Drops a consumer's allocations (no error when it has none). */
  release(consumer: string): Promise<void>;
  /** The aggregates a provider is in, and replacing them (compute mirrors its host aggregates). */
  providerAggregates(uuid: string): Promise<string[]>;
  setProviderAggregates(uuid: string, aggregates: string[]): Promise<void>;
}

const isConflict = (e: unknown) => (e as { status?: number }).status === 409;

export function inProcessPlacementClient(s: PlacementService): PlacementClient {
  return {
    async ensureProvider(uuid, name) {
      try {
        await s.provider(uuid);
      } catch {
        try {
          await s.createProvider({ uuid, name });
        } catch (e) {
          if (!isConflict(e)) throw e;
        }
      }
    },
    async setInventory(uuid, inventories) {
      for (let attempt = 0; ; attempt++) {
        const { generation } = await s.inventories(uuid);
        try {
          await s.setInventories(uuid, generation, inventories, { replaceAll: true, reservedCanBeTotal: true });
          return;
        } catch (e) {
          if (!isConflict(e) || attempt > 10) throw e;
        }
      }
    },
    async deleteProvider(uuid) {
      await s.deleteProvider(uuid).catch(() => undefined);
    },
    async candidates(q) {
      const snap = await s.cache.get();
      const flat = flatProviders(snap);
      if (flat && !q.inTree) return flatCandidates(flat, q);
      const group: RequestGroup = {
        suffix: '',
        resources: new Map(Object.entries(q.resources).filter(([, n]) => n > 0)),
        required: (q.required ?? []).map((t) => [t]),
        forbidden: q.forbidden ?? [],
        memberOf: q.memberOf ?? [],
        forbiddenAggregates: [],
        inTree: q.inTree,
      };
      const result = allocationCandidates(snap, { groups: [group], limit: q.limit });
      const out: HostCandidate[] = [];
      for (const ar of result.allocationRequests) {
        // compute hosts are single providers: one provider holds every class of the request
        if (ar.allocations.size !== 1) continue;
        const [[uuid, amounts]] = [...ar.allocations.entries()];
        const p = snap.providers.get(uuid)!;
        const capacity: Record<string, number> = {};
        const used: Record<string, number> = {};
        for (const [rc, inv] of p.inventories) {
          capacity[rc] = capacityOf(inv);
          used[rc] = p.usages.get(rc) ?? 0;
        }
        out.push({ providerUuid: uuid, name: p.name, allocations: Object.fromEntries(amounts), capacity, used, traits: [...p.traits], aggregates: [...p.aggregates] });
      }
      return out;
    },
    async claim(consumer, providerUuid, resources, owner) {
      try {
        await s.writeAllocations([{ consumer, allocations: { [providerUuid]: resources }, project_id: owner.projectId, user_id: owner.userId, consumer_type: 'INSTANCE' }]);
        return true;
      } catch (e) {
        if (isConflict(e)) return false;
        throw e;
      }
    },
    async allocations(consumer) {
      const { allocations } = await s.consumerAllocations(consumer);
      return Object.fromEntries(Object.entries(allocations).map(([rp, a]) => [rp, a.resources]));
    },
    async providerAggregates(uuid) {
      return (await s.providerAggregates(uuid)).aggregates;
    },
    async setProviderAggregates(uuid, aggregates) {
      for (let attempt = 0; ; attempt++) {
        const { generation } = await s.providerAggregates(uuid);
        try {
          await s.setProviderAggregates(uuid, generation, aggregates);
          return;
        } catch (e) {
          if (!isConflict(e) || attempt > 10) throw e;
        }
      }
    },
    async release(consumer) {
      await s.deleteAllocations(consumer).catch((e) => {
        if ((e as { status?: number }).status !== 404) throw e;
      });
    },
  };
}

/** The providers of a snapshot when none has a parent (every compute host a lone root), else undefined. */
const flatCache = new WeakMap<Snapshot, SnapProvider[] | null>();
function flatProviders(snap: Snapshot): SnapProvider[] | undefined {
  let f = flatCache.get(snap);
  if (f === undefined) {
    const all = [...snap.providers.values()];
    f = all.some((p) => p.parent_uuid !== null) ? null : all;
    flatCache.set(snap, f);
  }
  return f ?? undefined;
}

/**
 * Candidates among lone providers, without the general tree search: a scan from a random
 * start that stops at `limit` hosts with room (as placement's randomized candidates), so the
 * cost per request does not grow with the number of hosts beyond the scan itself.
 */
function flatCandidates(providers: SnapProvider[], q: CandidateQuery): HostCandidate[] {
  const wanted = Object.entries(q.resources).filter(([, n]) => n > 0);
  const limit = q.limit ?? providers.length;
  const out: HostCandidate[] = [];
  const start = Math.floor(Math.random() * providers.length);
  for (let i = 0; i < providers.length && out.length < limit; i++) {
    const p = providers[(start + i) % providers.length];
    let ok = true;
    for (const [rc, amount] of wanted) {
      const inv = p.inventories.get(rc);
      if (!inv || unitProblem(inv, amount) || (p.usages.get(rc) ?? 0) + amount > capacityOf(inv)) { ok = false; break; }
    }
    if (!ok) continue;
    if (q.required && !q.required.every((t) => p.traits.has(t))) continue;
    if (q.forbidden && q.forbidden.some((t) => p.traits.has(t))) continue;
    if (q.memberOf && !q.memberOf.every((anyOf) => anyOf.some((a) => p.aggregates.has(a)))) continue;
    const capacity: Record<string, number> = {};
    const used: Record<string, number> = {};
    for (const [rc, inv] of p.inventories) {
      capacity[rc] = capacityOf(inv);
      used[rc] = p.usages.get(rc) ?? 0;
    }
    out.push({ providerUuid: p.uuid, name: p.name, allocations: Object.fromEntries(wanted), capacity, used, traits: [...p.traits], aggregates: [...p.aggregates] });
  }
  return out;
}
