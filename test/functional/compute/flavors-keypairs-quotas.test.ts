import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';
import { uniq } from '../../helpers/cloud.js';
import { openSshPublicKey, sshFingerprint } from '../../../src/compute/service/keypairs.js';

let cc: ComputeCloud;
let memberUserId: string;
let adminProjectId: string;

const keys = (o: object) => Object.keys(o).sort();
const FLAVOR_DETAIL_21 = ['OS-FLV-DISABLED:disabled', 'OS-FLV-EXT-DATA:ephemeral', 'disk', 'id', 'links', 'name', 'os-flavor-access:is_public', 'ram', 'rxtx_factor', 'swap', 'vcpus'];

before(async () => {
  cc = await startComputeCloud();
  const who = await cc.c.request('GET', '/v3/auth/tokens', { token: cc.admin, headers: { 'x-subject-token': cc.a.member } });
  memberUserId = who.body.token.user.id;
  const me = await cc.c.request('GET', '/v3/auth/tokens', { token: cc.admin, headers: { 'x-subject-token': cc.admin } });
  adminProjectId = me.body.token.project.id;
});
after(async () => {
  await cc?.stop();
});

describe('flavors', () => {
  test('default flavors: list, detail, show by microversion', async () => {
    const l = await cc.nova('GET', '/v2.1/flavors', { token: cc.a.member });
    assert.equal(l.status, 200);
    assert.deepEqual(l.body.flavors.map((f: any) => f.id), ['1', '2', '3', '4', '42', '5']);
    assert.deepEqual(keys(l.body.flavors[0]), ['id', 'links', 'name']);
    assert.equal(l.body.flavors_links, undefined);

    const d = await cc.nova('GET', '/v2.1/flavors/detail', { token: cc.a.member });
    const tiny = d.body.flavors.find((f: any) => f.id === '1');
    assert.deepEqual(keys(tiny), FLAVOR_DETAIL_21);
    assert.equal(tiny.swap, '');
    assert.equal(tiny.ram, 512);
    assert.equal(tiny['os-flavor-access:is_public'], true);
    assert.equal(tiny.links[0].rel, 'self');
    assert.match(tiny.links[0].href, /\/v2\.1\/flavors\/1$/);

    const s275 = await cc.nova('GET', '/v2.1/flavors/1', { token: cc.a.member, version: '2.75' });
    assert.equal(s275.status, 200);
    assert.deepEqual(keys(s275.body.flavor), [...FLAVOR_DETAIL_21, 'description', 'extra_specs'].sort());
    assert.equal(s275.body.flavor.swap, 0);
    assert.deepEqual(s275.body.flavor.extra_specs, {});
    const s255 = await cc.nova('GET', '/v2.1/flavors/1', { token: cc.a.member, version: '2.55' });
    assert.deepEqual(keys(s255.body.flavor), [...FLAVOR_DETAIL_21, 'description'].sort());
    const l255 = await cc.nova('GET', '/v2.1/flavors', { token: cc.a.member, version: '2.55' });
    assert.deepEqual(keys(l255.body.flavors[0]), ['description', 'id', 'links', 'name']);

    const missing = await cc.nova('GET', '/v2.1/flavors/nope', { token: cc.a.member });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.itemNotFound.message, 'Flavor nope could not be found.');
  });

  test('filters, sorting and paging', async () => {
    const big = await cc.nova('GET', '/v2.1/flavors?minRam=8192&minDisk=100', { token: cc.a.member });
    assert.deepEqual(big.body.flavors.map((f: any) => f.name), ['m1.xlarge']);
    const sorted = await cc.nova('GET', '/v2.1/flavors/detail?sort_key=memory_mb&sort_dir=desc', { token: cc.a.member });
    assert.deepEqual(sorted.body.flavors.map((f: any) => f.ram).slice(0, 3), [16384, 8192, 4096]);
    assert.equal((await cc.nova('GET', '/v2.1/flavors?sort_key=bogus', { token: cc.a.member })).status, 400);
    assert.equal((await cc.nova('GET', '/v2.1/flavors?minRam=abc', { token: cc.a.member })).status, 400);

    const p1 = await cc.nova('GET', '/v2.1/flavors?limit=2', { token: cc.a.member });
    assert.deepEqual(p1.body.flavors.map((f: any) => f.id), ['1', '2']);
    const next = new URL(p1.body.flavors_links[0].href);
    assert.equal(p1.body.flavors_links[0].rel, 'next');
    assert.equal(next.searchParams.get('marker'), '2');
    const p2 = await cc.nova('GET', `/v2.1/flavors?limit=2&marker=2`, { token: cc.a.member });
    assert.deepEqual(p2.body.flavors.map((f: any) => f.id), ['3', '4']);
    const bad = await cc.nova('GET', '/v2.1/flavors?marker=nope', { token: cc.a.member });
    assert.equal(bad.status, 400);
  });

  test('create (admin), validation, duplicates, update description, delete', async () => {
    const name = uniq('fl');
    const forbidden = await cc.nova('POST', '/v2.1/flavors', { token: cc.a.member, body: { flavor: { name, ram: 64, vcpus: 1, disk: 0 } } });
    assert.equal(forbidden.status, 403);

    const r = await cc.nova('POST', '/v2.1/flavors', { body: { flavor: { name, ram: '128', vcpus: 2, disk: 1, id: 9901, swap: 16, 'OS-FLV-EXT-DATA:ephemeral': 2, rxtx_factor: 1.5 } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.flavor.id, '9901');
    assert.equal(r.body.flavor.ram, 128);
    assert.equal(r.body.flavor.swap, 16);
    assert.equal(r.body.flavor.rxtx_factor, 1.5);
    assert.equal(r.body.flavor['OS-FLV-EXT-DATA:ephemeral'], 2);

    const auto = await cc.nova('POST', '/v2.1/flavors', { body: { flavor: { name: uniq('fl'), ram: 64, vcpus: 1, disk: 0, id: null } } });
    assert.equal(auto.status, 200);
    assert.match(auto.body.flavor.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const dupName = await cc.nova('POST', '/v2.1/flavors', { body: { flavor: { name, ram: 64, vcpus: 1, disk: 0 } } });
    assert.equal(dupName.status, 409);
    assert.equal(dupName.body.conflictingRequest.message, `Flavor with name ${name} already exists.`);
    const dupId = await cc.nova('POST', '/v2.1/flavors', { body: { flavor: { name: uniq('fl'), ram: 64, vcpus: 1, disk: 0, id: '9901' } } });
    assert.equal(dupId.status, 409);
    assert.equal(dupId.body.conflictingRequest.message, 'Flavor with ID 9901 already exists.');

    for (const bad of [
      { name: '', ram: 64, vcpus: 1, disk: 0 },
      { name: ' x', ram: 64, vcpus: 1, disk: 0 },
      { name: uniq('fl'), ram: 0, vcpus: 1, disk: 0 },
      { name: uniq('fl'), ram: 64, vcpus: -1, disk: 0 },
      { name: uniq('fl'), ram: 64, vcpus: 1 },
      { name: uniq('fl'), ram: 64, vcpus: 1, disk: 0, id: 'bad/id' },
      { name: uniq('fl'), ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': 'maybe' },
      { name: uniq('fl'), ram: 64, vcpus: 1, disk: 0, bogus: 1 },
      { name: uniq('fl'), ram: 64, vcpus: 1, disk: 0, description: 'only since 2.55' },
    ]) {
      const b = await cc.nova('POST', '/v2.1/flavors', { body: { flavor: bad } });
      assert.equal(b.status, 400, JSON.stringify(bad));
      assert.ok(b.body.badRequest.message, JSON.stringify(b.body));
    }

    const withDesc = await cc.nova('POST', '/v2.1/flavors', { version: '2.55', body: { flavor: { name: uniq('fl'), ram: 64, vcpus: 1, disk: 0, description: 'first' } } });
    assert.equal(withDesc.status, 200);
    assert.equal(withDesc.body.flavor.description, 'first');
    const old = await cc.nova('PUT', `/v2.1/flavors/${withDesc.body.flavor.id}`, { version: '2.54', body: { flavor: { description: 'x' } } });
    assert.equal(old.status, 404);
    const upd = await cc.nova('PUT', `/v2.1/flavors/${withDesc.body.flavor.id}`, { version: '2.55', body: { flavor: { description: 'second' } } });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.flavor.description, 'second');
    const updBad = await cc.nova('PUT', `/v2.1/flavors/${withDesc.body.flavor.id}`, { version: '2.55', body: { flavor: { name: 'x' } } });
    assert.equal(updBad.status, 400);

    assert.equal((await cc.nova('DELETE', '/v2.1/flavors/9901', { token: cc.a.member })).status, 403);
    const del = await cc.nova('DELETE', '/v2.1/flavors/9901');
    assert.equal(del.status, 202);
    assert.equal((await cc.nova('GET', '/v2.1/flavors/9901')).status, 404);
    assert.equal((await cc.nova('DELETE', '/v2.1/flavors/9901')).status, 404);
  });

  test('private flavors and flavor access', async () => {
    const name = uniq('priv');
    const r = await cc.nova('POST', '/v2.1/flavors', { body: { flavor: { name, ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': 'False' } } });
    assert.equal(r.status, 200);
    const id = r.body.flavor.id;
    assert.equal(r.body.flavor['os-flavor-access:is_public'], false);

    const names = async (token: string, q = '') => (await cc.nova('GET', `/v2.1/flavors${q}`, { token })).body.flavors.map((f: any) => f.name);
    assert.ok(!(await names(cc.a.member)).includes(name));
    assert.ok(!(await names(cc.admin)).includes(name), 'admin default is_public=true');
    assert.ok((await names(cc.admin, '?is_public=false')).includes(name));
    assert.ok((await names(cc.admin, '?is_public=none')).includes(name));
    assert.ok(!(await names(cc.admin, '?is_public=false')).includes('m1.tiny'));
    assert.equal((await cc.nova('GET', '/v2.1/flavors?is_public=maybe')).status, 400);
    assert.equal((await cc.nova('GET', `/v2.1/flavors/${id}`, { token: cc.a.member })).status, 404);

    const pub = await cc.nova('GET', '/v2.1/flavors/1/os-flavor-access');
    assert.equal(pub.status, 404);
    assert.equal(pub.body.itemNotFound.message, 'Access list not available for public flavors.');
    assert.deepEqual((await cc.nova('GET', `/v2.1/flavors/${id}/os-flavor-access`)).body, { flavor_access: [] });

    assert.equal((await cc.nova('POST', `/v2.1/flavors/${id}/action`, { token: cc.a.member, body: { addTenantAccess: { tenant: cc.a.id } } })).status, 403);
    const add = await cc.nova('POST', `/v2.1/flavors/${id}/action`, { body: { addTenantAccess: { tenant: cc.a.id } } });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    assert.deepEqual(add.body, { flavor_access: [{ flavor_id: id, tenant_id: cc.a.id }] });
    const again = await cc.nova('POST', `/v2.1/flavors/${id}/action`, { body: { addTenantAccess: { tenant: cc.a.id } } });
    assert.equal(again.status, 409);
    assert.equal((await cc.nova('POST', `/v2.1/flavors/${id}/action`, { body: { addTenantAccess: { tenant: 'no-such-project' } } })).status, 400);
    assert.equal((await cc.nova('POST', '/v2.1/flavors/1/action', { body: { addTenantAccess: { tenant: cc.a.id } } })).status, 409);

    assert.ok((await names(cc.a.member)).includes(name), 'shared with project A');
    assert.ok(!(await names(cc.b.member)).includes(name), 'not with project B');
    assert.equal((await cc.nova('GET', `/v2.1/flavors/${id}`, { token: cc.a.member })).status, 200);
    assert.equal((await cc.nova('GET', `/v2.1/flavors/${id}`, { token: cc.b.member })).status, 404);

    const rm = await cc.nova('POST', `/v2.1/flavors/${id}/action`, { body: { removeTenantAccess: { tenant: cc.a.id } } });
    assert.equal(rm.status, 200);
    assert.deepEqual(rm.body, { flavor_access: [] });
    assert.equal((await cc.nova('POST', `/v2.1/flavors/${id}/action`, { body: { removeTenantAccess: { tenant: cc.a.id } } })).status, 404);
    assert.equal((await cc.nova('POST', `/v2.1/flavors/${id}/action`, { body: { fooAccess: {} } })).status, 400);
  });

  test('extra specs', async () => {
    const r = await cc.nova('POST', '/v2.1/flavors', { body: { flavor: { name: uniq('es'), ram: 64, vcpus: 1, disk: 0 } } });
    const id = r.body.flavor.id;
    const base = `/v2.1/flavors/${id}/os-extra_specs`;
    assert.equal((await cc.nova('POST', base, { token: cc.a.member, body: { extra_specs: { a: '1' } } })).status, 403);
    const set = await cc.nova('POST', base, { body: { extra_specs: { 'hw:cpu_policy': 'shared', 'quota:disk_read_iops_sec': 100 } } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { extra_specs: { 'hw:cpu_policy': 'shared', 'quota:disk_read_iops_sec': '100' } });
    const all = await cc.nova('GET', base, { token: cc.a.reader });
    assert.deepEqual(all.body, { extra_specs: { 'hw:cpu_policy': 'shared', 'quota:disk_read_iops_sec': '100' } });
    assert.deepEqual((await cc.nova('GET', `${base}/hw:cpu_policy`, { token: cc.a.member })).body, { 'hw:cpu_policy': 'shared' });
    assert.equal((await cc.nova('GET', `${base}/nope`)).status, 404);

    const put = await cc.nova('PUT', `${base}/hw:cpu_policy`, { body: { 'hw:cpu_policy': 'dedicated' } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { 'hw:cpu_policy': 'dedicated' });
    assert.equal((await cc.nova('PUT', `${base}/hw:cpu_policy`, { body: { other: 'x' } })).status, 400);
    assert.equal((await cc.nova('PUT', `${base}/hw:cpu_policy`, { body: { 'hw:cpu_policy': 'x', other: 'y' } })).status, 400);
    assert.equal((await cc.nova('POST', base, { body: { extra_specs: { 'bad/key': 'x' } } })).status, 400);
    assert.equal((await cc.nova('POST', base, { body: { specs: {} } })).status, 400);

    const show = await cc.nova('GET', `/v2.1/flavors/${id}`, { version: '2.61', token: cc.a.member });
    assert.deepEqual(show.body.flavor.extra_specs, { 'hw:cpu_policy': 'dedicated', 'quota:disk_read_iops_sec': '100' });
    const det = await cc.nova('GET', '/v2.1/flavors/detail?is_public=none', { version: '2.61' });
    assert.deepEqual(det.body.flavors.find((f: any) => f.id === id).extra_specs, { 'hw:cpu_policy': 'dedicated', 'quota:disk_read_iops_sec': '100' });

    const del = await cc.nova('DELETE', `${base}/hw:cpu_policy`);
    assert.equal(del.status, 200);
    assert.equal((await cc.nova('DELETE', `${base}/hw:cpu_policy`)).status, 404);
    assert.deepEqual((await cc.nova('GET', base)).body, { extra_specs: { 'quota:disk_read_iops_sec': '100' } });
    assert.equal((await cc.nova('GET', '/v2.1/flavors/nope/os-extra_specs')).status, 404);
  });
});

describe('keypairs', () => {
  test('generate, show, list, delete (2.1 and 2.2 shapes)', async () => {
    const name = uniq('kp');
    const g = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, body: { keypair: { name } } });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    assert.deepEqual(keys(g.body.keypair), ['fingerprint', 'name', 'private_key', 'public_key', 'user_id']);
    assert.equal(g.body.keypair.user_id, memberUserId);
    assert.match(g.body.keypair.public_key, /^ssh-rsa AAAA/);
    assert.equal(g.body.keypair.fingerprint, sshFingerprint(g.body.keypair.public_key));
    assert.equal(openSshPublicKey(createPublicKey(g.body.keypair.private_key)), g.body.keypair.public_key);

    const s = await cc.nova('GET', `/v2.1/os-keypairs/${name}`, { token: cc.a.member });
    assert.equal(s.status, 200);
    assert.deepEqual(keys(s.body.keypair), ['created_at', 'deleted', 'deleted_at', 'fingerprint', 'id', 'name', 'public_key', 'updated_at', 'user_id']);
    assert.equal(typeof s.body.keypair.id, 'number');
    assert.equal(s.body.keypair.deleted, false);
    assert.match(s.body.keypair.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    const s22 = await cc.nova('GET', `/v2.1/os-keypairs/${name}`, { token: cc.a.member, version: '2.2' });
    assert.equal(s22.body.keypair.type, 'ssh');

    const l = await cc.nova('GET', '/v2.1/os-keypairs', { token: cc.a.member });
    assert.deepEqual(l.body.keypairs.map((k: any) => keys(k.keypair)), [['fingerprint', 'name', 'public_key']]);
    // other users do not see it
    assert.deepEqual((await cc.nova('GET', '/v2.1/os-keypairs', { token: cc.b.member })).body.keypairs, []);
    assert.equal((await cc.nova('GET', `/v2.1/os-keypairs/${name}`, { token: cc.b.member })).status, 404);

    const dup = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, body: { keypair: { name } } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.conflictingRequest.message, `Key pair '${name}' already exists.`);

    assert.equal((await cc.nova('DELETE', `/v2.1/os-keypairs/${name}`, { token: cc.a.member })).status, 202);
    const gone = await cc.nova('DELETE', `/v2.1/os-keypairs/${name}`, { token: cc.a.member });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.itemNotFound.message, `Keypair ${name} not found for user ${memberUserId}`);
  });

  test('import, x509, 2.92 and validation', async () => {
    const pub = openSshPublicKey(generateKeyPairSync('ed25519').publicKey, 'me@host');
    const name = uniq('imp');
    const imp = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, version: '2.2', body: { keypair: { name, public_key: pub } } });
    assert.equal(imp.status, 201);
    assert.deepEqual(keys(imp.body.keypair), ['fingerprint', 'name', 'public_key', 'type', 'user_id']);
    assert.equal(imp.body.keypair.public_key, pub);
    assert.equal(imp.body.keypair.type, 'ssh');
    assert.equal(imp.body.keypair.fingerprint, sshFingerprint(pub));
    assert.equal((await cc.nova('DELETE', `/v2.1/os-keypairs/${name}`, { token: cc.a.member, version: '2.2' })).status, 204);

    const x = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, version: '2.2', body: { keypair: { name: uniq('x509'), type: 'x509' } } });
    assert.equal(x.status, 201);
    assert.equal(x.body.keypair.type, 'x509');
    assert.match(x.body.keypair.public_key, /^-----BEGIN CERTIFICATE-----/);
    assert.match(x.body.keypair.fingerprint, /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    const ximp = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, version: '2.2', body: { keypair: { name: uniq('x509'), type: 'x509', public_key: x.body.keypair.public_key } } });
    assert.equal(ximp.status, 201);
    assert.equal(ximp.body.keypair.fingerprint, x.body.keypair.fingerprint);

    const gen292 = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, version: '2.92', body: { keypair: { name: uniq('kp') } } });
    assert.equal(gen292.status, 400);
    const dotted = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, version: '2.92', body: { keypair: { name: `me@host.${uniq('d')}`, public_key: pub } } });
    assert.equal(dotted.status, 201);
    assert.equal((await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, version: '2.91', body: { keypair: { name: 'me@host.x', public_key: pub } } })).status, 400);

    for (const body of [
      { name: uniq('kp'), public_key: 'ssh-rsa JUNK nova@ubuntu' },
      { name: uniq('kp'), public_key: ' ' },
      { name: uniq('kp'), public_key: `ssh-rsa ${'A'.repeat(2048)} openstack@ubuntu` },
      { name: '' },
      { name: 'keypair-'.padEnd(260, '0') },
      { name: 'key_/.\\@:' },
      { name: uniq('kp'), type: 'x509' },
    ]) {
      const b = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, body: { keypair: body } });
      assert.equal(b.status, 400, JSON.stringify(body));
    }
    const junk = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.a.member, body: { keypair: { name: uniq('kp'), public_key: 'ssh-rsa JUNK nova@ubuntu' } } });
    assert.equal(junk.body.badRequest.message, 'Keypair data is invalid: failed to generate fingerprint');
  });

  test('admin manages other users\' keypairs (2.10); paging (2.35)', async () => {
    const names = [uniq('a'), uniq('b'), uniq('c')].sort();
    for (const name of names) {
      const r = await cc.nova('POST', '/v2.1/os-keypairs', { version: '2.10', body: { keypair: { name, user_id: memberUserId, type: 'ssh' } } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.keypair.user_id, memberUserId);
    }
    // a member may not create for someone else
    const forb = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.b.member, version: '2.10', body: { keypair: { name: uniq('k'), user_id: memberUserId } } });
    assert.equal(forb.status, 403);
    assert.equal((await cc.nova('GET', `/v2.1/os-keypairs?user_id=${memberUserId}`, { token: cc.b.member, version: '2.10' })).status, 403);

    const show = await cc.nova('GET', `/v2.1/os-keypairs/${names[0]}?user_id=${memberUserId}`, { version: '2.10' });
    assert.equal(show.status, 200);
    assert.equal(show.body.keypair.user_id, memberUserId);
    // before 2.10 the user_id parameter is ignored: the admin's own keys
    assert.equal((await cc.nova('GET', `/v2.1/os-keypairs/${names[0]}?user_id=${memberUserId}`, { version: '2.9' })).status, 404);

    const all = await cc.nova('GET', `/v2.1/os-keypairs?user_id=${memberUserId}`, { version: '2.35' });
    const mine = all.body.keypairs.map((k: any) => k.keypair.name);
    for (const n of names) assert.ok(mine.includes(n));
    const p1 = await cc.nova('GET', `/v2.1/os-keypairs?user_id=${memberUserId}&limit=1`, { version: '2.35' });
    assert.equal(p1.body.keypairs.length, 1);
    assert.equal(p1.body.keypairs[0].keypair.name, mine[0]);
    const next = new URL(p1.body.keypairs_links[0].href);
    assert.equal(next.searchParams.get('marker'), mine[0]);
    const p2 = await cc.nova('GET', `/v2.1/os-keypairs?user_id=${memberUserId}&limit=1&marker=${encodeURIComponent(mine[0])}`, { version: '2.35' });
    assert.equal(p2.body.keypairs[0].keypair.name, mine[1]);
    assert.equal((await cc.nova('GET', `/v2.1/os-keypairs?marker=nope`, { version: '2.35' })).status, 400);

    for (const n of names) assert.equal((await cc.nova('DELETE', `/v2.1/os-keypairs/${n}?user_id=${memberUserId}`, { version: '2.10' })).status, 204);
  });

  test('key_pairs quota: 403 when exceeded', async () => {
    const set = await cc.nova('PUT', `/v2.1/os-quota-sets/${cc.b.id}`, { body: { quota_set: { key_pairs: 1 } } });
    assert.equal(set.status, 200);
    const first = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.b.member, body: { keypair: { name: uniq('q') } } });
    assert.equal(first.status, 200);
    const second = await cc.nova('POST', '/v2.1/os-keypairs', { token: cc.b.member, body: { keypair: { name: uniq('q') } } });
    assert.equal(second.status, 403);
    assert.equal(second.body.forbidden.message, 'Quota exceeded, too many key pairs.');
    await cc.nova('DELETE', `/v2.1/os-quota-sets/${cc.b.id}`);
  });
});

