import { join } from 'node:path';
import type { NuboConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { TokenVerifier } from '../core/auth/context.js';
import { migrateToLatest, openServiceDatabase, type ServiceDatabase } from '../core/db/database.js';
import { registerRoutes } from '../core/http/routes.js';
import type { ServiceModule } from '../core/service-module.js';
import { keystoneErrorFormat, unauthorized } from '../core/errors.js';
import { inProcessIdentityClient, type IdentityClient } from './client.js';
import { DbGeneration, MemoryGeneration } from './service/token-cache.js';
import { identityMigrations } from './db/migrations/index.js';
import type { IdentityDB } from './db/schema.js';
import { identityRoutes } from './api/routes/index.js';
import { identityPolicyDefaults } from './api/policy-defaults.js';
import { createIdentityServices, type IdentityServices } from './service/index.js';
import { PasswordHasher } from './service/password-hasher.js';
import { Tokens } from './service/tokens.js';
import { KeyRepository } from './tokens/key-repository.js';
import { TokenCodec } from './tokens/token-codec.js';

export interface IdentityService extends ServiceModule {
  services: IdentityServices;
  policyDefaults: Record<string, string>;
  /** In-process token verification for every other service of this process. */
  verifier: TokenVerifier;
  keys: KeyRepository;
  /** What other services of this process use to reach identity. */
  client: IdentityClient;
}

/** Writes that cannot change what an existing token resolves to. */
const isTokenIssue = (method: string, url: string) => method === 'POST' && url.startsWith('/v3/auth/tokens');

/** Opens identity's database and keys and builds its logic and routes. */
export async function createIdentityService(cfg: NuboConfig, logger: Logger, dbOpts: { schemaPrefix?: string } = {}): Promise<IdentityService> {
  const database: ServiceDatabase<IdentityDB> = await openServiceDatabase<IdentityDB>('identity', { url: cfg.database, dataDir: cfg.dataDir, schemaPrefix: dbOpts.schemaPrefix });
  await migrateToLatest(database.db, identityMigrations, database.schema);
  const keys = new KeyRepository(join(cfg.dataDir, 'fernet-keys'));
  keys.setup();
  const codec = new TokenCodec(keys);
  const hasher = new PasswordHasher(cfg.identity.passwordHashCost);
  // One process owns a SQLite file; with PostgreSQL several processes share the counter.
  const generation = database.kind === 'postgres' ? new DbGeneration(database.db) : new MemoryGeneration();
  const services = createIdentityServices({ db: database.db, config: cfg.identity, hasher, codec, logger }, cfg, generation);
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
    name: 'identity',
    errorFormat: keystoneErrorFormat,
    services,
    client: inProcessIdentityClient(services, verifier),
    policyDefaults: identityPolicyDefaults,
    verifier,
    keys,
    /** The routes, and the hook that invalidates token caches on writes. */
    attach(app, deps) {
      registerRoutes(app, identityRoutes(services), deps);
      // Before the reply leaves: a client that saw its write succeed never reads a stale cache.
      app.addHook('onSend', async (req, reply, payload) => {
        if (req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode < 400 && !isTokenIssue(req.method, req.url)) {
          await generation.bump();
        }
        return payload;
      });
    },
    async close() {
      clearInterval(pruner);
      await database.close();
    },
  };
}
