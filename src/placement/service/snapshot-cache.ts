import type { Snapshot } from './candidates.js';

/** What the cache re-reads for providers whose allocations changed. */
export type UsageReader = (uuids: string[]) => Promise<Map<string, { generation: number; usages: Map<string, number> }>>;

/**
 * The providers' snapshot kept in memory between candidate searches, so the scheduler does
 * not re-read every provider per server. Structural writes (providers, inventories, traits,
 * aggregates, classes) drop it; allocation writes re-read the usages of the providers they
 * touched. Each re-read is numbered: an older read never overwrites a newer one. Assumes this
 * process makes every placement write (one placement API process per database).
 */
export class SnapshotCache {
  private snap?: Snapshot;
  private building?: Promise<Snapshot>;
  private epoch = 0;
  private seq = 0;
  private readonly applied = new Map<string, number>();

  constructor(private readonly load: () => Promise<Snapshot>, private readonly readUsage: UsageReader) {}

  invalidate(): void {
    this.epoch++;
    this.snap = undefined;
    this.building = undefined;
    this.applied.clear();
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

  async allocationsChanged(uuids: string[]): Promise<void> {
    if (!this.snap) {
      // a snapshot being built may have read the old usages: build again
      if (this.building) this.invalidate();
      return;
    }
    const snap = this.snap;
    const seq = ++this.seq;
    const fresh = await this.readUsage(uuids);
    if (snap !== this.snap) return;
    for (const uuid of uuids) {
      const p = snap.providers.get(uuid);
      const f = fresh.get(uuid);
      if (!p || !f) continue;
      if ((this.applied.get(uuid) ?? 0) > seq) continue;
      this.applied.set(uuid, seq);
      p.generation = f.generation;
      p.usages = f.usages;
    }
  }
}
