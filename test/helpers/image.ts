import assert from 'node:assert/strict';
import { makeUser, startTestCloud, uniq, type ApiResponse, type TestCloud } from './cloud.js';
import type { ImageConfig } from '../../src/core/config.js';

/** Glance's JSON error answer, asked for with Accept: application/json. */
export const JSON_ACCEPT = { accept: 'application/json' };
export const PATCH = 'application/openstack-images-v2.1-json-patch';

/** A project with a member user and a reader user, and their tokens. */
export interface TestProject {
  id: string;
  name: string;
  member: string;
  reader: string;
}

/** A test cloud running identity and image, with admin and two more projects (A and B). */
export interface ImageCloud {
  c: TestCloud;
  admin: string;
  adminProject: string;
  a: TestProject;
  b: TestProject;
  /** A request to the image API (Accept: application/json unless headers say otherwise). */
  img<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
  /** Creates an image (raw/bare unless told) and returns its body; asserts 201. */
  create(token: string, body?: Record<string, unknown>): Promise<any>;
  /** Uploads bytes to an image; returns the response. */
  upload(token: string, id: string, data: Uint8Array): Promise<ApiResponse>;
  /** PATCHes an image with a v2.1 JSON patch. */
  patch(token: string, id: string, ops: unknown): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export async function makeProject(c: TestCloud, admin: string): Promise<TestProject> {
  const name = uniq('proj');
  const p = await c.request('POST', '/v3/projects', { token: admin, body: { project: { name, domain_id: 'default' } } });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const id = p.body.project.id as string;
  const m = await makeUser(c, admin, id, ['member']);
  const r = await makeUser(c, admin, id, ['reader']);
  return { id, name, member: await c.token(m.name, m.password, name), reader: await c.token(r.name, r.password, name) };
}

export async function startImageCloud(image: Partial<ImageConfig> = {}): Promise<ImageCloud> {
  const c = await startTestCloud({ services: ['identity', 'image'] });
  // Settings the image service reads at request time can be changed on the running cloud.
  Object.assign(c.cloud.config.image, image);
  const imageModule = c.cloud.modules.find((m) => m.name === 'image') as unknown as { services: { deps: { config: ImageConfig } } };
  Object.assign(imageModule.services.deps.config, image);
  const admin = await c.adminToken();
  const adminProject = (await c.request('GET', '/v3/projects?name=admin', { token: admin })).body.projects[0].id as string;
  const a = await makeProject(c, admin);
  const b = await makeProject(c, admin);
  const img: ImageCloud['img'] = (method, path, opts = {}) =>
    c.request(method, path, { service: 'image', ...opts, headers: { ...JSON_ACCEPT, ...(opts.headers ?? {}) } });
  return {
    c, admin, adminProject, a, b, img,
    async create(token, body = {}) {
      const r = await img('POST', '/v2/images', { token, body: { name: uniq('img'), disk_format: 'raw', container_format: 'bare', ...body } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body;
    },
    upload: (token, id, data) => img('PUT', `/v2/images/${id}/file`, { token, raw: data, headers: { 'content-type': 'application/octet-stream' } }),
    patch: (token, id, ops) => img('PATCH', `/v2/images/${id}`, { token, raw: JSON.stringify(ops), headers: { 'content-type': PATCH } }),
    stop: () => c.stop(),
  };
}

/** Asserts a Glance JSON error: status, "<code> <title>" and a message containing `text`. */
export function assertGlanceError(r: ApiResponse, status: number, text?: string | RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(typeof r.body, 'object', `expected a JSON error body, got ${String(r.body)}`);
  assert.match(r.body.code, new RegExp(`^${status} `));
  assert.equal(typeof r.body.title, 'string');
  assert.equal(typeof r.body.message, 'string');
  if (text instanceof RegExp) assert.match(r.body.message, text);
  else if (text) assert.ok(r.body.message.includes(text), `message ${JSON.stringify(r.body.message)} lacks ${JSON.stringify(text)}`);
}
