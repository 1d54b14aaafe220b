import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpError, glanceErrorFormat } from '../../src/core/errors.js';
import { parsePatch } from '../../src/image/service/patch.js';
import { parseRange } from '../../src/image/service/image-data.js';
import { virtualSize } from '../../src/image/service/digest.js';
import { splitInValues } from '../../src/image/api/list-query.js';
import { validateImage } from '../../src/image/service/image-schema.js';

const V21 = 'application/openstack-images-v2.1-json-patch';
const status = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as HttpError).status;
  }
  return 0;
};

describe('image: JSON patch decoding', () => {
  it('decodes both drafts and JSON pointers', () => {
    assert.deepEqual(parsePatch(V21, [{ op: 'add', path: '/a~1b~0c', value: 'x' }]), [{ op: 'add', path: ['a/b~c'], value: 'x', draft: 10 }]);
    assert.deepEqual(parsePatch('application/openstack-images-v2.0-json-patch; charset=utf-8', [{ remove: '/foo' }]), [{ op: 'remove', path: ['foo'], draft: 4 }]);
    assert.deepEqual(parsePatch(V21, [{ op: 'remove', path: '/locations/0' }])[0].path, ['locations', '0']);
  });
  it('answers 415, 400 and 403 as Glance', () => {
    assert.equal(status(() => parsePatch('application/json', [])), 415);
    assert.equal(status(() => parsePatch(V21, {})), 400);
    assert.equal(status(() => parsePatch(V21, [{ op: 'test', path: '/a', value: 1 }])), 400);
    assert.equal(status(() => parsePatch(V21, [{ op: 'add', path: '//a', value: 1 }])), 400);
    assert.equal(status(() => parsePatch(V21, [{ op: 'add', path: '/a/', value: 1 }])), 400);
    assert.equal(status(() => parsePatch('application/openstack-images-v2.0-json-patch', [{ add: '/a', remove: '/b' }])), 400);
    assert.equal(status(() => parsePatch(V21, [{ op: 'replace', path: '/id', value: 'x' }])), 403);
    assert.equal(status(() => parsePatch(V21, [{ op: 'replace', path: '/deleted', value: 'x' }])), 403);
    assert.equal(status(() => parsePatch(V21, [{ op: 'replace', path: '/visibility', value: 'everyone' }])), 400);
    assert.equal(status(() => parsePatch(V21, [{ op: 'replace', path: '/kernel_id', value: 'nope' }])), 400);
  });
});

