import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

describe('compute: servers (fake driver)', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  it('answers version discovery with the microversion range and echoes the negotiated version', async () => {
    const root = await k.nova('GET', '/');
    assert.equal(root.status, 200);
    assert.deepEqual(root.body.versions.map((v: any) => v.id), ['v2.0', 'v2.1']);
    assert.equal(root.body.versions[1].min_version, '2.1');
    assert.equal(root.body.versions[1].version, '2.93');
    const one = await k.nova('GET', '/v2.1/servers', { version: '2.47' });
    assert.equal(one.headers.get('openstack-api-version'), 'compute 2.47');
    assert.equal(one.headers.get('x-openstack-nova-api-version'), '2.47');
    const latest = await k.nova('GET', '/v2.1/servers', { version: 'latest' });
    assert.equal(latest.headers.get('openstack-api-version'), 'compute 2.93');
    const bad = await k.nova('GET', '/v2.1/servers', { version: '3.0' });
    assert.equal(bad.status, 406);
  });

  it('boots a server to ACTIVE on a host, with an address, a create action and its events', async () => {
    const s = await k.boot(k.a.member, { name: 'web-1', metadata: { role: 'web' } });
    assert.equal(s.status, 'ACTIVE');
    assert.equal(s.tenant_id, k.a.id);
    assert.deepEqual(s.metadata, { role: 'web' });
    assert.ok(s.hostId.length === 56, 'hostId is a sha224');
    assert.equal(s['OS-EXT-STS:power_state'], 1);
    assert.ok(s.addresses.private[0].addr);
    assert.equal(s['OS-EXT-SRV-ATTR:host'], undefined, 'non-admins do not see the host');
    const asAdmin = await k.nova('GET', `/v2.1/servers/${s.id}`);
    assert.equal(asAdmin.body.server['OS-EXT-SRV-ATTR:host'], 'compute1');
    const actions = await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member });
    assert.deepEqual(actions.body.instanceActions.map((x: any) => x.action), ['create']);
    const one = await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions/${actions.body.instanceActions[0].request_id}`);
    assert.deepEqual(one.body.instanceAction.events.map((e: any) => [e.event, e.result]).sort(), [
      ['compute__do_build_and_run_instance', 'Success'], ['conductor_schedule_and_build_instances', 'Success'],
    ]);
  });

  it('keeps projects apart: B cannot see or act on A\'s server', async () => {
    const s = await k.boot(k.a.member, { name: 'private-a' });
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.b.member })).status, 404);
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.b.member })).status, 404);
    const list = await k.nova('GET', '/v2.1/servers', { token: k.b.member });
    assert.ok(!list.body.servers.some((x: any) => x.id === s.id));
    const all = await k.nova('GET', '/v2.1/servers?all_tenants=1', { token: k.b.member });
    assert.ok(!all.body.servers.some((x: any) => x.id === s.id), 'all_tenants is ignored for non-admins');
    const adminAll = await k.nova('GET', '/v2.1/servers?all_tenants=1');
    assert.ok(adminAll.body.servers.some((x: any) => x.id === s.id));
    const reader = await k.nova('POST', '/v2.1/servers', { token: k.a.reader, body: { server: { name: 'r', imageRef: k.imageId, flavorRef: '1' } } });
    assert.equal(reader.status, 403, 'readers cannot create');
  });

  it('rejects bad create requests with 400 in Nova\'s error format', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: '' }, /too short/],
      [{ name: 'x'.repeat(256) }, /too long/],
      [{ name: 12345 }, /not of type 'string'/],
      [{ flavorRef: 'nope' }, /Flavor nope could not be found/],
      [{ imageRef: '11111111-2222-3333-4444-555555555555' }, /Image .* could not be found/],
      [{ networks: [{ uuid: 'a0000000-0000-0000-0000-000000000000' }] }, /Network .* could not be found/],
      [{ accessIPv6: '1.1.1.1' }, /ipv6/],
      [{ metadata: { k: 'v'.repeat(256) } }, /too long/],
      [{ key_name: 'missing' }, /Invalid key_name/],
    ];
    for (const [extra, msg] of cases) {
      const r = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'bad', imageRef: k.imageId, flavorRef: '1', ...extra } } });
      assert.equal(r.status, 400, `${JSON.stringify(extra)} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.badRequest.message, msg);
      assert.equal(r.body.badRequest.code, 400);
    }
    const none = await k.nova('GET', '/v2.1/servers/00000000-0000-0000-0000-000000000000');
    assert.equal(none.status, 404);
    assert.match(none.body.itemNotFound.message, /could not be found/);
  });

  it('lists with filters, limit/marker and next links', async () => {
    const made: any[] = [];
    for (let i = 0; i < 3; i++) made.push(await k.boot(k.b.member, { name: `list-${i}` }));
    const all = await k.nova('GET', '/v2.1/servers/detail', { token: k.b.member });
    assert.equal(all.body.servers.length, 3);
    assert.deepEqual(all.body.servers.map((s: any) => s.name), ['list-2', 'list-1', 'list-0'], 'newest first');
    const page = await k.nova('GET', '/v2.1/servers?limit=2', { token: k.b.member });
    assert.equal(page.body.servers.length, 2);
    assert.match(page.body.servers_links[0].href, /marker=/);
    const next = await k.nova('GET', `/v2.1/servers?limit=2&marker=${page.body.servers[1].id}`, { token: k.b.member });
    assert.deepEqual(next.body.servers.map((s: any) => s.name), ['list-0']);
    assert.equal((await k.nova('GET', '/v2.1/servers?name=list-1', { token: k.b.member })).body.servers.length, 1);
    assert.equal((await k.nova('GET', '/v2.1/servers?name=list-', { token: k.b.member })).body.servers.length, 3, 'name is a regex');
    assert.equal((await k.nova('GET', '/v2.1/servers?status=ACTIVE', { token: k.b.member })).body.servers.length, 3);
    assert.equal((await k.nova('GET', '/v2.1/servers?status=nonsense', { token: k.b.member })).body.servers.length, 0);
    assert.equal((await k.nova('GET', '/v2.1/servers?flavor=1', { token: k.b.member })).body.servers.length, 3);
    assert.equal((await k.nova('GET', '/v2.1/servers?flavor=999', { token: k.b.member })).body.servers.length, 0);
    assert.equal((await k.nova('GET', `/v2.1/servers?image=${k.imageId}`, { token: k.b.member })).body.servers.length, 3);
    assert.equal((await k.nova('GET', '/v2.1/servers?limit=-1', { token: k.b.member })).status, 400);
    assert.equal((await k.nova('GET', '/v2.1/servers?limit=abc', { token: k.b.member })).status, 400);
    assert.equal((await k.nova('GET', '/v2.1/servers?changes-since=garbage', { token: k.b.member })).status, 400);
    assert.equal((await k.nova('GET', '/v2.1/servers?changes-since=2999-01-01T00:00:00Z', { token: k.b.member })).body.servers.length, 0);
    // a deleted server leaves the list but shows up in changes-since
    const since = new Date(Date.now() - 60_000).toISOString();
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${made[0].id}`, { token: k.b.member })).status, 204);
    await k.waitFor(k.b.member, made[0].id, 'DELETED');
    assert.equal((await k.nova('GET', '/v2.1/servers', { token: k.b.member })).body.servers.length, 2);
    const changed = await k.nova('GET', `/v2.1/servers/detail?changes-since=${since}`, { token: k.b.member });
    assert.ok(changed.body.servers.some((s: any) => s.id === made[0].id && s.status === 'DELETED'));
  });

  it('runs actions through their states: stop/start, reboot, pause, suspend, lock, rebuild, resize', async () => {
    const s = await k.boot(k.a.member, { name: 'actions' });
    const act = (body: unknown, token = k.a.member, version?: string) => k.nova('POST', `/v2.1/servers/${s.id}/action`, { token, body, version });
    assert.equal((await act({ 'os-stop': null })).status, 202);
    assert.equal((await k.waitFor(k.a.member, s.id, 'SHUTOFF'))['OS-EXT-STS:power_state'], 4);
    assert.equal((await act({ 'os-stop': null })).status, 409, 'stopping a stopped server conflicts');
    assert.equal((await act({ 'os-start': null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal((await act({ reboot: { type: 'HARD' } })).status, 202);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal((await act({ reboot: { type: 'SIDEWAYS' } })).status, 400);
    assert.equal((await act({ pause: null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'PAUSED');
    assert.equal((await act({ unpause: null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal((await act({ suspend: null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'SUSPENDED');
    assert.equal((await act({ resume: null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    // lock: the owner's changes are refused until unlocked; the reason shows since 2.73
    assert.equal((await act({ lock: { locked_reason: 'maintenance' } }, k.a.member, '2.73')).status, 202);
    const locked = await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member, version: '2.73' });
    assert.equal(locked.body.server.locked, true);
    assert.equal(locked.body.server.locked_reason, 'maintenance');
    assert.equal((await act({ 'os-stop': null })).status, 409);
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member })).status, 409);
    assert.equal((await act({ unlock: null })).status, 202);
    const rb = await act({ rebuild: { imageRef: k.imageId, name: 'rebuilt' } });
    assert.equal(rb.status, 202);
    assert.equal(rb.body.server.name, 'rebuilt');
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal((await act({ resize: { flavorRef: '2' } })).status, 202);
    await k.waitFor(k.a.member, s.id, 'VERIFY_RESIZE');
    assert.equal((await act({ confirmResize: null })).status, 204);
    const resized = await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal(resized.flavor.id, '2');
    const names = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member })).body.instanceActions.map((x: any) => x.action);
    for (const a of ['create', 'stop', 'start', 'reboot', 'pause', 'unpause', 'suspend', 'resume', 'lock', 'unlock', 'rebuild', 'resize', 'confirmResize']) assert.ok(names.includes(a), a);
    const out = await act({ 'os-getConsoleOutput': { length: 1 } });
    assert.equal(out.status, 200);
    assert.equal(out.body.output.trim().split('\n').length, 1);
  });

  it('snapshots a server into the image service (createImage)', async () => {
    const s = await k.boot(k.a.member, { name: 'snap-src' });
    const r = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { createImage: { name: 'snap-1', metadata: { why: 'test' } } }, version: '2.45' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.image_id;
    let img: any;
    for (let i = 0; i < 100; i++) {
      img = (await k.c.request('GET', `/v2/images/${id}`, { token: k.a.member, service: 'image' })).body;
      if (img.status === 'active') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(img.status, 'active');
    assert.equal(img.owner, k.a.id);
    assert.equal(img.image_type, 'snapshot');
    assert.equal(img.instance_uuid, s.id);
    assert.equal(img.why, 'test');
  });

  it('keeps metadata and tags', async () => {
    const s = await k.boot(k.a.member, { name: 'meta' });
    const base = `/v2.1/servers/${s.id}`;
    assert.deepEqual((await k.nova('POST', `${base}/metadata`, { token: k.a.member, body: { metadata: { a: '1', b: '2' } } })).body, { metadata: { a: '1', b: '2' } });
    assert.deepEqual((await k.nova('PUT', `${base}/metadata/a`, { token: k.a.member, body: { meta: { a: '9' } } })).body, { meta: { a: '9' } });
    assert.equal((await k.nova('PUT', `${base}/metadata/a`, { token: k.a.member, body: { meta: { b: '9' } } })).status, 400);
    assert.equal((await k.nova('DELETE', `${base}/metadata/b`, { token: k.a.member })).status, 204);
    assert.deepEqual((await k.nova('GET', `${base}/metadata`, { token: k.a.member })).body, { metadata: { a: '9' } });
    assert.equal((await k.nova('GET', `${base}/tags`, { token: k.a.member })).status, 404, 'tags need 2.26');
    assert.equal((await k.nova('PUT', `${base}/tags/blue`, { token: k.a.member, version: '2.26' })).status, 201);
    assert.equal((await k.nova('PUT', `${base}/tags/blue`, { token: k.a.member, version: '2.26' })).status, 204);
    assert.equal((await k.nova('GET', `${base}/tags/blue`, { token: k.a.member, version: '2.26' })).status, 204);
    assert.deepEqual((await k.nova('PUT', `${base}/tags`, { token: k.a.member, version: '2.26', body: { tags: ['z', 'y'] } })).body, { tags: ['y', 'z'] });
    assert.equal((await k.nova('GET', `/v2.1/servers?tags=y,z`, { token: k.a.member, version: '2.26' })).body.servers.length, 1);
    assert.equal((await k.nova('DELETE', `${base}/tags`, { token: k.a.member, version: '2.26' })).status, 204);
    assert.deepEqual((await k.nova('GET', `${base}/tags`, { token: k.a.member, version: '2.26' })).body, { tags: [] });
  });

  it('creates several servers at once with one reservation id', async () => {
    const r = await k.nova('POST', '/v2.1/servers', { token: k.b.member, body: { server: { name: 'multi', imageRef: k.imageId, flavorRef: '1', min_count: 2, max_count: 2, return_reservation_id: true } } });
    assert.equal(r.status, 202);
    assert.match(r.body.reservation_id, /^r-/);
    const list = await k.nova('GET', `/v2.1/servers/detail?reservation_id=${r.body.reservation_id}`, { token: k.b.member });
    assert.deepEqual(list.body.servers.map((s: any) => s.name).sort(), ['multi-1', 'multi-2']);
  });
});

describe('compute: server views by microversion', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  it('answers update and rebuild with the short form before 2.75 and the full one after', async () => {
    const s = await k.boot(k.a.member, { name: 'views' });
    const upd = await k.nova('PUT', `/v2.1/servers/${s.id}`, { token: k.a.member, body: { server: { name: 'views-2', accessIPv6: '0000:0000:0000:0000:0000:babe:220.12.22.2' } } });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.server.name, 'views-2');
    assert.equal(upd.body.server.accessIPv6, '::babe:dc0c:1602', 'IPv6 kept in canonical form');
    assert.equal(upd.body.server['OS-EXT-STS:vm_state'], undefined);
    assert.equal(upd.body.server.key_name, undefined);
    assert.deepEqual(Object.keys(upd.body.server.addresses.private[0]).sort(), ['addr', 'version']);
    const full = await k.nova('PUT', `/v2.1/servers/${s.id}`, { token: k.a.member, version: '2.75', body: { server: { name: 'views-3' } } });
    assert.equal(full.body.server['OS-EXT-STS:vm_state'], 'active');
    assert.deepEqual(full.body.server.server_groups, []);
    const shown = await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member, version: '2.16' });
    assert.equal(shown.body.server.host_status, undefined, 'host_status is for admins');
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}`, { version: '2.16' })).body.server.host_status, 'UP');
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member })).headers.get('x-compute-request-id')?.startsWith('req-'), true);
  });
});

