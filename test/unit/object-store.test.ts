import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileObjectStore } from '../../src/object/drivers/file-store.js';
import { FakeObjectStore } from '../../src/object/drivers/fake-store.js';
import { BlobNotFoundError, type ObjectStore } from '../../src/object/drivers/object-store.js';
import { granted, parseAcl, referrerAllowed } from '../../src/object/api/acl.js';
import { listingFormat, listingTime } from '../../src/object/api/listing.js';
import { readTar } from '../../src/object/api/archive.js';

const text = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};

for (const [name, make] of [['file', () => new FileObjectStore(mkdtempSync(join(tmpdir(), 'nubo-os-')))], ['fake', () => new FakeObjectStore()]] as const) {
  describe(`object store driver: ${name}`, () => {
    it('writes, reads ranges, lists and deletes blobs', async () => {
      const s: ObjectStore = make();
      assert.deepEqual(await s.put('abcd1234', Readable.from([Buffer.from('hello '), Buffer.from('world')])), { size: 11 });
      assert.equal(await text(await s.get('abcd1234')), 'hello world');
      assert.equal(await text(await s.get('abcd1234', { start: 6, end: 10 })), 'world');
      assert.deepEqual(await s.stat('abcd1234'), { size: 11 });
      assert.deepEqual(await s.list(), ['abcd1234']);
      assert.equal(await s.delete('abcd1234'), true);
      assert.equal(await s.delete('abcd1234'), false);
      await assert.rejects(s.get('abcd1234'), BlobNotFoundError);
      await assert.rejects(s.put('../x', Readable.from([])));
    });

    it('writes small blobs of an announced size, and refuses more than announced', async () => {
      const s: ObjectStore = make();
      const keys = Array.from({ length: 20 }, (_, i) => `sm${String(i).padStart(4, '0')}`);
      // concurrent small writes (one batch for the file store's small-blob table)
      await Promise.all(keys.map((k, i) => s.put(k, Readable.from([Buffer.from(`blob ${i} `), Buffer.from('tail')]), { size: `blob ${i} tail`.length })));
      assert.equal(await text(await s.get('sm0007')), 'blob 7 tail');
      assert.equal(await text(await s.get('sm0007', { start: 5, end: 5 })), '7');
      assert.equal((await s.getBytes('sm0012', { start: 0, end: 6 })).toString(), 'blob 12');
      assert.deepEqual(await s.stat('sm0003'), { size: 11 });
      assert.deepEqual((await s.list()).sort(), keys);
      assert.equal(await s.delete('sm0003'), true);
      assert.equal(await s.stat('sm0003'), undefined);
      await assert.rejects(s.get('sm0003'), BlobNotFoundError);
      await s.close();
    });

    it('leaves nothing under the key when the stream fails', async () => {
      const s = make();
      const failing = new Readable({ read() { this.push(Buffer.from('partial')); this.destroy(new Error('client gone')); } });
      await assert.rejects(s.put('dead0001', failing));
      assert.equal(await s.stat('dead0001'), undefined);
      assert.deepEqual(await s.list(), []);
      await s.cleanup();
    });
  });
}

describe('file object store', () => {
  it('refuses a small blob longer than announced, and keeps nothing of it', async () => {
    const s = new FileObjectStore(mkdtempSync(join(tmpdir(), 'nubo-os-')));
    await assert.rejects(s.put('sm9999', Readable.from([Buffer.alloc(10)]), { size: 5 }), /more than the announced 5 bytes/);
    assert.equal(await s.stat('sm9999'), undefined);
    assert.deepEqual(await s.list(), []);
    await s.close();
  });

  it('cleanup removes what interrupted writes left in .tmp', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-os-'));
    const s = new FileObjectStore(dir);
    const never = new Readable({ read() { this.push(Buffer.alloc(1024)); } });
    const ac = new AbortController();
    const p = s.put('beef0001', never, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p);
    assert.equal(await s.cleanup(), 0, 'a failed write removes its own temporary file');
    assert.deepEqual(readdirSync(join(dir, '.tmp')), []);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('object API helpers', () => {
  const auth = { userId: 'u1', userName: 'alice', projectId: 'p1', projectName: 'proj', roles: [{ id: 'r', name: 'observer' }] } as never;
  it('parses ACLs the way Swift does', () => {
    const acl = parseAcl('.r:*,.rlistings, proj:alice ,p2:*');
    assert.deepEqual(acl, { referrers: ['*'], listings: true, grants: ['proj:alice', 'p2:*'] });
    assert.equal(granted(acl, auth), true);
    assert.equal(granted(parseAcl('p1:*'), auth), true);
    assert.equal(granted(parseAcl('*:u1'), auth), true);
    assert.equal(granted(parseAcl('p2:u1'), auth), false);
    assert.equal(granted(parseAcl('observer'), auth), true, 'role names grant as in keystoneauth');
    assert.equal(referrerAllowed(parseAcl('.r:.example.com'), 'http://www.example.com/x'), true);
    assert.equal(referrerAllowed(parseAcl('.r:*,.r:-bad.org'), 'http://bad.org/'), false);
    assert.equal(referrerAllowed(parseAcl('proj:alice'), undefined), false);
  });

  it('picks listing formats and times', () => {
    assert.equal(listingFormat(undefined, undefined), 'plain');
    assert.equal(listingFormat('json', 'application/xml'), 'json');
    assert.equal(listingFormat(undefined, 'application/xml'), 'xml');
    assert.equal(listingTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), '2024-01-02T03:04:05.678000');
  });

  it('reads tar archives (bulk upload)', () => {
    const header = (name: string, size: number, type = '0') => {
      const h = Buffer.alloc(512);
      h.write(name, 0);
      h.write(size.toString(8).padStart(11, '0'), 124);
      h.write(type, 156);
      h.write('ustar', 257);
      return h;
    };
    const body = Buffer.alloc(512);
    body.write('hi');
    const tar = Buffer.concat([header('c/', 0, '5'), header('c/o.txt', 2), body, Buffer.alloc(1024)]);
    assert.deepEqual(readTar(tar, 'tar').map((e) => [e.path, e.data.toString()]), [['c/o.txt', 'hi']]);
    assert.throws(() => readTar(tar, 'tar.bz2'));
  });
});
