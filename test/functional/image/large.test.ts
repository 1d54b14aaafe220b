import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { LARGE_ENABLED as enabled, LARGE_SKIP, sha256File as sha256, writeGeneratedFile as writeImage } from '../../helpers/large.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;

describe('image: a 1 GiB round trip through the openstack CLI', () => {
  let c: TestCloud | undefined;
  let dir: string | undefined;
  before(async () => {
    if (!enabled) return;
    c = await startTestCloud({ services: ['identity', 'image'] });
    dir = mkdtempSync(join(tmpdir(), 'nubo-large-'));
  });
  after(async () => {
    await c?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('openstack image create --file / image save give back the same bytes', { timeout: 120_000, skip: LARGE_SKIP }, async () => {
    const c1 = c!;
    const src = join(dir!, 'one.raw');
    const dst = join(dir!, 'back.raw');
    await writeImage(src, GiB);
    const env = {
      ...process.env,
      OS_AUTH_URL: c1.cloud.endpoints.identity!, OS_USERNAME: 'admin', OS_PASSWORD: c1.cloud.admin.password, OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3', OS_REGION_NAME: 'RegionOne',
      OS_CLOUD: '', OS_CLIENT_CONFIG_FILE: '/dev/null',
    };
    const t0 = Date.now();
    const created = await run('openstack', ['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', src, '-f', 'json', 'large-one'], { env, maxBuffer: 1 << 20 });
    const id = JSON.parse(created.stdout).id as string;
    const t1 = Date.now();
    await run('openstack', ['image', 'save', '--file', dst, id], { env });
    const t2 = Date.now();
    assert.equal(statSync(dst).size, GiB);
    assert.equal(await sha256(dst), await sha256(src));
    const shown = JSON.parse((await run('openstack', ['image', 'show', '-f', 'json', id], { env })).stdout);
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, GiB);
    console.log(`1 GiB via openstack CLI: create ${((t1 - t0) / 1000).toFixed(1)} s, save ${((t2 - t1) / 1000).toFixed(1)} s`);
  });
});
