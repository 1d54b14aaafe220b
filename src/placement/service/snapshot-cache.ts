import type { Snapshot } from './candidates.js';

/** A provider's generation and usage per class, as an allocation write left them. */
export interface ProviderUsage { generation: number; usages: Map<string, number> }

/**
 * The providers' snapshot kept in memory between candidate searches, so the scheduler does
 * not re-read every provider per server. Structural writes (providers, inventories, traits,
 * aggregates, classes) drop it; allocation writes hand over the usages they left, read in
 * their own transaction. A provider's generation orders them: an older write's usage never
 * overwrites a newer one. Assumes this process makes every placement write (one placement
 * API process per database).
 */
export class SnapshotCache {
  private snap?: Snapshot;
  private building?: Promise<Snapshot>;
  private epoch = 0;

  constructor(private readonly load: () => Promise<Snapshot>) {}

  invalidate(): void {
    this.epoch++;
    this.snap = undefined;
    this.building = undefined;
  }

  async get(): Promise<Snapshot> {
    if (this.snap) return this.snap;
    const epoch = this.epoch;
    const p = (this.building ??= this.load());
    const s = await p;
    if (epoch === this.epoch) {
      this.snap = s;
      this.building = undefined;
    }
    return s;
  }

  usagesChanged(fresh: Map<string, ProviderUsage>): void {
    if (!this.snap) {
      // a snapshot being built may have read the old usages: build again
      if (this.building) this.invalidate();
      return;
    }
    for (const [uuid, f] of fresh) {
      const p = this.snap.providers.get(uuid);
      if (!p || p.generation > f.generation) continue;
      p.generation = f.generation;
      p.usages = f.usages;
    }
  }
}
