import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { filesUnder } from '../../helpers/process.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';

/** A raw answer from the object API (bodies as text; Buffer with `binary`). */
export interface SwiftResponse { status: number; headers: Headers; text: string; bytes: Buffer }

export interface SwiftCloud {
  c: TestCloud;
  /** Admin token (admin project; admin is also a reseller admin). */
  admin: string;
  adminAccount: string;
  /** Demo user's token (member of demo) and account. */
  demo: string;
  demoAccount: string;
  /** A request to the object endpoint: path below /v1 or absolute ('/info'). */
  swift(method: string, path: string, opts?: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> }): Promise<SwiftResponse>;
  stop(): Promise<void>;
}

async function scoped(c: TestCloud, user: string, password: string, project: string): Promise<{ token: string; projectId: string }> {
  const r = await c.request('POST', '/v3/auth/tokens', {
    body: { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } }, scope: { project: { name: project, domain: { id: 'default' } } } } },
  });
  if (r.status !== 201) throw new Error(`token: ${r.status}`);
  return { token: r.headers.get('x-subject-token')!, projectId: r.body.token.project.id };
}

export async function startSwiftCloud(): Promise<SwiftCloud> {
  const c = await startTestCloud({ services: ['identity', 'object'] });
  const a = await scoped(c, 'admin', c.cloud.admin.password, 'admin');
  const d = await scoped(c, 'demo', c.cloud.demo.password, 'demo');
  const base = c.url('object');
  return {
    c,
    admin: a.token,
    adminAccount: `/v1/AUTH_${a.projectId}`,
    demo: d.token,
    demoAccount: `/v1/AUTH_${d.projectId}`,
    async swift(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const token = o.token === undefined ? a.token : o.token;
      if (token) headers['x-auth-token'] = token;
      const r = await fetch(`${base}${path}`, { method, headers, body: o.body as BodyInit | undefined });
      const bytes = Buffer.from(await r.arrayBuffer());
      return { status: r.status, headers: r.headers, text: bytes.toString('utf8'), bytes };
    },
    stop: () => c.stop(),
  };
}

/**
 * Every blob the file object store holds under `objectsDir`, as "<key> <md5>" sorted: large
 * ones as files in the shard directories, small ones as rows of small.sqlite (read directly).
 */
export function storedBlobs(objectsDir: string): string[] {
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
  const out = filesUnder(objectsDir)
    .filter((f) => !f.includes('/.tmp/') && !basename(f).startsWith('small.sqlite'))
    .map((f) => `${basename(f)} ${md5(readFileSync(f))}`);
  const file = join(objectsDir, 'small.sqlite');
  if (existsSync(file)) {
    const db = new Database(file, { readonly: true });
    try {
      for (const r of db.prepare('SELECT key, data FROM blob').all() as { key: string; data: Buffer }[]) out.push(`${r.key} ${md5(r.data)}`);
    } finally {
      db.close();
    }
  }
  return out.sort();
}
