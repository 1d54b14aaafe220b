import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { LARGE_ENABLED, LARGE_SKIP, sha256File, writeGeneratedFile } from '../../helpers/large.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;

/**
 * The S3 API with the AWS SDK for JavaScript v3 (@aws-sdk/client-s3, path-style), and 1 GiB
 * multipart round trips with the SDK's managed upload and with awscli (large: CI or NUBO_TEST_LARGE).
 */
describe('object storage (S3 API) with @aws-sdk/client-s3 and 1 GiB multipart', () => {
  let c: TestCloud;
  let dir: string;
  let s3: S3Client;
  let env: NodeJS.ProcessEnv;
  let endpoint: string;

  before(async () => {
    c = await startTestCloud({ services: ['identity', 'object'] });
    dir = mkdtempSync(join(tmpdir(), 'nubo-s3sdk-'));
    endpoint = c.url('object');
    const t = await c.request('POST', '/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: c.cloud.admin.password } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } },
    });
    const token = t.headers.get('x-subject-token')!;
    const cr = await c.request('POST', `/v3/users/${t.body.token.user.id}/credentials/OS-EC2`, { token, body: { tenant_id: t.body.token.project.id } });
    assert.equal(cr.status, 201);
    const { access, secret } = cr.body.credential;
    s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: access, secretAccessKey: secret } });
    env = {
      PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: access, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(dir, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true',
    };
    // 64 MiB parts: 16 parts per GiB
    writeFileSync(join(dir, 'aws-config'), '[default]\ns3 =\n  signature_version = s3v4\n  multipart_chunksize = 64MB\n');
  });
  after(async () => {
    s3?.destroy();
    await c?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates a bucket, puts, heads, lists, gets and deletes objects', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'sdk' }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'dir/hello.txt', Body: 'hello from the sdk', ContentType: 'text/plain', Metadata: { color: 'blue' } }));
    assert.equal(put.ETag, `"${createHash('md5').update('hello from the sdk').digest('hex')}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sdk', Key: 'dir/hello.txt' }));
    assert.equal(head.ContentLength, 18);
    assert.equal(head.ContentType, 'text/plain');
    assert.equal(head.Metadata?.color, 'blue');
    await s3.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'dir/two.txt', Body: Buffer.alloc(1000, 7) }));
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'sdk', Prefix: 'dir/', MaxKeys: 1 }));
    assert.equal(list.KeyCount, 1);
    assert.equal(list.IsTruncated, true);
    const rest = await s3.send(new ListObjectsV2Command({ Bucket: 'sdk', Prefix: 'dir/', ContinuationToken: list.NextContinuationToken }));
    assert.deepEqual([...(list.Contents ?? []), ...(rest.Contents ?? [])].map((o) => o.Key), ['dir/hello.txt', 'dir/two.txt']);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'dir/hello.txt' }));
    assert.equal(await got.Body!.transformToString(), 'hello from the sdk');
    const range = await s3.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'dir/two.txt', Range: 'bytes=10-19' }));
    assert.equal((await range.Body!.transformToByteArray()).length, 10);
    await s3.send(new DeleteObjectCommand({ Bucket: 'sdk', Key: 'dir/hello.txt' }));
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'sdk', Key: 'dir/hello.txt' })), (e: Error & { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 404);
  });

  it('1 GiB: the SDK\'s managed multipart upload and a streamed download give back the same bytes', { timeout: 300_000, skip: LARGE_SKIP }, async (t) => {
    const src = join(dir, 'sdk-1g.raw');
    const back = join(dir, 'sdk-1g.back');
    await writeGeneratedFile(src, GiB);
    const t0 = Date.now();
    const up = new Upload({ client: s3, params: { Bucket: 'sdk', Key: 'big/one.raw', Body: createReadStream(src) }, partSize: 64 * 1024 * 1024, queueSize: 4 });
    const done = await up.done();
    const t1 = Date.now();
    assert.match(String(done.ETag), /-16"?$/, 'one object of 16 parts');
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'big/one.raw' }));
    assert.equal(got.ContentLength, GiB);
    await pipeline(got.Body as Readable, createWriteStream(back));
    const t2 = Date.now();
    assert.equal(statSync(back).size, GiB);
    assert.equal(await sha256File(back), await sha256File(src));
    t.diagnostic(`1 GiB via @aws-sdk (64 MiB parts): upload ${((t1 - t0) / 1000).toFixed(1)} s, download ${((t2 - t1) / 1000).toFixed(1)} s`);
    rmSync(back, { force: true });
    // and awscli: `aws s3 cp` up (multipart, 64 MiB parts) and down
    const t3 = Date.now();
    await run('aws', ['--endpoint-url', endpoint, 's3', 'cp', src, 's3://sdk/big/cli.raw'], { env, maxBuffer: 1 << 20 });
    const t4 = Date.now();
    await run('aws', ['--endpoint-url', endpoint, 's3', 'cp', 's3://sdk/big/cli.raw', back], { env, maxBuffer: 1 << 20 });
    const t5 = Date.now();
    assert.equal(await sha256File(back), await sha256File(src));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sdk', Key: 'big/cli.raw' }));
    assert.match(String(head.ETag), /-16"?$/);
    t.diagnostic(`1 GiB via awscli (64 MiB parts): upload ${((t4 - t3) / 1000).toFixed(1)} s, download ${((t5 - t4) / 1000).toFixed(1)} s`);
  });
});
