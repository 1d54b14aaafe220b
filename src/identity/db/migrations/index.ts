import type { Migration } from 'kysely';
import { initial } from './001-initial.js';

/** Identity's migrations, applied in name order. */
export const identityMigrations: Record<string, Migration> = {
  '001-initial': initial,
};
