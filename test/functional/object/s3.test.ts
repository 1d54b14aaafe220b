import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';

const run = promisify(execFile);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

/** A minimal SigV4 signer for raw requests (to check error answers byte for byte). */
async function signedFetch(endpoint: string, method: string, path: string, access: string, secret: string, body = '', chunks?: Buffer[], badChunk = false): Promise<{ status: number; text: string }> {
  const url = new URL(path, endpoint);
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const date = amzDate.slice(0, 8);
  const payload = chunks ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' : sha256(body);
  const headers: Record<string, string> = { host: url.host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate };
  if (chunks) {
    headers['content-encoding'] = 'aws-chunked';
    headers['x-amz-decoded-content-length'] = String(chunks.reduce((n, c) => n + c.length, 0));
  }
  const signed = Object.keys(headers).sort();
  const canonical = [method, url.pathname, '', signed.map((h) => `${h}:${headers[h]}\n`).join(''), signed.join(';'), payload].join('\n');
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  for (const p of ['us-east-1', 's3', 'aws4_request']) key = createHmac('sha256', key).update(p).digest();
  const sig = createHmac('sha256', key).update(sts).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${access}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  let data: string | Buffer = body;
  if (chunks) {
    // aws-chunked: "<hex size>;chunk-signature=<sig>\r\n<data>\r\n" ... then a signed empty chunk
    let prev = sig;
    const parts: Buffer[] = [];
    for (const c of [...chunks, Buffer.alloc(0)]) {
      const csts = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, sha256(''), sha256(c)].join('\n');
      prev = createHmac('sha256', key).update(csts).digest('hex');
      const shown = badChunk && c.length ? prev.replace(/^./, (x) => (x === '0' ? '1' : '0')) : prev;
      parts.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${shown}\r\n`), c, Buffer.from('\r\n'));
    }
    data = Buffer.concat(parts);
  }
  const r = await fetch(url, { method, headers, body: data.length ? (data as BodyInit) : undefined });
  return { status: r.status, text: await r.text() };
}

describe('object storage (S3 API)', () => {
  let c: TestCloud;
  let dir: string;
  let endpoint: string;
  let token: string;
  let account: string;
  let access: string;
  let secret: string;
  let env: NodeJS.ProcessEnv;
  const aws = async (...args: string[]) => (await run('aws', ['--endpoint-url', endpoint, ...args], { env, maxBuffer: 64 * 1024 * 1024 })).stdout;
  const s3cmd = async (...args: string[]) => (await run('s3cmd', ['-c', join(dir, 's3cfg'), ...args], { env, maxBuffer: 64 * 1024 * 1024 })).stdout;
  const swift = async (method: string, path: string) => {
    const r = await fetch(`${endpoint}/v1/${account}${path}`, { method, headers: { 'x-auth-token': token } });
    return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
  };

  before(async () => {
    c = await startTestCloud({ services: ['identity', 'object'] });
    dir = mkdtempSync(join(tmpdir(), 'nubo-s3-'));
    endpoint = c.url('object');
    const t = await c.request('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: c.cloud.admin.password } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } },
    });
    token = t.headers.get('x-subject-token')!;
    const userId = t.body.token.user.id as string;
    const projectId = t.body.token.project.id as string;
    account = `AUTH_${projectId}`;
    const cr = await c.request('POST', `/v3/users/${userId}/credentials/OS-EC2`, { token, body: { tenant_id: projectId } });
    assert.equal(cr.status, 201);
    ({ access, secret } = cr.body.credential);
    env = {
      PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: access, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(dir, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true',
    };
    // SigV4 for presigned URLs too (awscli presigns with SigV2 unless told).
    writeFileSync(join(dir, 'aws-config'), '[default]\ns3 =\n  signature_version = s3v4\n');
    const host = new URL(endpoint).host;
    writeFileSync(join(dir, 's3cfg'), `[default]\naccess_key = ${access}\nsecret_key = ${secret}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n`);
  });
  after(async () => {
    await c?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('awscli: mb, cp (single and multipart), ls, rm, rb; Swift sees the same objects', async () => {
    await aws('s3', 'mb', 's3://alpha');
    assert.match(await aws('s3', 'ls'), /alpha/);
    const small = randomBytes(100_000);
    const big = randomBytes(10 * 1024 * 1024 + 12345); // above awscli's 8 MiB multipart threshold
    writeFileSync(join(dir, 'small.bin'), small);
    writeFileSync(join(dir, 'big.bin'), big);
    await aws('s3', 'cp', join(dir, 'small.bin'), 's3://alpha/dir/small.bin');
    await aws('s3', 'cp', join(dir, 'big.bin'), 's3://alpha/big.bin');
    await aws('s3', 'cp', 's3://alpha/dir/small.bin', join(dir, 'small.out'));
    await aws('s3', 'cp', 's3://alpha/big.bin', join(dir, 'big.out'));
    assert.ok(readFileSync(join(dir, 'small.out')).equals(small));
    assert.ok(readFileSync(join(dir, 'big.out')).equals(big));
    const ls = await aws('s3', 'ls', 's3://alpha/');
    assert.match(ls, /PRE dir\//);
    assert.match(ls, /big\.bin/);
    assert.match(await aws('s3', 'ls', '--recursive', 's3://alpha/'), /dir\/small\.bin/);
    // Swift reads what S3 wrote, whole.
    const sw = await swift('GET', '/alpha/big.bin');
    assert.equal(sw.status, 200);
    assert.ok(sw.bytes.equals(big));
    assert.match(sw.headers.get('etag')!, /^"?[0-9a-f]{32}-2"?$/);
    // S3 reads what Swift wrote; a Range read.
    const put = await fetch(`${endpoint}/v1/${account}/alpha/from-swift.txt`, { method: 'PUT', headers: { 'x-auth-token': token, 'x-object-meta-color': 'blue' }, body: 'hello from swift' });
    assert.equal(put.status, 201);
    const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'alpha', '--key', 'from-swift.txt'));
    assert.equal(head.ContentLength, 16);
    assert.deepEqual(head.Metadata, { color: 'blue' });
    await aws('s3api', 'get-object', '--bucket', 'alpha', '--key', 'from-swift.txt', '--range', 'bytes=6-9', join(dir, 'range.out'));
    assert.equal(readFileSync(join(dir, 'range.out'), 'utf8'), 'from');
    await aws('s3', 'rm', 's3://alpha/dir/small.bin');
    assert.equal((await swift('GET', '/alpha/dir/small.bin')).status, 404);
    await aws('s3', 'rm', '--recursive', 's3://alpha/');
    await aws('s3', 'rb', 's3://alpha');
    assert.equal((await swift('HEAD', '/alpha')).status, 404);
  });

  it('s3api: list-objects v1/v2 with prefix, delimiter, pagination; copy; delete-objects', async () => {
    await aws('s3api', 'create-bucket', '--bucket', 'beta');
    writeFileSync(join(dir, 'x.txt'), 'x');
    for (const k of ['a/1', 'a/2', 'b/1', 'c', 'd']) await aws('s3api', 'put-object', '--bucket', 'beta', '--key', k, '--body', join(dir, 'x.txt'));
    const v2 = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', 'beta', '--delimiter', '/'));
    assert.deepEqual(v2.Contents.map((o: { Key: string }) => o.Key), ['c', 'd']);
    assert.deepEqual(v2.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix), ['a/', 'b/']);
    const pre = JSON.parse(await aws('s3api', 'list-objects', '--bucket', 'beta', '--prefix', 'a/'));
    assert.deepEqual(pre.Contents.map((o: { Key: string }) => o.Key), ['a/1', 'a/2']);
    // page by page (max-keys 2): the CLI follows continuation tokens itself
    const paged = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', 'beta', '--page-size', '2'));
    assert.deepEqual(paged.Contents.map((o: { Key: string }) => o.Key), ['a/1', 'a/2', 'b/1', 'c', 'd']);
    const one = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', 'beta', '--max-items', '2', '--page-size', '2'));
    assert.equal(one.Contents.length, 2);
    assert.ok(one.NextToken);
    const v1paged = JSON.parse(await aws('s3api', 'list-objects', '--bucket', 'beta', '--page-size', '2', '--delimiter', '/'));
    assert.deepEqual(v1paged.Contents.map((o: { Key: string }) => o.Key), ['c', 'd']);
    assert.deepEqual(v1paged.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix), ['a/', 'b/']);
    const copy = JSON.parse(await aws('s3api', 'copy-object', '--bucket', 'beta', '--key', 'copied', '--copy-source', 'beta/c'));
    assert.equal(copy.CopyObjectResult.ETag, `"${md5(Buffer.from('x'))}"`);
    assert.equal((await swift('GET', '/beta/copied')).bytes.toString(), 'x');
    const del = JSON.parse(await aws('s3api', 'delete-objects', '--bucket', 'beta', '--delete', JSON.stringify({ Objects: ['a/1', 'a/2', 'b/1', 'c', 'd', 'copied'].map((Key) => ({ Key })) })));
    assert.equal(del.Deleted.length, 6);
    await aws('s3api', 'delete-bucket', '--bucket', 'beta');
  });

  it('s3api: a two-part multipart upload is one object ("md5-of-md5s-2"), also for Swift', async () => {
    await aws('s3api', 'create-bucket', '--bucket', 'gamma');
    const p1 = randomBytes(5 * 1024 * 1024);
    const p2 = randomBytes(5 * 1024 * 1024);
    writeFileSync(join(dir, 'p1'), p1);
    writeFileSync(join(dir, 'p2'), p2);
    const { UploadId } = JSON.parse(await aws('s3api', 'create-multipart-upload', '--bucket', 'gamma', '--key', 'mp/obj', '--content-type', 'text/x-test'));
    const e1 = JSON.parse(await aws('s3api', 'upload-part', '--bucket', 'gamma', '--key', 'mp/obj', '--upload-id', UploadId, '--part-number', '1', '--body', join(dir, 'p1'))).ETag;
    const e2 = JSON.parse(await aws('s3api', 'upload-part', '--bucket', 'gamma', '--key', 'mp/obj', '--upload-id', UploadId, '--part-number', '2', '--body', join(dir, 'p2'))).ETag;
    assert.equal(e1, `"${md5(p1)}"`);
    const parts = JSON.parse(await aws('s3api', 'list-parts', '--bucket', 'gamma', '--key', 'mp/obj', '--upload-id', UploadId));
    assert.deepEqual(parts.Parts.map((p: { PartNumber: number }) => p.PartNumber), [1, 2]);
    writeFileSync(join(dir, 'parts.json'), JSON.stringify({ Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] }));
    const done = JSON.parse(await aws('s3api', 'complete-multipart-upload', '--bucket', 'gamma', '--key', 'mp/obj', '--upload-id', UploadId, '--multipart-upload', `file://${join(dir, 'parts.json')}`));
    const expected = `${createHash('md5').update(Buffer.concat([Buffer.from(md5(p1), 'hex'), Buffer.from(md5(p2), 'hex')])).digest('hex')}-2`;
    assert.equal(done.ETag, `"${expected}"`);
    const sw = await swift('GET', '/gamma/mp/obj');
    assert.equal(sw.status, 200);
    assert.ok(sw.bytes.equals(Buffer.concat([p1, p2])));
    assert.equal(sw.headers.get('content-type'), 'text/x-test');
    // The parts are gone; an aborted upload leaves nothing either.
    assert.equal(JSON.parse((await swift('GET', '/gamma+segments?format=json')).bytes.toString()).length, 0);
    const { UploadId: other } = JSON.parse(await aws('s3api', 'create-multipart-upload', '--bucket', 'gamma', '--key', 'gone'));
    await aws('s3api', 'upload-part', '--bucket', 'gamma', '--key', 'gone', '--upload-id', other, '--part-number', '1', '--body', join(dir, 'p1'));
    await aws('s3api', 'abort-multipart-upload', '--bucket', 'gamma', '--key', 'gone', '--upload-id', other);
    assert.equal(JSON.parse((await swift('GET', '/gamma+segments?format=json')).bytes.toString()).length, 0);
    await assert.rejects(aws('s3api', 'list-parts', '--bucket', 'gamma', '--key', 'gone', '--upload-id', other), /NoSuchUpload/);
    // a presigned URL reads the object too
    const url = (await aws('s3', 'presign', 's3://gamma/mp/obj')).trim();
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.equal(md5(Buffer.from(await r.arrayBuffer())), md5(Buffer.concat([p1, p2])));
  });

  it('s3cmd: mb, put, get, ls, del', async () => {
    await s3cmd('mb', 's3://delta');
    const data = randomBytes(300_000);
    writeFileSync(join(dir, 'cmd.bin'), data);
    await s3cmd('put', join(dir, 'cmd.bin'), 's3://delta/some/cmd.bin');
    await s3cmd('get', '--force', 's3://delta/some/cmd.bin', join(dir, 'cmd.out'));
    assert.ok(readFileSync(join(dir, 'cmd.out')).equals(data));
    assert.match(await s3cmd('ls', 's3://delta/some/'), /s3:\/\/delta\/some\/cmd\.bin/);
    assert.match(await s3cmd('ls'), /s3:\/\/delta/);
    assert.ok((await swift('GET', '/delta/some/cmd.bin')).bytes.equals(data));
    await s3cmd('del', 's3://delta/some/cmd.bin');
    await s3cmd('rb', 's3://delta');
  });

  it('answers S3 XML errors: SignatureDoesNotMatch, InvalidAccessKeyId, NoSuchBucket, NoSuchKey', async () => {
    const bad = await signedFetch(endpoint, 'GET', '/', access, `${secret}x`);
    assert.equal(bad.status, 403);
    assert.match(bad.text, /<Error><Code>SignatureDoesNotMatch<\/Code><Message>[^<]+<\/Message><RequestId>[0-9A-F]+<\/RequestId><\/Error>/);
    const unknown = await signedFetch(endpoint, 'GET', '/', 'nosuchkey', secret);
    assert.equal(unknown.status, 403);
    assert.match(unknown.text, /<Code>InvalidAccessKeyId<\/Code>/);
    const missing = await signedFetch(endpoint, 'GET', '/no-such-bucket', access, secret);
    assert.equal(missing.status, 404);
    assert.match(missing.text, /<Code>NoSuchBucket<\/Code>/);
    await aws('s3', 'mb', 's3://epsilon');
    const nokey = await signedFetch(endpoint, 'GET', '/epsilon/nothing', access, secret);
    assert.equal(nokey.status, 404);
    assert.match(nokey.text, /<Code>NoSuchKey<\/Code>/);
    const ok = await signedFetch(endpoint, 'GET', '/', access, secret);
    assert.equal(ok.status, 200);
    assert.match(ok.text, /<Name>epsilon<\/Name>/);
    await assert.rejects(aws('s3api', 'head-bucket', '--bucket', 'nonexistent'), /404/);
    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD (aws-chunked, signed chunk by chunk)
    const chunks = [randomBytes(65536), randomBytes(65536), randomBytes(1000)];
    const up = await signedFetch(endpoint, 'PUT', '/epsilon/chunked', access, secret, '', chunks);
    assert.equal(up.status, 200, up.text);
    assert.ok((await swift('GET', '/epsilon/chunked')).bytes.equals(Buffer.concat(chunks)));
    const forged = await signedFetch(endpoint, 'PUT', '/epsilon/forged', access, secret, '', chunks, true);
    assert.equal(forged.status, 403);
    assert.match(forged.text, /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.equal((await swift('HEAD', '/epsilon/forged')).status, 404);
    // Unsigned requests still go to Swift.
    const plain = await fetch(`${endpoint}/epsilon/nothing`);
    assert.equal(plain.status, 404);
    assert.doesNotMatch(await plain.text(), /<Error>/);
  });
});