describe('quotas and limits', () => {
  test('show, defaults and keys by microversion', async () => {
    const s = await cc.nova('GET', `/v2.1/os-quota-sets/${cc.a.id}`, { token: cc.a.reader });
    assert.equal(s.status, 200);
    assert.deepEqual(keys(s.body.quota_set), ['cores', 'fixed_ips', 'floating_ips', 'id', 'injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files', 'instances', 'key_pairs', 'metadata_items', 'ram', 'security_group_rules', 'security_groups', 'server_group_members', 'server_groups']);
    assert.equal(s.body.quota_set.id, cc.a.id);
    assert.equal(s.body.quota_set.instances, 10);
    assert.equal(s.body.quota_set.ram, 51200);
    const s236 = await cc.nova('GET', `/v2.1/os-quota-sets/${cc.a.id}`, { token: cc.a.reader, version: '2.36' });
    assert.ok(!('floating_ips' in s236.body.quota_set) && 'injected_files' in s236.body.quota_set);
    const s257 = await cc.nova('GET', `/v2.1/os-quota-sets/${cc.a.id}`, { token: cc.a.reader, version: '2.57' });
    assert.deepEqual(keys(s257.body.quota_set), ['cores', 'id', 'instances', 'key_pairs', 'metadata_items', 'ram', 'server_group_members', 'server_groups']);
    assert.equal((await cc.nova('GET', `/v2.1/os-quota-sets/${cc.b.id}`, { token: cc.a.reader })).status, 403);
    const d = await cc.nova('GET', `/v2.1/os-quota-sets/${cc.a.id}/defaults`, { token: cc.a.member });
    assert.equal(d.status, 200);
    assert.equal(d.body.quota_set.cores, 20);
    assert.equal((await cc.nova('GET', '/v2.1/os-quota-sets/not-a-project')).status, 400);
  });

  test('update (admin), refusal below usage unless forced, user quotas, delete', async () => {
    const p = cc.a.id;
    assert.equal((await cc.nova('PUT', `/v2.1/os-quota-sets/${p}`, { token: cc.a.member, body: { quota_set: { ram: 1 } } })).status, 403);
    const u = await cc.nova('PUT', `/v2.1/os-quota-sets/${p}`, { body: { quota_set: { ram: '5120', instances: 3, cores: -1 } } });
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.ok(!('id' in u.body.quota_set));
    assert.equal(u.body.quota_set.ram, 5120);
    assert.equal(u.body.quota_set.instances, 3);
    assert.equal(u.body.quota_set.cores, -1);
    for (const bad of [{ ram: -2 }, { ram: 'lots' }, { bogus: 1 }, { ram: 1.5 }]) {
      assert.equal((await cc.nova('PUT', `/v2.1/os-quota-sets/${p}`, { body: { quota_set: bad } })).status, 400, JSON.stringify(bad));
    }
    assert.equal((await cc.nova('PUT', `/v2.1/os-quota-sets/${p}`, { version: '2.36', body: { quota_set: { floating_ips: 1 } } })).status, 400);

    // a server in use: 1 instance, 1 vcpu, 512 MB
    await cc.boot(cc.a.member);
    const det = await cc.nova('GET', `/v2.1/os-quota-sets/${p}/detail`, { token: cc.a.reader });
    assert.equal(det.status, 200);
    assert.deepEqual(det.body.quota_set.instances, { limit: 3, in_use: 1, reserved: 0 });
    assert.deepEqual(det.body.quota_set.ram, { limit: 5120, in_use: 512, reserved: 0 });
    assert.deepEqual(det.body.quota_set.cores, { limit: -1, in_use: 1, reserved: 0 });

    const below = await cc.nova('PUT', `/v2.1/os-quota-sets/${p}`, { body: { quota_set: { instances: 0 } } });
    assert.equal(below.status, 400);
    assert.equal(below.body.badRequest.message, 'Quota limit 0 for instances must be greater than or equal to already used and reserved 1.');
    const forced = await cc.nova('PUT', `/v2.1/os-quota-sets/${p}`, { body: { quota_set: { instances: 0, force: true } } });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.quota_set.instances, 0);

    // limits show usage and the project's limits
    const lim = await cc.nova('GET', '/v2.1/limits', { token: cc.a.member });
    assert.equal(lim.status, 200);
    assert.deepEqual(lim.body.limits.rate, []);
    const abs = lim.body.limits.absolute;
    assert.equal(abs.maxTotalInstances, 0);
    assert.equal(abs.totalInstancesUsed, 1);
    assert.equal(abs.totalRAMUsed, 512);
    assert.equal(abs.maxTotalRAMSize, 5120);
    assert.deepEqual(keys(abs), ['maxImageMeta', 'maxPersonality', 'maxPersonalitySize', 'maxSecurityGroupRules', 'maxSecurityGroups', 'maxServerGroupMembers', 'maxServerGroups', 'maxServerMeta', 'maxTotalCores', 'maxTotalFloatingIps', 'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize', 'totalCoresUsed', 'totalFloatingIpsUsed', 'totalInstancesUsed', 'totalRAMUsed', 'totalSecurityGroupsUsed', 'totalServerGroupsUsed']);
    const lim257 = await cc.nova('GET', '/v2.1/limits', { token: cc.a.member, version: '2.57' });
    assert.deepEqual(keys(lim257.body.limits.absolute), ['maxServerGroupMembers', 'maxServerGroups', 'maxServerMeta', 'maxTotalCores', 'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize', 'totalCoresUsed', 'totalInstancesUsed', 'totalRAMUsed', 'totalServerGroupsUsed']);
    assert.equal((await cc.nova('GET', `/v2.1/limits?tenant_id=${p}`, { token: cc.b.member })).status, 403);
    const other = await cc.nova('GET', `/v2.1/limits?tenant_id=${p}`);
    assert.equal(other.body.limits.absolute.totalInstancesUsed, 1);
    const adminOwn = await cc.nova('GET', '/v2.1/limits');
    assert.equal(adminOwn.body.limits.absolute.maxTotalInstances, 10, `admin project ${adminProjectId} keeps the defaults`);

    // user quotas: at most the project's limit, at least the user's usage
    const userQ = await cc.nova('PUT', `/v2.1/os-quota-sets/${p}?user_id=${memberUserId}`, { body: { quota_set: { ram: 2048 } } });
    assert.equal(userQ.status, 200);
    assert.equal(userQ.body.quota_set.ram, 2048);
    assert.equal((await cc.nova('GET', `/v2.1/os-quota-sets/${p}?user_id=${memberUserId}`)).body.quota_set.ram, 2048);
    assert.equal((await cc.nova('GET', `/v2.1/os-quota-sets/${p}`)).body.quota_set.ram, 5120);
    const tooBig = await cc.nova('PUT', `/v2.1/os-quota-sets/${p}?user_id=${memberUserId}`, { body: { quota_set: { ram: 6000 } } });
    assert.equal(tooBig.status, 400);
    assert.equal(tooBig.body.badRequest.message, 'Quota limit 6000 for ram must be less than or equal to 5120.');

    // delete reverts everything to the defaults
    assert.equal((await cc.nova('DELETE', `/v2.1/os-quota-sets/${p}`, { token: cc.a.member })).status, 403);
    assert.equal((await cc.nova('DELETE', `/v2.1/os-quota-sets/${p}`)).status, 202);
    const back = await cc.nova('GET', `/v2.1/os-quota-sets/${p}?user_id=${memberUserId}`);
    assert.equal(back.body.quota_set.ram, 51200);
    assert.equal(back.body.quota_set.instances, 10);
  });

  test('quota class sets', async () => {
    assert.equal((await cc.nova('GET', '/v2.1/os-quota-class-sets/default', { token: cc.a.member })).status, 403);
    const g = await cc.nova('GET', '/v2.1/os-quota-class-sets/default');
    assert.equal(g.status, 200);
    assert.equal(g.body.quota_class_set.id, 'default');
    assert.ok(!('server_groups' in g.body.quota_class_set), 'server_groups only from 2.50');
    assert.ok('floating_ips' in g.body.quota_class_set);
    const g250 = await cc.nova('GET', '/v2.1/os-quota-class-sets/default', { version: '2.50' });
    assert.ok('server_groups' in g250.body.quota_class_set && !('floating_ips' in g250.body.quota_class_set));

    const put = await cc.nova('PUT', '/v2.1/os-quota-class-sets/default', { version: '2.57', body: { quota_class_set: { metadata_items: 64 } } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(keys(put.body.quota_class_set), ['cores', 'instances', 'key_pairs', 'metadata_items', 'ram', 'server_group_members', 'server_groups']);
    assert.equal(put.body.quota_class_set.metadata_items, 64);
    // the default class feeds every project's defaults and limits
    assert.equal((await cc.nova('GET', `/v2.1/os-quota-sets/${cc.b.id}/defaults`)).body.quota_set.metadata_items, 64);
    assert.equal((await cc.nova('GET', '/v2.1/limits', { token: cc.b.member })).body.limits.absolute.maxServerMeta, 64);
    assert.equal((await cc.nova('PUT', '/v2.1/os-quota-class-sets/default', { version: '2.57', body: { quota_class_set: { injected_files: 1 } } })).status, 400);
    assert.equal((await cc.nova('PUT', '/v2.1/os-quota-class-sets/default', { body: { quota_class_set: { metadata_items: 128 } } })).status, 200);
  });
});
