import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decrypt, encrypt, generateKey, parseKey } from '../../src/identity/tokens/fernet.js';
import { KeyRepository } from '../../src/identity/tokens/key-repository.js';
import { TokenCodec } from '../../src/identity/tokens/token-codec.js';
import { pack, unpack, type TokenPayload } from '../../src/identity/tokens/payload.js';

const payload: TokenPayload = {
  userId: 'a'.repeat(32), methods: ['password', 'token'], scope: { project: 'b'.repeat(32) },
  issuedAt: 1_700_000_000_123, expiresAt: 1_700_003_600_123, auditIds: ['x', 'y'], trustId: 't1',
};

describe('fernet', () => {
  it('round-trips and carries its timestamp', () => {
    const k = parseKey(generateKey());
    const tok = encrypt(k, Buffer.from('hello'), 1234);
    const r = decrypt([k], tok);
    assert.equal(r?.plaintext.toString(), 'hello');
    assert.equal(r?.timestamp, 1234);
  });
  it('refuses a token signed with another key or tampered with', () => {
    const k1 = parseKey(generateKey());
    const k2 = parseKey(generateKey());
    const tok = encrypt(k1, Buffer.from('hello'));
    assert.equal(decrypt([k2], tok), null);
    const raw = Buffer.from(tok, 'base64url');
    raw[30] ^= 1;
    assert.equal(decrypt([k1], raw.toString('base64url')), null);
    assert.equal(decrypt([k1], 'not a token'), null);
  });
});

describe('token payload', () => {
  it('packs and unpacks every field', () => {
    assert.deepEqual(unpack(pack(payload)), payload);
    const unscoped = { ...payload, scope: null, trustId: undefined };
    delete unscoped.trustId;
    assert.deepEqual(unpack(pack(unscoped)), unscoped);
    assert.deepEqual(unpack(pack({ ...payload, scope: { system: 'all' } }))?.scope, { system: 'all' });
  });
  it('returns null for foreign JSON', () => {
    assert.equal(unpack(Buffer.from('[2,1]')), null);
    assert.equal(unpack(Buffer.from('{')), null);
  });
});

describe('key repository', () => {
  it('creates 0600 keys, rotates, and still reads tokens of the previous primary', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'nubo-keys-')), 'fernet-keys');
    try {
      const repo = new KeyRepository(dir, 3);
      repo.setup();
      assert.deepEqual(readdirSync(dir).sort(), ['0', '1']);
      assert.equal(statSync(join(dir, '1')).mode & 0o777, 0o600);
      const codec = new TokenCodec(repo);
      const before = codec.encode(payload);
      repo.rotate();
      assert.deepEqual(readdirSync(dir).sort(), ['0', '1', '2']);
      assert.deepEqual(codec.decode(before), payload);
      repo.rotate();
      repo.rotate();
      // at most 3 keys: the oldest secondary is gone and its tokens with it
      assert.equal(readdirSync(dir).length, 3);
      assert.equal(codec.decode(before), null);
      assert.deepEqual(codec.decode(codec.encode(payload)), payload);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
