import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import {
  generateSshKey, generateX509Key, keypairId, openSshPublicKey, parseSshPublicKey, sshFingerprint, validateKeypairName, x509Fingerprint,
} from '../../src/compute/service/keypairs.js';

const hasSshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** A fixed Ed25519 key (32 bytes 0x01..0x20) in OpenSSH form. */
const KNOWN = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1))]).toString('base64')} test@host`;

test('fingerprint is the MD5 of the decoded blob in colon hex', () => {
  const blob = Buffer.from(KNOWN.split(' ')[1], 'base64');
  const md5 = createHash('md5').update(blob).digest('hex');
  const fp = sshFingerprint(KNOWN);
  assert.equal(fp, md5.match(/../g)!.join(':'));
  assert.match(fp, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
});

test('fingerprint matches ssh-keygen -l -E md5', { skip: !hasSshKeygen }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-'));
  try {
    for (const alg of ['rsa', 'ed25519'] as const) {
      const k = generateSshKey(alg);
      writeFileSync(join(dir, `${alg}.pub`), `${k.publicKey}\n`);
      const out = execFileSync('ssh-keygen', ['-l', '-E', 'md5', '-f', join(dir, `${alg}.pub`)]).toString();
      assert.ok(out.includes(`MD5:${k.fingerprint}`), `${alg}: ${out} vs ${k.fingerprint}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generated keys: OpenSSH public format, private keys ssh-keygen -y accepts', { skip: !hasSshKeygen }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-'));
  try {
    for (const alg of ['rsa', 'ed25519'] as const) {
      const k = generateSshKey(alg);
      assert.match(k.publicKey, alg === 'rsa' ? /^ssh-rsa AAAA\S+ Generated-by-Nova$/ : /^ssh-ed25519 AAAA\S+ Generated-by-Nova$/);
      assert.match(k.privateKey, alg === 'rsa' ? /^-----BEGIN RSA PRIVATE KEY-----\n/ : /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      const file = join(dir, alg);
      writeFileSync(file, k.privateKey);
      chmodSync(file, 0o600);
      const derived = execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim();
      // ssh-keygen prints "type base64 [comment]": the key itself must be the same
      assert.equal(derived.split(' ').slice(0, 2).join(' '), k.publicKey.split(' ').slice(0, 2).join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generated keys without ssh-keygen: public key matches the private key', () => {
  const k = generateSshKey('rsa');
  const pub = createPublicKey(k.privateKey);
  assert.equal(openSshPublicKey(pub), k.publicKey);
  assert.equal(sshFingerprint(k.publicKey), k.fingerprint);
});

test('openSshPublicKey encodes RSA mpints with a leading zero when the high bit is set', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const line = openSshPublicKey(publicKey, '');
  const p = parseSshPublicKey(line);
  assert.equal(p.type, 'ssh-rsa');
  assert.equal(p.comment, '');
  // string "ssh-rsa" (4+7) + mpint e (4+3) + mpint n (4+129: high bit of a 1024-bit modulus is set)
  assert.equal(p.blob.length, 11 + 7 + 4 + 129);
});

test('invalid public keys are refused (Tempest negative cases)', () => {
  for (const bad of [
    'ssh-rsa JUNK nova@ubuntu',
    ' ',
    '',
    `ssh-rsa ${'A'.repeat(2048)} openstack@ubuntu`,
    // type in the blob differs from the prefix
    KNOWN.replace(/^ssh-ed25519/, 'ssh-rsa'),
    // truncated blob
    `ssh-ed25519 ${Buffer.from(KNOWN.split(' ')[1], 'base64').subarray(0, 40).toString('base64')}`,
    // trailing garbage in the blob
    `ssh-ed25519 ${Buffer.concat([Buffer.from(KNOWN.split(' ')[1], 'base64'), Buffer.from([1, 2, 3])]).toString('base64')}`,
    'ssh-foo AAAAB3NzaC1yc2EAAAADAQABAAABAQ',
  ]) {
    assert.throws(() => sshFingerprint(bad), Error, bad.slice(0, 40));
  }
});

test('ecdsa keys parse', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const blob = Buffer.concat([str(Buffer.from('ecdsa-sha2-nistp256')), str(Buffer.from('nistp256')), str(point)]);
  const line = `ecdsa-sha2-nistp256 ${blob.toString('base64')} me@host`;
  assert.equal(parseSshPublicKey(line).type, 'ecdsa-sha2-nistp256');
  assert.match(sshFingerprint(line), /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
});

test('x509 generation: a parseable self-signed certificate with a SHA-1 fingerprint', () => {
  const k = generateX509Key('user-123');
  const cert = new X509Certificate(k.publicKey);
  assert.equal(cert.subject, 'CN=user-123');
  assert.equal(cert.issuer, 'CN=user-123');
  assert.ok(cert.verify(cert.publicKey), 'self-signed signature verifies');
  assert.ok(cert.checkPrivateKey(createPrivateKey(k.privateKey)));
  assert.equal(k.fingerprint, cert.fingerprint.toLowerCase());
  assert.equal(x509Fingerprint(k.publicKey), k.fingerprint);
  assert.match(k.fingerprint, /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
  assert.ok(new Date(cert.validTo).getTime() > Date.now() + 9 * 365 * 86400_000);
  assert.throws(() => x509Fingerprint('-----BEGIN CERTIFICATE-----\nJUNK\n-----END CERTIFICATE-----'));
});

test('x509 certificate is accepted by openssl', { skip: !hasOpenssl }, () => {
  const k = generateX509Key('someone');
  const out = execFileSync('openssl', ['x509', '-noout', '-subject', '-ext', 'extendedKeyUsage'], { input: k.publicKey }).toString();
  assert.match(out, /subject=CN ?= ?someone/);
  assert.match(out, /TLS Web Client Authentication/);
});

test('keypair names follow Nova (2.1–2.91 and 2.92)', () => {
  for (const ok of ['a', 'key-1_2 x', 'A'.repeat(255)]) assert.equal(validateKeypairName(ok, false), ok);
  for (const bad of ['', 'A'.repeat(256), 'key_/.\\@:', ' lead', 'trail ', 'a.b', 'a@b', 12]) {
    assert.throws(() => validateKeypairName(bad, false), (e: any) => e.status === 400, String(bad));
  }
  assert.equal(validateKeypairName('me@host.example', true), 'me@host.example');
  assert.throws(() => validateKeypairName('key_/.\\@:', true), (e: any) => e.status === 400);
});

test('keypair ids are stable positive integers', () => {
  const a = keypairId({ user_id: 'u', name: 'k' });
  assert.equal(a, keypairId({ user_id: 'u', name: 'k' }));
  assert.notEqual(a, keypairId({ user_id: 'u', name: 'k2' }));
  assert.ok(Number.isSafeInteger(a) && a > 0);
});
