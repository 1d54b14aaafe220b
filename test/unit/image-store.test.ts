import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileStore } from '../../src/image/drivers/file-store.js';
import { FakeStore } from '../../src/image/drivers/fake-store.js';
import { StoreNotFoundError, type ImageStore } from '../../src/image/drivers/image-store.js';

const text = async (r: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
};

/** A stream that yields some chunks and then fails, as a client hanging up mid-upload. */
function breaking(): Readable {
  let n = 0;
  return new Readable({
    read() {
      if (n++ < 3) this.push(Buffer.alloc(1000, 65));
      else this.destroy(new Error('connection reset'));
    },
  });
}

const dir = mkdtempSync(join(tmpdir(), 'nubo-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One contract, run against every ImageStore implementation. */
for (const [name, make] of [
  ['file', () => new FileStore('file', join(dir, 'store'))],
  ['fake', () => new FakeStore('fake')],
] as [string, () => ImageStore][]) {
  describe(`image store contract: ${name}`, () => {
    const store = make();

    it('puts, stats, reads whole and by range, lists and deletes', async () => {
      assert.deepEqual(await store.put('a', Readable.from([Buffer.from('hello '), Buffer.from('world')])), { size: 11 });
      assert.deepEqual(await store.stat('a'), { size: 11 });
      assert.equal(await text(await store.get('a')), 'hello world');
      assert.equal(await text(await store.get('a', { start: 6, end: 10 })), 'world');
      assert.deepEqual(await store.list(), ['a']);
      assert.match(store.url('a'), /a$/);
      assert.equal(await store.delete('a'), true);
      assert.equal(await store.delete('a'), false);
      assert.equal(await store.stat('a'), undefined);
      await assert.rejects(store.get('a'), StoreNotFoundError);
    });

    it('replaces an object atomically and leaves nothing from a failed write', async () => {
      await store.put('b', Readable.from([Buffer.from('first')]));
      await assert.rejects(store.put('b', breaking()), /connection reset/);
      assert.equal(await text(await store.get('b')), 'first');
      await assert.rejects(store.put('c', breaking()), /connection reset/);
      assert.equal(await store.stat('c'), undefined);
      assert.deepEqual(await store.list(), ['b']);
      assert.equal(await store.cleanup(), 0);
    });

    it('refuses keys that are not plain file names', async () => {
      for (const key of ['../x', 'a/b', '.hidden', '']) await assert.rejects(store.put(key, Readable.from([Buffer.from('x')])));
    });
  });
}

describe('file store: crash leftovers', () => {
  it('cleanup() removes temporary files an interrupted process left', async () => {
    const root = join(dir, 'leftovers');
    const store = new FileStore('file', root);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(root, '.tmp', 'x.123'), 'partial');
    assert.equal(await store.cleanup(), 1);
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    assert.deepEqual(await store.list(), []);
  });
});
