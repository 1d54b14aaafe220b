/**
 * Allocation candidates as a pure function over a snapshot of providers: which trees (and
 * sharing providers) can satisfy a request's groups, and how.
 */

export interface SnapInventory {
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
}

export interface SnapProvider {
  uuid: string;
  name: string;
  generation: number;
  parent_uuid: string | null;
  root_uuid: string;
  inventories: Map<string, SnapInventory>;
  usages: Map<string, number>;
  traits: Set<string>;
  aggregates: Set<string>;
}

export interface Snapshot {
  providers: Map<string, SnapProvider>;
}

/** One request group: unsuffixed ('') may spread its resources over a tree; suffixed groups use one provider. */
export interface RequestGroup {
  suffix: string;
  resources: Map<string, number>;
  /** Every inner list is any-of (`in:A,B`); all of them must hold. */
  required: string[][];
  forbidden: string[];
  /** Every inner list is any-of aggregates; all must hold. */
  memberOf: string[][];
  forbiddenAggregates: string[];
  inTree?: string;
}

export interface CandidateRequest {
  groups: RequestGroup[];
  groupPolicy?: 'none' | 'isolate';
  limit?: number;
  rootRequired?: string[];
  rootForbidden?: string[];
}

export interface AllocationRequest {
  /** provider uuid → resource class → amount */
  allocations: Map<string, Map<string, number>>;
  /** group suffix → providers that satisfied it */
  mappings: Map<string, string[]>;
}

export interface CandidateResult {
  allocationRequests: AllocationRequest[];
  /** Providers to summarise (every provider in the trees of the candidates, and sharing providers used). */
  summaryProviders: string[];
}

export const SHARES_TRAIT = 'MISC_SHARES_VIA_AGGREGATE';

/** (total - reserved) * allocation_ratio, as Placement computes it. */
export const capacityOf = (inv: SnapInventory): number => Math.floor((inv.total - inv.reserved) * inv.allocation_ratio);

/** Why an amount of a class cannot be taken from a provider, or undefined when it can. */
export function unitProblem(inv: SnapInventory | undefined, amount: number): string | undefined {
  if (!inv) return 'no inventory';
  if (amount < inv.min_unit) return `min_unit ${inv.min_unit}`;
  if (amount > inv.max_unit) return `max_unit ${inv.max_unit}`;
  if (amount % inv.step_size !== 0) return `step_size ${inv.step_size}`;
  return undefined;
}

function fits(p: SnapProvider, rc: string, amount: number, extra = 0): boolean {
  const inv = p.inventories.get(rc);
  if (unitProblem(inv, amount)) return false;
  return (p.usages.get(rc) ?? 0) + extra + amount <= capacityOf(inv!);
}

const traitsOk = (traits: Set<string>, g: RequestGroup) =>
  g.required.every((anyOf) => anyOf.some((t) => traits.has(t))) && g.forbidden.every((t) => !traits.has(t));

function aggsOk(p: SnapProvider, root: SnapProvider, g: RequestGroup): boolean {
  const member = (a: string) => p.aggregates.has(a) || root.aggregates.has(a);
  return g.memberOf.every((anyOf) => anyOf.some(member)) && g.forbiddenAggregates.every((a) => !member(a));
}

function cartesian<T>(lists: T[][]): T[][] {
  let out: T[][] = [[]];
  for (const l of lists) {
    const next: T[][] = [];
    for (const prefix of out) for (const x of l) next.push([...prefix, x]);
    out = next;
    if (out.length > 10000) out = out.slice(0, 10000);
  }
  return out;
}

/** One way a group is satisfied: amounts per provider. */
type GroupPick = Map<string, Map<string, number>>;

function addTo(target: GroupPick, uuid: string, rc: string, amount: number) {
  let m = target.get(uuid);
  if (!m) target.set(uuid, (m = new Map()));
  m.set(rc, (m.get(rc) ?? 0) + amount);
}

