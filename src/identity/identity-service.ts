import { join } from 'node:path';
import type { NuboConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { TokenVerifier } from '../core/auth/context.js';
import { unauthorized } from '../core/errors.js';
import { migrateToLatest, openServiceDatabase, type ServiceDatabase } from '../core/db/database.js';
import type { Route } from '../core/http/routes.js';
import { identityMigrations } from './db/migrations/index.js';
import type { IdentityDB } from './db/schema.js';
import { identityRoutes } from './api/routes/index.js';
import { identityPolicyDefaults } from './api/policy-defaults.js';
import { createIdentityServices, type IdentityServices } from './service/index.js';
import { PasswordHasher } from './service/password-hasher.js';
import { Tokens } from './service/tokens.js';
import { KeyRepository } from './tokens/key-repository.js';
import { TokenCodec } from './tokens/token-codec.js';

export interface IdentityService {
  services: IdentityServices;
  routes: Route[];
  policyDefaults: Record<string, string>;
  /** In-process token verification for every other service of this process. */
  verifier: TokenVerifier;
  keys: KeyRepository;
  close(): Promise<void>;
}

/** Opens identity's database and keys and builds its logic and routes. */
export async function createIdentityService(cfg: NuboConfig, logger: Logger, dbOpts: { schemaPrefix?: string } = {}): Promise<IdentityService> {
  const database: ServiceDatabase<IdentityDB> = await openServiceDatabase<IdentityDB>('identity', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: dbOpts.schemaPrefix });
  await migrateToLatest(database.db, identityMigrations);
  const keys = new KeyRepository(join(cfg.dataDir, 'fernet-keys'));
  keys.setup();
  const codec = new TokenCodec(keys);
  const hasher = new PasswordHasher(cfg.identity.passwordHashCost);
  const services = createIdentityServices({ db: database.db, config: cfg.identity, hasher, codec, logger }, cfg);
  const verifier: TokenVerifier = {
    async verify(token, opts) {
      const t = await services.tokens.validate(token, (m) => unauthorized(`The request you have made requires authentication. ${m}`), opts);
      return Tokens.toAuthContext(t);
    },
  };
  // Forget revocation events no live token can match, now and then.
  const pruner = setInterval(() => { services.revocations.prune().catch((e) => logger.warn({ err: e }, 'revocation prune failed')); }, 600_000);
  pruner.unref();
  return {
    services,
    routes: identityRoutes(services),
    policyDefaults: identityPolicyDefaults,
    verifier,
    keys,
    async close() {
      clearInterval(pruner);
      await database.close();
    },
  };
}
