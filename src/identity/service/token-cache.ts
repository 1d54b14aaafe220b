import { sql } from 'kysely';
import type { Db } from './deps.js';

/**
 * A counter bumped by every identity write. Validated tokens are cached under the value read
 * before they were resolved, so any write (revocation, role change, disable...) makes every
 * cached result stale at once. In one process the counter lives in memory; with PostgreSQL
 * (several processes) it lives in a one-row table every process reads.
 */
export interface Generation {
  current(): Promise<number> | number;
  bump(): Promise<void> | void;
}

export class MemoryGeneration implements Generation {
  private value = 0;
  current() { return this.value; }
  bump() { this.value++; }
}

export class DbGeneration implements Generation {
  constructor(private readonly db: Db) {}
  async current() {
    const r = await this.db.selectFrom('cache_generation').select('value').where('name', '=', 'identity').executeTakeFirst();
    return r?.value ?? 0;
  }
  async bump() {
    await this.db.updateTable('cache_generation').set({ value: sql`value + 1` }).where('name', '=', 'identity').execute();
  }
}

