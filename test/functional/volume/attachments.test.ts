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
});
