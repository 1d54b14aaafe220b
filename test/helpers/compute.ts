import assert from 'node:assert/strict';
import { startTestCloud, type ApiResponse, type TestCloud } from './cloud.js';
import { makeProject, type TestProject } from './image.js';
import type { ComputeConfig, ServiceName } from '../../src/core/config.js';

/** A test cloud with compute (fake driver unless told), an active image, and two projects. */
export interface ComputeCloud {
  c: TestCloud;
  admin: string;
  a: TestProject;
  b: TestProject;
  imageId: string;
  /** A request to the compute API; `version` sets the compute microversion. */
  nova<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; version?: string; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
  /** Creates a server and waits until it leaves BUILD; returns the server document. */
  boot(token: string, extra?: Record<string, unknown>, wantStatus?: string): Promise<any>;
  /** Polls a server until `status` (or 404 for 'DELETED'); returns the last document. */
  waitFor(token: string, id: string, status: string, timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
}

export async function startComputeCloud(compute: Partial<ComputeConfig> = {}, opts: { services?: ServiceName[] } = {}): Promise<ComputeCloud> {
  const c = await startTestCloud({ services: opts.services ?? ['identity', 'placement', 'image', 'compute'], compute });
  try {
    const admin = await c.adminToken();
    const a = await makeProject(c, admin);
    const b = await makeProject(c, admin);
    const img = await c.request('POST', '/v2/images', { token: admin, service: 'image', body: { name: 'test-image', disk_format: 'raw', container_format: 'bare', visibility: 'public' } });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const up = await c.request('PUT', `/v2/images/${img.body.id}/file`, { token: admin, service: 'image', raw: new Uint8Array(4096), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(up.status, 204);
    const nova: ComputeCloud['nova'] = (method, path, o = {}) => c.request(method, path, {
      token: o.token ?? admin, body: o.body, service: 'compute',
      headers: { ...(o.version ? { 'openstack-api-version': `compute ${o.version}` } : {}), ...o.headers },
    });
    const waitFor: ComputeCloud['waitFor'] = async (token, id, status, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await nova('GET', `/v2.1/servers/${id}`, { token });
        if (status === 'DELETED' && r.status === 404) return undefined;
        if (r.status === 200 && r.body.server.status === status && r.body.server['OS-EXT-STS:task_state'] === null) return r.body.server;
        if (Date.now() > deadline) throw new Error(`server ${id} not ${status} in ${timeoutMs} ms: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    };
    return {
      c, admin, a, b, imageId: img.body.id, nova, waitFor,
      async boot(token, extra = {}, wantStatus = 'ACTIVE') {
        const r = await nova('POST', '/v2.1/servers', { token, body: { server: { name: 'vm', imageRef: img.body.id, flavorRef: '1', ...extra } } });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return waitFor(token, r.body.server.id, wantStatus);
      },
      stop: () => c.stop(),
    };
  } catch (e) {
    await c.stop();
    throw e;
  }
}