describe('image: schema validation messages', () => {
  it('speaks jsonschema', () => {
    assert.equal(validateImage({ min_ram: '1' }), "Provided object does not match schema 'image': '1' is not of type 'integer'");
    assert.equal(validateImage({ protected: 'yes' }), "Provided object does not match schema 'image': 'yes' is not of type 'boolean'");
    assert.match(validateImage({ container_format: 'x' })!, /'x' is not one of \[None, 'ami'/);
    assert.equal(validateImage({ name: null, kernel_id: null, os_distro: 'x', tags: ['a'] }), undefined);
  });
});

describe('image: HTTP ranges', () => {
  it('parses first-last, open and suffix ranges against a size', () => {
    assert.deepEqual(parseRange('bytes=0-4', 10), { start: 0, end: 4 });
    assert.deepEqual(parseRange('bytes=5-', 10), { start: 5, end: 9 });
    assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
    assert.deepEqual(parseRange('bytes=8-100', 10), { start: 8, end: 9 });
    assert.equal(parseRange(undefined, 10), undefined);
    assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
    assert.equal(parseRange('bytes=5-2', 10), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,4-5', 10), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 10), 'unsatisfiable');
  });
});

describe('image: virtual size', () => {
  it('reads qcow2 headers, takes the size for raw, knows nothing else', () => {
    const h = Buffer.alloc(512);
    h.write('QFI\xfb', 0, 'latin1');
    h.writeBigUInt64BE(5n * 1024n ** 3n, 24);
    assert.equal(virtualSize('qcow2', h, 1000), 5 * 1024 ** 3);
    assert.equal(virtualSize('raw', h, 1000), 1000);
    assert.equal(virtualSize('qcow2', Buffer.from('not qcow'), 8), null);
    assert.equal(virtualSize('vmdk', h, 1000), null);
  });
});

describe('image: list filter values', () => {
  it('splits in: values with quotes as the API working group says', () => {
    assert.deepEqual(splitInValues('a,b,c'), ['a', 'b', 'c']);
    assert.deepEqual(splitInValues('"a,b",c'), ['a,b', 'c']);
    assert.equal(status(() => splitInValues('"a,b')), 400);
  });
});

describe('image: Glance error format', () => {
  const e = new HttpError(409, 'Conflict <here>');
  it('chooses JSON, HTML or text by Accept as WebOb does', () => {
    assert.deepEqual(glanceErrorFormat(e, { accept: 'application/json' }), { message: 'Conflict <here><br /><br />\n\n\n', code: '409 Conflict', title: 'Conflict' });
    const html = glanceErrorFormat(e, {}) as { contentType: string; text: string };
    assert.match(html.contentType, /text\/html/);
    assert.match(html.text, /Conflict &lt;here&gt;/);
    assert.match((glanceErrorFormat(e, { accept: '*/*' }) as { contentType: string }).contentType, /text\/html/);
    assert.match((glanceErrorFormat(e, { accept: 'text/plain' }) as { text: string }).text, /^409 Conflict\n\nConflict <here>/);
    assert.equal((glanceErrorFormat(e, { accept: 'text/html;q=0.5, application/json' }) as { code: string }).code, '409 Conflict');
  });
  it('keeps keystonemiddleware\'s JSON for 401', () => {
    assert.deepEqual(glanceErrorFormat(new HttpError(401, 'no'), { accept: 'text/html' }), { error: { code: 401, title: 'Unauthorized', message: 'no' } });
  });
});

describe('image: digests on worker threads', () => {
  it('give the same size, md5 and sha512 as hashing in place, for odd chunk sizes', async () => {
    const { DigestStream } = await import('../../src/image/service/digest.js');
    const { HashPool } = await import('../../src/image/service/hash-pool.js');
    const { createHash, randomBytes } = await import('node:crypto');
    const { Readable, Writable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    const chunks = () => {
      const out: Buffer[] = [];
      for (let off = 0, i = 1; off < data.length; i = (i * 7) % 100003) { out.push(data.subarray(off, off + i * 13)); off += i * 13; }
      return Readable.from(out);
    };
    const pool = new HashPool(['md5', 'sha512']);
    try {
      for (const p of [pool, undefined]) {
        const d = new DigestStream(Number.MAX_SAFE_INTEGER, p);
        await pipeline(chunks(), d, new Writable({ write(_c, _e, cb) { cb(); } }));
        const r = d.digest();
        assert.equal(r.size, data.length);
        assert.equal(r.checksum, createHash('md5').update(data).digest('hex'));
        assert.equal(r.os_hash_value, createHash('sha512').update(data).digest('hex'));
        assert.deepEqual(r.header, data.subarray(0, 512));
      }
      // two streams at once share the threads without mixing their data
      const [a, b] = [new DigestStream(Number.MAX_SAFE_INTEGER, pool), new DigestStream(Number.MAX_SAFE_INTEGER, pool)];
      const other = randomBytes(3 * 1024 * 1024);
      await Promise.all([
        pipeline(chunks(), a, new Writable({ write(_c, _e, cb) { cb(); } })),
        pipeline(Readable.from([other]), b, new Writable({ write(_c, _e, cb) { cb(); } })),
      ]);
      assert.equal(a.digest().checksum, createHash('md5').update(data).digest('hex'));
      assert.equal(b.digest().os_hash_value, createHash('sha512').update(other).digest('hex'));
    } finally {
      await pool.close();
    }
  });
});