/** Every allocation request the snapshot can satisfy, tree by tree (roots in name order). */
export function allocationCandidates(snap: Snapshot, req: CandidateRequest): CandidateResult {
  const all = [...snap.providers.values()];
  const trees = new Map<string, SnapProvider[]>();
  for (const p of all) {
    const t = trees.get(p.root_uuid) ?? [];
    t.push(p);
    trees.set(p.root_uuid, t);
  }
  const sharing = all.filter((p) => p.traits.has(SHARES_TRAIT));
  const results: AllocationRequest[] = [];
  const seen = new Set<string>();
  const roots = [...trees.keys()].map((u) => snap.providers.get(u)!).filter(Boolean).sort((a, b) => a.name.localeCompare(b.name));
  const inTrees = req.groups.map((g) => g.inTree).filter((x): x is string => !!x);

  for (const root of roots) {
    if (req.rootRequired?.some((t) => !root.traits.has(t)) || req.rootForbidden?.some((t) => root.traits.has(t))) continue;
    const tree = trees.get(root.uuid)!;
    // Sharing providers outside this tree that share an aggregate with a provider of it.
    const treeAggs = new Set(tree.flatMap((p) => [...p.aggregates]));
    const sharers = sharing.filter((s) => s.root_uuid !== root.uuid && [...s.aggregates].some((a) => treeAggs.has(a)));
    const options: GroupPick[][] = [];
    let ok = true;
    for (const g of req.groups) {
      const inTreeRoot = g.inTree ? snap.providers.get(g.inTree)?.root_uuid : undefined;
      if (g.inTree && inTreeRoot !== root.uuid) { ok = false; break; }
      const pool = [...tree, ...sharers];
      const picks: GroupPick[] = [];
      if (g.suffix !== '') {
        for (const p of pool) {
          const r = snap.providers.get(p.root_uuid) ?? root;
          if (![...g.resources].every(([rc, n]) => fits(p, rc, n))) continue;
          if (!traitsOk(p.traits, g) || !aggsOk(p, r, g)) continue;
          const pick: GroupPick = new Map();
          for (const [rc, n] of g.resources) addTo(pick, p.uuid, rc, n);
          picks.push(pick);
        }
        // A suffixed group with no resources (traits only) is satisfied by any provider of the tree.
        if (g.resources.size === 0) {
          for (const p of tree) if (traitsOk(p.traits, g) && aggsOk(p, root, g)) picks.push(new Map([[p.uuid, new Map()]]));
        }
      } else {
        const perClass = [...g.resources].map(([rc, n]) =>
          pool.filter((p) => fits(p, rc, n) && aggsOk(p, snap.providers.get(p.root_uuid) ?? root, g)).map((p) => [p.uuid, rc, n] as const));
        if (perClass.some((l) => l.length === 0)) { ok = false; break; }
        for (const combo of cartesian(perClass)) {
          const used = new Set(combo.map(([u]) => u));
          const traits = new Set<string>(root.traits);
          for (const u of used) for (const t of snap.providers.get(u)!.traits) traits.add(t);
          if (!traitsOk(traits, g)) continue;
          const pick: GroupPick = new Map();
          for (const [u, rc, n] of combo) addTo(pick, u, rc, n);
          picks.push(pick);
        }
        if (g.resources.size === 0) {
          if (traitsOk(new Set(tree.flatMap((p) => [...p.traits])), g) && aggsOk(root, root, g)) picks.push(new Map([[root.uuid, new Map()]]));
        }
      }
      if (picks.length === 0) { ok = false; break; }
      options.push(picks);
    }
    if (!ok || (inTrees.length === 0 && req.groups.length === 0)) continue;
    for (const combo of cartesian(options)) {
      if (req.groupPolicy === 'isolate') {
        const suffixed = combo.filter((_, i) => req.groups[i].suffix !== '').map((p) => [...p.keys()]);
        const flat = suffixed.flat();
        if (new Set(flat).size !== flat.length) continue;
      }
      const merged: GroupPick = new Map();
      const mappings = new Map<string, string[]>();
      combo.forEach((pick, i) => {
        mappings.set(req.groups[i].suffix, [...pick.keys()]);
        for (const [u, m] of pick) {
          if (!merged.has(u)) merged.set(u, new Map());
          for (const [rc, n] of m) addTo(merged, u, rc, n);
        }
      });
      // Groups landing on one provider must fit together.
      let fitsAll = true;
      for (const [u, m] of merged) {
        const p = snap.providers.get(u)!;
        for (const [rc, n] of m) {
          const inv = p.inventories.get(rc)!;
          if ((p.usages.get(rc) ?? 0) + n > capacityOf(inv) || n > inv.max_unit) fitsAll = false;
        }
      }
      if (!fitsAll) continue;
      // Drop providers with nothing to allocate (trait-only groups).
      for (const [u, m] of [...merged]) if (m.size === 0) merged.delete(u);
      const key = JSON.stringify([...merged].sort(([a], [b]) => a.localeCompare(b)).map(([u, m]) => [u, [...m].sort()]));
      if (seen.has(key)) continue;
      seen.add(key);
      results.push({ allocations: merged, mappings });
    }
  }
  const limited = req.limit !== undefined ? results.slice(0, req.limit) : results;
  const summary = new Set<string>();
  for (const r of limited) {
    for (const u of r.allocations.keys()) {
      const root = snap.providers.get(u)!.root_uuid;
      for (const p of trees.get(root) ?? []) summary.add(p.uuid);
    }
  }
  return { allocationRequests: limited, summaryProviders: [...summary] };
}
