import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';
import { metadataSignerFor } from '../../../src/core/auth/metadata-signer.js';
import { metadataDocuments } from '../../../src/compute/agent/metadata.js';
import { buildConfigDrive } from '../../../src/compute/agent/config-drive.js';
import { injectedFiles } from '../../../src/compute/service/personality.js';
import type { ComputeServiceModule } from '../../../src/compute/compute-service.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('compute: personality (file injection before 2.57) through the metadata service and the config drive', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  const create = (personality: unknown, version = '2.56', token?: string) => k.nova('POST', '/v2.1/servers', {
    token: token ?? k.a.member, version, body: { server: { name: 'p', imageRef: k.imageId, flavorRef: '1', networks: 'none', personality } },
  });
  /** What the guest reads from 169.254.169.254 (the host side signs its instance id). */
  const metadata = (id: string, path: string) => {
    const sig = metadataSignerFor(k.c.dataDir).sign(id);
    return k.c.request('GET', `/nubo-metadata/${sig}/${path}`, { service: 'compute', headers: { 'x-instance-id': id } });
  };
  const binary = Buffer.from([0, 1, 2, 250, 255, 10]);

  it('serves injected files as Nova: files in meta_data.json, bytes under openstack/content/NNNN', async () => {
    const r = await create([{ path: '/etc/motd', contents: b64('hello from nubo\n') }, { path: '/root/blob.bin', contents: b64(binary) }]);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.server.id;
    await k.waitFor(k.a.member, id, 'ACTIVE');
    for (const v of ['latest', '2013-10-17']) {
      const md = await metadata(id, `openstack/${v}/meta_data.json`);
      assert.equal(md.status, 200);
      assert.deepEqual(md.body.files, [{ path: '/etc/motd', content_path: '/content/0000' }, { path: '/root/blob.bin', content_path: '/content/0001' }]);
    }
    const c0 = await metadata(id, 'openstack/content/0000');
    assert.equal(c0.status, 200);
    assert.equal(String(c0.body), 'hello from nubo\n');
    assert.equal((await metadata(id, 'openstack/content/0002')).status, 404);
    // a server without files has no `files`
    const plain = await k.boot(k.a.member);
    assert.equal((await metadata(plain.id, 'openstack/latest/meta_data.json')).body.files, undefined);
    // rebuild with personality replaces the files
    const rb = await k.nova('POST', `/v2.1/servers/${id}/action`, { token: k.a.member, version: '2.56', body: { rebuild: { imageRef: k.imageId, personality: [{ path: 'rebuild.txt', contents: b64('Test server rebuild.') }] } } });
    assert.equal(rb.status, 202, JSON.stringify(rb.body));
    await k.waitFor(k.a.member, id, 'ACTIVE');
    assert.deepEqual((await metadata(id, 'openstack/latest/meta_data.json')).body.files, [{ path: 'rebuild.txt', content_path: '/content/0000' }]);
    assert.equal(String((await metadata(id, 'openstack/content/0000')).body), 'Test server rebuild.');
  });

  it('puts them on the config drive under openstack/content', { skip: !existsSync('/usr/bin/genisoimage') || !existsSync('/usr/bin/isoinfo') ? 'genisoimage/isoinfo missing' : false }, async () => {
    const r = await create([{ path: '/etc/hosts.extra', contents: b64('10.0.0.9 extra\n') }, { path: '/root/blob.bin', contents: b64(binary) }]);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.server.id;
    await k.waitFor(k.a.member, id, 'ACTIVE');
    const compute = k.c.cloud.modules.find((m) => m.name === 'compute') as ComputeServiceModule;
    const row = await compute.context.db.selectFrom('instance').selectAll().where('uuid', '=', id).executeTakeFirstOrThrow();
    const docs = metadataDocuments(row, {}, await injectedFiles(compute.context.db, id));
    const dir = mkdtempSync(join(tmpdir(), 'nubo-cd-'));
    try {
      const iso = join(dir, 'cd.iso');
      await buildConfigDrive(iso, { ...docs });
      const listing = execFileSync('isoinfo', ['-R', '-f', '-i', iso], { encoding: 'utf8' }).split('\n');
      for (const f of ['/openstack/content/0000', '/openstack/content/0001', '/openstack/latest/meta_data.json']) assert.ok(listing.includes(f), listing.join(' '));
      assert.equal(execFileSync('isoinfo', ['-R', '-i', iso, '-x', '/openstack/content/0000'], { encoding: 'utf8' }), '10.0.0.9 extra\n');
      assert.deepEqual(execFileSync('isoinfo', ['-R', '-i', iso, '-x', '/openstack/content/0001']), binary);
      const md = JSON.parse(execFileSync('isoinfo', ['-R', '-i', iso, '-x', '/openstack/latest/meta_data.json'], { encoding: 'utf8' }));
      assert.deepEqual(md.files.map((f: any) => f.content_path), ['/content/0000', '/content/0001']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects personality from 2.57, bad shapes and contents with 400, and over quota with 403', async () => {
    const ok = [{ path: '/a', contents: b64('x') }];
    assert.equal((await create(ok, '2.57')).status, 400);
    const rebuild57 = await k.boot(k.a.member);
    assert.equal((await k.nova('POST', `/v2.1/servers/${rebuild57.id}/action`, { token: k.a.member, version: '2.57', body: { rebuild: { imageRef: k.imageId, personality: ok } } })).status, 400);
    assert.equal((await create([{ path: '/a', contents: 'This is a test file.' }])).status, 400);
    assert.equal((await create({ path: '/a' })).status, 400);
    assert.equal((await create([{ path: '/a', contents: b64('x'), mode: '0600' }])).status, 400);
    assert.equal((await create([{ path: 5, contents: b64('x') }])).status, 400);
    // limits as Nova shows them before 2.57, and the quotas behind them
    const limits = (await k.nova('GET', '/v2.1/limits', { token: k.a.member, version: '2.56' })).body.limits.absolute;
    assert.equal(limits.maxPersonality, 5);
    assert.equal(limits.maxPersonalitySize, 10240);
    const six = Array.from({ length: 6 }, (_, i) => ({ path: `etc/test${i}.txt`, contents: b64('x') }));
    const tooMany = await create(six);
    assert.equal(tooMany.status, 403, JSON.stringify(tooMany.body));
    assert.match(tooMany.body.forbidden.message, /Personality file limit exceeded/);
    assert.equal((await create(six.slice(0, 5))).status, 202);
    const longPath = await create([{ path: `/${'p'.repeat(255)}`, contents: b64('x') }]);
    assert.equal(longPath.status, 403);
    assert.match(longPath.body.forbidden.message, /path exceeds maximum 255/);
    const big = await create([{ path: '/big', contents: b64(Buffer.alloc(10241)) }]);
    assert.equal(big.status, 403);
    assert.match(big.body.forbidden.message, /content exceeds maximum 10240/);
    // a project's own limits apply
    const pid = (await k.c.request('GET', '/v3/auth/projects', { token: k.a.member })).body.projects[0].id;
    assert.equal((await k.nova('PUT', `/v2.1/os-quota-sets/${pid}`, { version: '2.56', body: { quota_set: { injected_files: 1 } } })).status, 200);
    assert.equal((await create(six.slice(0, 2))).status, 403);
    assert.equal((await create(six.slice(0, 1))).status, 202);
  });
});
