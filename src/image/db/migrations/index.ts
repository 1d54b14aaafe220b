import type { Migration } from 'kysely';
import { initial } from './001-initial.js';
import { metadefs } from './002-metadefs.js';

/** The image service's migrations, applied in name order. */
export const imageMigrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-metadefs': metadefs,
};
