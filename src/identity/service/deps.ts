import type { Kysely } from 'kysely';
import type { IdentityConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { IdentityDB } from '../db/schema.js';
import type { TokenCodec } from '../tokens/token-codec.js';
import type { PasswordHasher } from './password-hasher.js';

/** What identity's domain logic needs; built once by the composition root. */
export interface IdentityDeps {
  db: Kysely<IdentityDB>;
  config: IdentityConfig;
  hasher: PasswordHasher;
  codec: TokenCodec;
  logger: Logger;
}

export type Db = Kysely<IdentityDB>;

export const bool = (v: number | boolean | null | undefined): boolean => v === 1 || v === true;
export const int = (v: boolean | undefined | null): number => (v ? 1 : 0);
export const parseJson = <T = Record<string, unknown>>(s: string | null | undefined): T => (s ? (JSON.parse(s) as T) : ({} as T));
