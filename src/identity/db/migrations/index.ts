import type { Migration } from 'kysely';
import { initial } from './001-initial.js';
import { cacheGeneration } from './002-cache-generation.js';

/** Identity's migrations, applied in name order. */
export const identityMigrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-cache-generation': cacheGeneration,
};