describe('compute: shelve (offload at once, as Nova\'s default shelved_offload_time 0)', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  it('shelves into an image and frees the host; unshelve builds it again and drops the image', async () => {
    const s = await k.boot(k.a.member, { name: 'shelf' });
    const act = (body: unknown) => k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body });
    assert.equal((await act({ shelve: null })).status, 202);
    const off = await k.waitFor(k.a.member, s.id, 'SHELVED_OFFLOADED');
    assert.equal(off['OS-EXT-STS:power_state'], 4);
    const admin = (await k.nova('GET', `/v2.1/servers/${s.id}`)).body.server;
    assert.equal(admin['OS-EXT-SRV-ATTR:host'], null, 'no host while offloaded');
    const images = await k.c.request('GET', '/v2/images?name=shelf-shelved', { token: k.a.member, service: 'image' });
    assert.equal(images.body.images.length, 1);
    assert.equal(images.body.images[0].status, 'active');
    const hyp = (await k.nova('GET', '/v2.1/os-hypervisors/statistics')).body.hypervisor_statistics;
    assert.equal((await act({ unshelve: null })).status, 202);
    const back = await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal(back['OS-EXT-STS:power_state'], 1);
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}`)).body.server['OS-EXT-SRV-ATTR:host'], 'compute1');
    assert.equal((await k.nova('GET', '/v2.1/os-hypervisors/statistics')).body.hypervisor_statistics.running_vms, hyp.running_vms + 1);
    const gone = await k.c.request('GET', '/v2/images?name=shelf-shelved', { token: k.a.member, service: 'image' });
    assert.equal(gone.body.images.length, 0, 'the shelved image is deleted after unshelve');
    const actions = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member })).body.instanceActions.map((x: any) => x.action);
    assert.ok(actions.includes('shelve') && actions.includes('unshelve'));
  });
});

describe('compute: rescue', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  it('rescues and unrescues, with the states Nova allows', async () => {
    const s = await k.boot(k.a.member, { name: 'rescue-me' });
    const act = (body: unknown) => k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body });
    assert.equal((await act({ unrescue: null })).status, 409, 'not rescued');
    const r = await act({ rescue: { adminPass: 'secret-pw' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.adminPass, 'secret-pw');
    await k.waitFor(k.a.member, s.id, 'RESCUE');
    assert.equal((await act({ rescue: null })).status, 409, 'already rescued');
    assert.equal((await act({ unrescue: null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal((await act({ pause: null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'PAUSED');
    assert.equal((await act({ rescue: null })).status, 409, 'a paused server cannot be rescued');
    assert.equal((await act({ rescue: { rescue_image_ref: '00000000-0000-0000-0000-000000000000' } })).status, 400);
  });
});

describe('compute: boot from a block device mapping of an image; crash dump', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });

  it('boots an image given as block_device_mapping_v2 (source image, destination local) and refuses volumes', async () => {
    const bdm = [{ source_type: 'image', destination_type: 'local', boot_index: 0, uuid: k.imageId, delete_on_termination: true }];
    const r = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'bdm', flavorRef: '1', block_device_mapping_v2: bdm } } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const s = await k.waitFor(k.a.member, r.body.server.id, 'ACTIVE');
    assert.equal(s.image.id, k.imageId);
    const vol = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'bfv', flavorRef: '1', block_device_mapping_v2: [{ source_type: 'image', destination_type: 'volume', boot_index: 0, uuid: k.imageId, volume_size: 1 }] } } });
    assert.equal(vol.status, 400);
    assert.match(vol.body.badRequest.message, /no block storage/);
  });

  it('triggers a crash dump (an NMI) from 2.17 on', async () => {
    const s = await k.boot(k.a.member, { name: 'nmi' });
    const act = (version?: string) => k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { trigger_crash_dump: null }, version });
    assert.equal((await act()).status, 400);
    assert.equal((await act('2.17')).status, 202);
    for (let i = 0; i < 100; i++) {
      const out = await k.nova('POST', `/v2.1/servers/${s.id}/action`, { token: k.a.member, body: { 'os-getConsoleOutput': {} } });
      if (/NMI received/.test(out.body.output)) return;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.fail('the guest did not get the NMI');
  });
});

describe('compute: disk config, rebuild passwords, resize quota, backups, console log, list scoping', () => {
  let k: ComputeCloud;
  before(async () => { k = await startComputeCloud(); });
  after(async () => { await k?.stop(); });
  const act = (id: string, body: unknown, token?: string, version?: string) => k.nova('POST', `/v2.1/servers/${id}/action`, { token: token ?? k.a.member, body, version });
  const imagesOf = async (serverId: string, type: string) => (await k.c.request('GET', `/v2/images?image_type=backup&backup_type=${type}&instance_uuid=${serverId}&sort_key=created_at&sort_dir=asc`, { token: k.a.member, service: 'image' })).body.images as any[];
  const waitImage = async (id: string, status: string) => {
    for (let i = 0; i < 250; i++) {
      const r = await k.c.request('GET', `/v2/images/${id}`, { token: k.a.member, service: 'image' });
      if (status === 'gone' ? r.status === 404 : r.body.status === status) return;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.fail(`image ${id} not ${status}`);
  };

  it('keeps OS-DCF:diskConfig from create, update, rebuild and resize; anything but AUTO/MANUAL is a 400', async () => {
    const s = await k.boot(k.a.member, { name: 'dcf', 'OS-DCF:diskConfig': 'AUTO' });
    assert.equal(s['OS-DCF:diskConfig'], 'AUTO');
    const plain = await k.boot(k.a.member, { name: 'dcf-default' });
    assert.equal(plain['OS-DCF:diskConfig'], 'MANUAL');
    const bad = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'x', imageRef: k.imageId, flavorRef: '1', 'OS-DCF:diskConfig': 'SIDEWAYS' } } });
    assert.equal(bad.status, 400);
    const up = await k.nova('PUT', `/v2.1/servers/${s.id}`, { token: k.a.member, body: { server: { 'OS-DCF:diskConfig': 'MANUAL' } } });
    assert.equal(up.status, 200);
    assert.equal(up.body.server['OS-DCF:diskConfig'], 'MANUAL');
    assert.equal((await k.nova('PUT', `/v2.1/servers/${s.id}`, { token: k.a.member, body: { server: { 'OS-DCF:diskConfig': 'auto' } } })).status, 400);
    const rb = await act(s.id, { rebuild: { imageRef: k.imageId, 'OS-DCF:diskConfig': 'AUTO' } });
    assert.equal(rb.status, 202);
    assert.equal(rb.body.server['OS-DCF:diskConfig'], 'AUTO');
    assert.equal((await k.waitFor(k.a.member, s.id, 'ACTIVE'))['OS-DCF:diskConfig'], 'AUTO');
    assert.equal((await act(s.id, { resize: { flavorRef: '2', 'OS-DCF:diskConfig': 'BAD' } })).status, 400);
    assert.equal((await act(s.id, { resize: { flavorRef: '2', 'OS-DCF:diskConfig': 'MANUAL' } })).status, 202);
    assert.equal((await k.waitFor(k.a.member, s.id, 'VERIFY_RESIZE'))['OS-DCF:diskConfig'], 'MANUAL');
  });

  it('answers rebuild with an adminPass (a generated one when none is given), also from SHUTOFF', async () => {
    const s = await k.boot(k.a.member, { name: 'pw' });
    const rb = await act(s.id, { rebuild: { imageRef: k.imageId } });
    assert.equal(rb.status, 202);
    assert.equal(typeof rb.body.server.adminPass, 'string');
    assert.ok(rb.body.server.adminPass.length >= 8);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    assert.equal((await act(s.id, { 'os-stop': null })).status, 202);
    await k.waitFor(k.a.member, s.id, 'SHUTOFF');
    const given = await act(s.id, { rebuild: { imageRef: k.imageId, adminPass: 'chosen-pass' } });
    assert.equal(given.body.server.adminPass, 'chosen-pass');
    await k.waitFor(k.a.member, s.id, 'SHUTOFF');
  });

  it('refuses a resize whose growth passes the cores or RAM quota with 403', async () => {
    const s = await k.boot(k.b.member, { name: 'grow' });
    const flavor = async (name: string, vcpus: number, ram: number) => {
      const r = await k.nova('POST', '/v2.1/flavors', { body: { flavor: { name, vcpus, ram, disk: 1 } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.flavor.id as string;
    };
    assert.equal((await k.nova('PUT', `/v2.1/os-quota-sets/${k.b.id}`, { body: { quota_set: { cores: 4, ram: 4096 } } })).status, 200);
    const cores = await act(s.id, { resize: { flavorRef: await flavor('too-many-cores', 5, 512) } }, k.b.member);
    assert.equal(cores.status, 403, JSON.stringify(cores.body));
    assert.match(cores.body.forbidden.message, /Quota exceeded for cores/);
    const ram = await act(s.id, { resize: { flavorRef: await flavor('too-much-ram', 1, 4097) } }, k.b.member);
    assert.equal(ram.status, 403);
    assert.match(ram.body.forbidden.message, /Quota exceeded for ram/);
    assert.equal((await k.waitFor(k.b.member, s.id, 'ACTIVE')).flavor.id, '1', 'the server is untouched');
    const fits = await act(s.id, { resize: { flavorRef: await flavor('fits', 2, 1024) } }, k.b.member);
    assert.equal(fits.status, 202, JSON.stringify(fits.body));
    await k.waitFor(k.b.member, s.id, 'VERIFY_RESIZE');
    assert.equal((await k.nova('DELETE', `/v2.1/os-quota-sets/${k.b.id}`)).status, 202);
  });

  it('hides security_groups once a server has none left', async () => {
    const s = await k.boot(k.a.member, { name: 'nosg' });
    assert.deepEqual(s.security_groups, [{ name: 'default' }]);
    assert.equal((await act(s.id, { removeSecurityGroup: { name: 'default' } })).status, 202);
    const shown = (await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member })).body.server;
    assert.ok(!('security_groups' in shown));
  });

  it('validates createImage metadata and refuses a second snapshot while the first is being taken', async () => {
    const s = await k.boot(k.a.member, { name: 'snap2' });
    for (const metadata of [{ '': '' }, { ['a'.repeat(256)]: 'b' }, { k: 'v'.repeat(256) }, { k: 1 }, { 'bad/key': 'v' }, 'nope']) {
      const r = await act(s.id, { createImage: { name: 'bad-meta', metadata } });
      assert.equal(r.status, 400, JSON.stringify(metadata));
    }
    const first = await act(s.id, { createImage: { name: 'first' } }, undefined, '2.45');
    assert.equal(first.status, 202);
    const busy = await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member });
    assert.match(String(busy.body.server['OS-EXT-STS:task_state']), /^image_/);
    const second = await act(s.id, { createImage: { name: 'second' } }, undefined, '2.45');
    assert.equal(second.status, 409);
    await waitImage(first.body.image_id, 'active');
    const names = (await k.c.request('GET', `/v2/images?instance_uuid=${s.id}`, { token: k.a.member, service: 'image' })).body.images.map((i: any) => i.name);
    assert.deepEqual(names, ['first'], 'the refused snapshot leaves no image behind');
  });

  it('creates backups and rotates out the oldest beyond `rotation` (0 deletes them all)', async () => {
    const s = await k.boot(k.a.member, { name: 'bk' });
    const backup = async (name: string, rotation: number, version?: string) => {
      const r = await act(s.id, { createBackup: { name, backup_type: 'daily', rotation } }, undefined, version);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const id = version ? r.body.image_id : String(r.headers.get('location')).split('/').pop()!;
      assert.ok(id);
      await k.waitFor(k.a.member, s.id, 'ACTIVE');
      return id;
    };
    assert.equal((await act(s.id, { createBackup: { name: 'x', backup_type: 'daily' } })).status, 400, 'rotation is required');
    assert.equal((await act(s.id, { createBackup: { name: 'x', backup_type: 'daily', rotation: -1 } })).status, 400);
    const b1 = await backup('b1', 2);
    await waitImage(b1, 'active');
    const b2 = await backup('b2', 2, '2.45');
    await waitImage(b2, 'active');
    const listed = await imagesOf(s.id, 'daily');
    assert.deepEqual(listed.map((i) => [i.name, i.image_type, i.backup_type]), [['b1', 'backup', 'daily'], ['b2', 'backup', 'daily']]);
    const b3 = await backup('b3', 2);
    await waitImage(b1, 'gone');
    await waitImage(b3, 'active');
    assert.deepEqual((await imagesOf(s.id, 'daily')).map((i) => i.name), ['b2', 'b3']);
    await backup('b4', 0);
    let left: any[] = [];
    for (let i = 0; i < 250; i++) {
      left = await imagesOf(s.id, 'daily');
      if (!left.length) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.deepEqual(left.map((i) => i.name), [], 'rotation 0 deletes every backup, the new one too');
    const actions = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member })).body.instanceActions.map((x: any) => x.action);
    assert.ok(actions.includes('createBackup'));
  });

  it('shows a boot log on the console, tailed as Nova does (length N gives N lines when split)', async () => {
    const s = await k.boot(k.a.member, { name: 'console' });
    const full = (await act(s.id, { 'os-getConsoleOutput': {} })).body.output as string;
    assert.ok(full.split('\n').length > 30, `only ${full.split('\n').length} lines`);
    const three = await act(s.id, { 'os-getConsoleOutput': { length: 3 } });
    assert.equal(three.status, 200);
    assert.equal(three.body.output.split('\n').length, 3);
    assert.equal((await act(s.id, { 'os-getConsoleOutput': { length: 0 } })).body.output, '');
    assert.equal((await act(s.id, { reboot: { type: 'HARD' } })).status, 202);
    await k.waitFor(k.a.member, s.id, 'ACTIVE');
    const after = (await act(s.id, { 'os-getConsoleOutput': { length: -1 } })).body.output as string;
    assert.ok(after.split('\n').length > full.split('\n').length, 'a reboot appends another boot log');
  });

  it('lists only the admin\'s own project unless all_tenants is given, then tenant_id narrows it', async () => {
    const s = await k.boot(k.b.member, { name: 'scoped' });
    const names = async (q: string) => (await k.nova('GET', `/v2.1/servers/detail${q}`)).body.servers.map((x: any) => x.id);
    assert.ok(!(await names(`?tenant_id=${k.b.id}`)).includes(s.id), 'tenant_id alone is ignored');
    assert.ok(!(await names(`?project_id=${k.b.id}`)).includes(s.id), 'project_id alone is ignored');
    assert.ok((await names(`?all_tenants=&tenant_id=${k.b.id}`)).includes(s.id));
    assert.ok((await names(`?all_tenants=1&project_id=${k.b.id}`)).includes(s.id));
    assert.ok(!(await names(`?all_tenants=1&tenant_id=${k.a.id}`)).includes(s.id));
  });
});
