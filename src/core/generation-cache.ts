/** A bounded map of results valid for one generation and until a deadline. */
export class GenerationCache<T> {
  private readonly entries = new Map<string, { gen: number; until: number; value: T }>();
  constructor(private readonly max = 20000) {}

  get(key: string, gen: number): T | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.gen !== gen || e.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, gen: number, until: number, value: T): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { gen, until, value });
  }
}
