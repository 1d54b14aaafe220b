import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { LARGE_ENABLED, LARGE_SKIP, sha256File, writeGeneratedFile } from '../../helpers/large.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;
const SEGMENT = 100 * 1024 * 1024;

describe('object: a 1 GiB round trip through python-swiftclient (SLO segments)', () => {
  let c: TestCloud | undefined;
  let dir: string | undefined;
  before(async () => {
    if (!LARGE_ENABLED) return;
    c = await startTestCloud({ services: ['identity', 'object'] });
    dir = mkdtempSync(join(tmpdir(), 'nubo-objlarge-'));
  });
  after(async () => {
    await c?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('swift upload --segment-size --use-slo / swift download give back the same bytes', { timeout: 120_000, skip: LARGE_SKIP }, async () => {
    const c1 = c!;
    const src = join(dir!, 'one.raw');
    const dst = join(dir!, 'back.raw');
    await writeGeneratedFile(src, GiB);
    // only OS_* settings (Keystone v3), nothing from the caller's swift or clouds.yaml setup
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OS_|ST_)/.test(k)));
    Object.assign(env, {
      OS_AUTH_URL: c1.cloud.endpoints.identity!, OS_USERNAME: 'admin', OS_PASSWORD: c1.cloud.admin.password, OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3', OS_AUTH_VERSION: '3', OS_REGION_NAME: 'RegionOne',
    });
    const swift = (...args: string[]) => run('swift', args, { env, maxBuffer: 1 << 20 });

    const t0 = Date.now();
    await swift('upload', '--segment-size', String(SEGMENT), '--use-slo', '--object-name', 'one.raw', 'large', src);
    const t1 = Date.now();
    await swift('download', '--output', dst, 'large', 'one.raw');
    const t2 = Date.now();
    assert.equal(statSync(dst).size, GiB);
    assert.equal(await sha256File(dst), await sha256File(src));

    // It went up as an SLO manifest over 11 segments in large_segments.
    const token = await c1.adminToken();
    const projectId = (await c1.request('GET', '/v3/auth/tokens', { token, headers: { 'x-subject-token': token } })).body.token.project.id as string;
    const head = await c1.request('HEAD', `/v1/AUTH_${projectId}/large/one.raw`, { token, service: 'object' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-static-large-object')?.toLowerCase(), 'true');
    assert.equal(Number(head.headers.get('content-length')), GiB);
    const segments = await c1.request('GET', `/v1/AUTH_${projectId}/large_segments?format=json`, { token, service: 'object' });
    assert.equal(segments.status, 200);
    assert.equal(segments.body.length, Math.ceil(GiB / SEGMENT));
    assert.equal(segments.body.reduce((n: number, s: { bytes: number }) => n + s.bytes, 0), GiB);
    console.log(`1 GiB via swift CLI (SLO, ${SEGMENT / 1024 / 1024} MiB segments): upload ${((t1 - t0) / 1000).toFixed(1)} s, download ${((t2 - t1) / 1000).toFixed(1)} s`);
  });
});
