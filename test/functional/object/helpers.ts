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
