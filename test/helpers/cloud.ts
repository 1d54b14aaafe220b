import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, SERVICE_NAMES, type ComputeConfig, type IdentityConfig, type NetworkConfig, type ServiceName } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { startCloud, type RunningCloud } from '../../src/all-in-one.js';

/** PostgreSQL URL for the database suites; unset → SQLite. */
export const TEST_DATABASE = process.env.NUBO_TEST_DATABASE || undefined;

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestCloud {
  cloud: RunningCloud;
  /** http://127.0.0.1:port (identity), without /v3. */
  identityUrl: string;
  dataDir: string;
  /** A request to identity, or with `service` to another service's endpoint (its catalog URL). */
  request<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string | Uint8Array; service?: ServiceName }): Promise<ApiResponse<T>>;
  /** Base URL of a service (identity without /v3). */
  url(service: ServiceName): string;
  /** A project-scoped token for a user by name (Default domain). */
  token(user: string, password: string, project?: string): Promise<string>;
  adminToken(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The whole cloud in this process on free ports, with a fresh data directory and either a
 * fresh SQLite file or a fresh PostgreSQL schema (NUBO_TEST_DATABASE).
 */
export async function startTestCloud(opts: { identity?: Partial<IdentityConfig>; compute?: Partial<ComputeConfig>; network?: Partial<NetworkConfig>; dataDir?: string; schemaPrefix?: string; services?: ServiceName[] } = {}): Promise<TestCloud> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'nubo-test-'));
  const schemaPrefix = opts.schemaPrefix ?? (TEST_DATABASE ? `t${randomBytes(4).toString('hex')}_` : undefined);
  const cfg = loadConfig({
    dataDir,
    host: '127.0.0.1',
    database: TEST_DATABASE,
    // every listener on a free port
    ports: Object.fromEntries(SERVICE_NAMES.map((n) => [n, 0])) as Record<ServiceName, number>,
    ...(opts.services ? { services: opts.services } : {}),
    identity: { passwordHashCost: 1024, ...opts.identity },
    // functional tests simulate guests; the dataplane tier runs the qemu driver
    compute: { driver: 'fake', host: 'compute1', ...opts.compute },
    // and record the network dataplane's state without touching the host (the dataplane tier wires it)
    network: { driver: 'fake', ...opts.network },
  }, {});
  const logger = createLogger(process.env.NUBO_TEST_LOG ?? 'silent');
  const cloud = await startCloud(cfg, logger, { schemaPrefix });
  const identityUrl = cloud.endpoints.identity!.replace(/\/v3$/, '');

  const url = (service: ServiceName) => {
    const u = cloud.endpoints[service];
    if (!u) throw new Error(`service ${service} is not running in this test cloud`);
    return u.replace(/\/v3$/, '');
  };
  const request: TestCloud['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers['x-auth-token'] = o.token;
    let body: string | Uint8Array | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    } else if (o.raw !== undefined) headers['content-type'] ??= 'application/json';
    const base = o.service ? url(o.service) : identityUrl;
    const r = await fetch(`${base}${path}`, { method, headers, body: body as BodyInit | undefined });
    const text = await r.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
    return { status: r.status, headers: r.headers, body: parsed as never };
  };
  const token = async (user: string, password: string, project?: string) => {
    const r = await request('POST', '/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
          ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}),
        },
      },
    });
    if (r.status !== 201) throw new Error(`token for ${user}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.headers.get('x-subject-token')!;
  };
  return {
    cloud,
    identityUrl,
    dataDir,
    request,
    url,
    token,
    adminToken: () => token('admin', cloud.admin.password, 'admin'),
    async stop() {
      await cloud.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (TEST_DATABASE && schemaPrefix && !opts.schemaPrefix) await dropSchemas(schemaPrefix);
    },
  };
}

/** Removes a test run's PostgreSQL schemas. */
export async function dropSchemas(prefix: string, url = TEST_DATABASE): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${prefix}%`]);
    for (const row of r.rows) await c.query(`DROP SCHEMA "${row.nspname}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** A unique name for a test resource. */
export const uniq = (prefix = 't') => `${prefix}-${randomBytes(4).toString('hex')}`;

/** A user with a password and the given roles on a project (all in the Default domain). */
export async function makeUser(c: TestCloud, admin: string, projectId: string, roles: string[]) {
  const name = uniq('user');
  const password = uniq('pw');
  const u = await c.request('POST', '/v3/users', { token: admin, body: { user: { name, password, domain_id: 'default' } } });
  if (u.status !== 201) throw new Error(`create user: ${u.status} ${JSON.stringify(u.body)}`);
  for (const role of roles) {
    const r = await c.request('GET', `/v3/roles?name=${role}`, { token: admin });
    const put = await c.request('PUT', `/v3/projects/${projectId}/users/${u.body.user.id}/roles/${r.body.roles[0].id}`, { token: admin });
    if (put.status !== 204) throw new Error(`grant ${role}: ${put.status}`);
  }
  return { id: u.body.user.id as string, name, password };
}

/**
 * With NUBO_TEST_DATABASE set: creates (or drops) a whole PostgreSQL database of that name on
 * the same server and returns its URL, for a `nubo up` child process; undefined on SQLite.
 */
export async function pgDatabase(action: 'create' | 'drop', name: string): Promise<string | undefined> {
  if (!TEST_DATABASE) return undefined;
  const c = new pg.Client({ connectionString: TEST_DATABASE });
  await c.connect();
  try {
    await c.query(action === 'create' ? `CREATE DATABASE "${name}"` : `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
  const u = new URL(TEST_DATABASE);
  u.pathname = `/${name}`;
  return u.toString();
}
