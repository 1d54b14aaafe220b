import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startComputeCloud, type ComputeCloud } from '../../helpers/compute.js';

/** Volume attachments through compute (fake compute and volume drivers). */
describe('volume: attach and detach through compute (os-volume_attachments)', () => {
  let k: ComputeCloud;
  const cinder = (method: string, path: string, body?: unknown) => k.c.request(method, `/v3/${k.a.id}${path}`, { token: k.a.member, body, service: 'volume' });
  const newVolume = async () => {
    const r = await cinder('POST', '/volumes', { volume: { size: 1 } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    for (let i = 0; i < 100; i++) {
      if ((await cinder('GET', `/volumes/${r.body.volume.id}`)).body.volume.status === 'available') return r.body.volume.id as string;
      await new Promise((res) => setTimeout(res, 20));
    }
    return assert.fail('volume never available');
  };
  /** What the fake driver says it did with the guest's disks (its console log). */
  const guestLog = async (serverId: string) =>
    (await k.nova('POST', `/v2.1/servers/${serverId}/action`, { token: k.a.member, body: { 'os-getConsoleOutput': {} } })).body.output as string;

  before(async () => { k = await startComputeCloud({}, { services: ['identity', 'placement', 'image', 'volume', 'compute'] }); });
  after(async () => { await k?.stop(); });

  it('attaches a volume (in-use, listed on both sides), refuses to delete it, and detaches it', async () => {
    const s = await k.boot(k.a.member);
    const vol = await newVolume();
    const r = await k.nova('POST', `/v2.1/servers/${s.id}/os-volume_attachments`, { token: k.a.member, body: { volumeAttachment: { volumeId: vol, tag: 'data' } }, version: '2.79' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.volumeAttachment, { id: vol, serverId: s.id, volumeId: vol, device: '/dev/vdb', tag: 'data', delete_on_termination: false });
    const v = (await cinder('GET', `/volumes/${vol}`)).body.volume;
    assert.equal(v.status, 'in-use');
    assert.equal(v.attachments[0].server_id, s.id);
    assert.equal(v.attachments[0].device, '/dev/vdb');
    assert.match(await guestLog(s.id), new RegExp(`volume ${vol} plugged`));
    const list = await k.nova('GET', `/v2.1/servers/${s.id}/os-volume_attachments`, { token: k.a.member, version: '2.89' });
    assert.equal(list.body.volumeAttachments[0].attachment_id, v.attachments[0].attachment_id);
    const server = await k.nova('GET', `/v2.1/servers/${s.id}`, { token: k.a.member, version: '2.3' });
    assert.deepEqual(server.body.server['os-extended-volumes:volumes_attached'], [{ id: vol, delete_on_termination: false }]);
    // Cinder refuses to delete an attached volume (400 Invalid volume), and it cannot be attached twice
    const del = await cinder('DELETE', `/volumes/${vol}`);
    assert.equal(del.status, 400);
    assert.match(del.body.badRequest.message, /Invalid volume/);
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/os-volume_attachments`, { token: k.a.member, body: { volumeAttachment: { volumeId: vol } } })).status, 400);
    // another project sees neither
    assert.equal((await k.nova('GET', `/v2.1/servers/${s.id}/os-volume_attachments`, { token: k.b.member })).status, 404);
    const d = await k.nova('DELETE', `/v2.1/servers/${s.id}/os-volume_attachments/${vol}`, { token: k.a.member });
    assert.equal(d.status, 202, JSON.stringify(d.body));
    assert.equal((await cinder('GET', `/volumes/${vol}`)).body.volume.status, 'available');
    assert.match(await guestLog(s.id), new RegExp(`volume ${vol} unplugged`));
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}/os-volume_attachments/${vol}`, { token: k.a.member })).status, 404);
    const actions = (await k.nova('GET', `/v2.1/servers/${s.id}/os-instance-actions`, { token: k.a.member })).body.instanceActions.map((a: any) => a.action);
    assert.ok(actions.includes('attach_volume') && actions.includes('detach_volume'));
  });

  it('an unknown volume is 404; deleting a server detaches its volumes and deletes delete_on_termination ones', async () => {
    const s = await k.boot(k.a.member);
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/os-volume_attachments`, { token: k.a.member, body: { volumeAttachment: { volumeId: '00000000-0000-0000-0000-000000000000' } } })).status, 404);
    const keep = await newVolume();
    const drop = await newVolume();
    assert.equal((await k.nova('POST', `/v2.1/servers/${s.id}/os-volume_attachments`, { token: k.a.member, body: { volumeAttachment: { volumeId: keep } } })).status, 200);
    const r = await k.nova('POST', `/v2.1/servers/${s.id}/os-volume_attachments`, { token: k.a.member, body: { volumeAttachment: { volumeId: drop, delete_on_termination: true } }, version: '2.79' });
    assert.equal(r.body.volumeAttachment.device, '/dev/vdc');
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member })).status, 204);
    await k.waitFor(k.a.member, s.id, 'DELETED');
    assert.equal((await cinder('GET', `/volumes/${keep}`)).body.volume.status, 'available');
    for (let i = 0; i < 100 && (await cinder('GET', `/volumes/${drop}`)).status !== 404; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal((await cinder('GET', `/volumes/${drop}`)).status, 404);
  });

  it('boots from a volume (block_device_mapping_v2), keeps its root volume attached, and checks the mappings', async () => {
    const vol = await newVolume();
    const bdm0 = [{ source_type: 'volume', destination_type: 'volume', uuid: vol, boot_index: 0 }];
    const notBootable = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'x', imageRef: '', flavorRef: '1', block_device_mapping_v2: bdm0 } } });
    assert.equal(notBootable.status, 400, 'an empty volume is not bootable');
    assert.equal((await cinder('POST', `/volumes/${vol}/action`, { 'os-set_bootable': { bootable: true } })).status, 200);
    const bdm = [{ source_type: 'volume', destination_type: 'volume', uuid: vol, boot_index: 0, delete_on_termination: true }];
    const s = await k.boot(k.a.member, { imageRef: '', block_device_mapping_v2: bdm });
    assert.equal(s.status, 'ACTIVE');
    assert.equal(s.image, '');
    const v = (await cinder('GET', `/volumes/${vol}`)).body.volume;
    assert.equal(v.status, 'in-use');
    assert.equal(v.attachments[0].device, '/dev/vda');
    const det = await k.nova('DELETE', `/v2.1/servers/${s.id}/os-volume_attachments/${vol}`, { token: k.a.member });
    assert.equal(det.status, 400, 'the root volume stays');
    const bad = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'x', imageRef: k.imageId, flavorRef: '1', block_device_mapping_v2: [
      { source_type: 'image', destination_type: 'local', uuid: k.imageId, boot_index: 0 }, { source_type: 'volume', uuid: vol, destination_type: 'invalid' }] } } });
    assert.equal(bad.status, 400);
    const inUse = await k.nova('POST', '/v2.1/servers', { token: k.a.member, body: { server: { name: 'x', imageRef: '', flavorRef: '1', block_device_mapping_v2: bdm } } });
    assert.equal(inUse.status, 400, 'an in-use volume cannot boot another server');
    assert.equal((await k.nova('DELETE', `/v2.1/servers/${s.id}`, { token: k.a.member })).status, 204);
    await k.waitFor(k.a.member, s.id, 'DELETED');
    for (let i = 0; i < 100 && (await cinder('GET', `/volumes/${vol}`)).status !== 404; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal((await cinder('GET', `/volumes/${vol}`)).status, 404, 'delete_on_termination');
  });

  it('proxies os-volumes and os-snapshots before 2.36 (Nova\'s deprecated proxies)', async () => {
    const made = await k.nova('POST', '/v2.1/os-volumes', { token: k.a.member, body: { volume: { size: 1, display_name: 'p' } } });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    assert.deepEqual(made.body.volume.attachments, [{}]);
    const id = made.body.volume.id;
    assert.equal((await k.nova('GET', `/v2.1/os-volumes/${id}`, { token: k.a.member })).body.volume.displayName, 'p');
    assert.equal((await k.nova('GET', `/v2.1/os-volumes/${id}`, { token: k.a.member, version: '2.36' })).status, 404);
    assert.equal((await k.nova('POST', '/v2.1/os-volumes', { token: k.a.member, body: { volume: { size: 0 } } })).status, 400);
    for (let i = 0; i < 100 && (await cinder('GET', `/volumes/${id}`)).body.volume.status !== 'available'; i++) await new Promise((res) => setTimeout(res, 20));
    const snap = await k.nova('POST', '/v2.1/os-snapshots', { token: k.a.member, body: { snapshot: { volume_id: id, display_name: 's' } } });
    assert.equal(snap.status, 200, JSON.stringify(snap.body));
    assert.equal((await k.nova('GET', '/v2.1/os-snapshots/detail', { token: k.a.member })).body.snapshots.length, 1);
    assert.equal((await k.nova('DELETE', `/v2.1/os-snapshots/${snap.body.snapshot.id}`, { token: k.a.member })).status, 202);
  });
});
