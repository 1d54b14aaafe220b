/**
 * Keypairs (Nova's os-keypairs): per-user SSH public keys (or X.509 certificates), imported or
 * generated here. Fingerprints as Nova computes them: MD5 of the key blob for SSH keys, SHA-1 of
 * the DER certificate for X.509, both as lower-case colon-separated hex.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { badRequest, conflict, HttpError, notFound } from '../../core/errors.js';
import { isUniqueViolation } from '../../core/db/database.js';
import { nowIso } from '../../core/ids.js';
import type { KeypairRow } from '../db/schema.js';
import type { ComputeContext } from './context.js';
import { effectiveLimits } from './quotas.js';

export type KeyType = 'ssh' | 'x509';

const colonHex = (buf: Buffer) => buf.toString('hex').replace(/(..)(?!$)/g, '$1:');

// ---------------------------------------------------------------- SSH wire format

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(): Buffer {
    if (this.off + 4 > this.buf.length) throw new Error('truncated');
    const n = this.buf.readUInt32BE(this.off);
    this.off += 4;
    if (n > this.buf.length - this.off) throw new Error('truncated');
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  string(): string {
    return this.bytes().toString('latin1');
  }
  /** A positive mpint, as unsigned big-endian bytes without leading zeros. */
  mpint(): Buffer {
    const b = this.bytes();
    if (b.length === 0 || (b[0] & 0x80) !== 0) throw new Error('bad mpint');
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  }
  done(): boolean {
    return this.off === this.buf.length;
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (b: Buffer | string) => {
  const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  return Buffer.concat([u32(buf.length), buf]);
};
const sshMpint = (unsigned: Buffer) => {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const v = unsigned.subarray(i);
  return sshString(v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};
const b64url = (s: string) => Buffer.from(s, 'base64url');

const ECDSA: Record<string, { curve: string; crv: string; size: number }> = {
  'ecdsa-sha2-nistp256': { curve: 'nistp256', crv: 'P-256', size: 32 },
  'ecdsa-sha2-nistp384': { curve: 'nistp384', crv: 'P-384', size: 48 },
  'ecdsa-sha2-nistp521': { curve: 'nistp521', crv: 'P-521', size: 66 },
};

export interface ParsedSshKey {
  type: string;
  blob: Buffer;
  comment: string;
}

/**
 * Parses and checks an OpenSSH public key line ("ssh-rsa AAAA... comment"): the blob must
 * decode, name the same algorithm and hold a well-formed key of it. Throws on anything else.
 */
export function parseSshPublicKey(text: string): ParsedSshKey {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2) throw new Error('not an OpenSSH public key');
  const [type, b64, ...rest] = parts;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error('bad base64');
  const blob = Buffer.from(b64, 'base64');
  const r = new Reader(blob);
  if (r.string() !== type) throw new Error('key type mismatch');
  switch (type) {
    case 'ssh-rsa': {
      const e = r.mpint();
      const n = r.mpint();
      if (n.length * 8 < 512) throw new Error('RSA key too small');
      createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
      break;
    }
    case 'ssh-ed25519': {
      const k = r.bytes();
      if (k.length !== 32) throw new Error('bad ed25519 key');
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.toString('base64url') }, format: 'jwk' });
      break;
    }
    case 'ssh-dss': {
      for (let i = 0; i < 4; i++) r.mpint();
      break;
    }
    default: {
      const ec = ECDSA[type];
      if (!ec) throw new Error(`unsupported key type ${type}`);
      if (r.string() !== ec.curve) throw new Error('curve mismatch');
      const q = r.bytes();
      if (q.length !== 1 + 2 * ec.size || q[0] !== 4) throw new Error('bad EC point');
      createPublicKey({
        key: { kty: 'EC', crv: ec.crv, x: q.subarray(1, 1 + ec.size).toString('base64url'), y: q.subarray(1 + ec.size).toString('base64url') },
        format: 'jwk',
      });
    }
  }
  if (!r.done()) throw new Error('trailing data');
  return { type, blob, comment: rest.join(' ') };
}

/** Nova's SSH fingerprint: MD5 of the decoded key blob, "aa:bb:...". Throws on an invalid key. */
export function sshFingerprint(publicKey: string): string {
  return colonHex(createHash('md5').update(parseSshPublicKey(publicKey).blob).digest());
}

/** Nova's X.509 fingerprint: SHA-1 of the DER certificate, lower-case colon hex. Throws on a bad PEM. */
export function x509Fingerprint(pem: string): string {
  const cert = new X509Certificate(pem);
  return cert.fingerprint.toLowerCase();
}

/** The OpenSSH public key line of a node:crypto public key (RSA or Ed25519). */
export function openSshPublicKey(key: KeyObject, comment = 'Generated-by-Nova'): string {
  const jwk = key.export({ format: 'jwk' });
  let blob: Buffer;
  let type: string;
  if (jwk.kty === 'RSA') {
    type = 'ssh-rsa';
    blob = Buffer.concat([sshString(type), sshMpint(b64url(jwk.e!)), sshMpint(b64url(jwk.n!))]);
  } else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    type = 'ssh-ed25519';
    blob = Buffer.concat([sshString(type), sshString(b64url(jwk.x!))]);
  } else throw new Error(`unsupported key ${jwk.kty}`);
  return `${type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** An unencrypted "OPENSSH PRIVATE KEY" (openssh-key-v1) for an Ed25519 key. */
function openSshEd25519Private(privateKey: KeyObject, comment: string): string {
  const jwk = privateKey.export({ format: 'jwk' });
  const pub = b64url(jwk.x!);
  const seed = b64url(jwk.d!);
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'), sshString('none'), sshString('none'), sshString(''), u32(1), sshString(pubBlob), sshString(priv),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export interface GeneratedKey {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
}

/**
 * A new SSH keypair, as Nova makes one: RSA 2048 with a PKCS#1 PEM private key by default;
 * Ed25519 with an OpenSSH private key on request. Both load with `ssh-keygen -y -f`.
 */
export function generateSshKey(algorithm: 'rsa' | 'ed25519' = 'rsa'): GeneratedKey {
  if (algorithm === 'ed25519') {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = openSshPublicKey(publicKey);
    return { publicKey: pub, privateKey: openSshEd25519Private(privateKey, 'Generated-by-Nova'), fingerprint: sshFingerprint(pub) };
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const pub = openSshPublicKey(publicKey);
  return { publicKey: pub, privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), fingerprint: sshFingerprint(pub) };
}

// ---------------------------------------------------------------- X.509 (WinRM certificates)

const der = (tag: number, content: Buffer): Buffer => {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
};
const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a + b];
  for (const v of rest) {
    const enc = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) enc.unshift((x & 0x7f) | 0x80);
    bytes.push(...enc);
  }
  return der(0x06, Buffer.from(bytes));
};
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const time = (d: Date) => {
  const iso = d.toISOString();
  const y = d.getUTCFullYear();
  const compact = iso.replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return y < 2050 ? der(0x17, Buffer.from(compact.slice(2), 'latin1')) : der(0x18, Buffer.from(compact, 'latin1'));
};

/**
 * A self-signed client certificate for WinRM, as Nova's x509 keypair generation makes: RSA 2048,
 * CN=<user id>, extended key usage clientAuth, valid ten years; private key as PKCS#1 PEM.
 */
export function generateX509Key(userId: string): GeneratedKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const name = seq(der(0x31, seq(oid('2.5.4.3'), utf8(userId || 'nova'))));
  const sigAlg = seq(oid('1.2.840.113549.1.1.11'), der(0x05, Buffer.alloc(0)));
  const now = new Date();
  const until = new Date(now.getTime() + 10 * 365 * 86400_000);
  const eku = seq(oid('2.5.29.37'), der(0x04, seq(oid('1.3.6.1.5.5.7.3.2'))));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    sigAlg,
    name,
    seq(time(now), time(until)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, seq(eku)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = seq(tbs, sigAlg, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = cert.toString('base64').match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
  return { publicKey: pem, privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), fingerprint: x509Fingerprint(pem) };
}

// ---------------------------------------------------------------- names

/** Nova's keypair name rules: 1..255 characters of [a-zA-Z0-9 _-] (2.92 adds @ and .), no edge spaces. */
export function validateKeypairName(name: unknown, v292: boolean): string {
  const bad = (why: string) => badRequest(`Invalid input for field/attribute name. Value: ${typeof name === 'string' ? name : JSON.stringify(name)}. ${why}`);
  if (typeof name !== 'string') throw bad(`${JSON.stringify(name)} is not of type 'string'`);
  if (name.length < 1) throw bad(`'' is too short`);
  if (name.length > 255) throw bad(`'${name}' is too long`);
  if (/^\s|\s$/.test(name)) throw bad(`'${name}' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'`);
  const re = v292 ? /^[a-zA-Z0-9 @._-]+$/ : /^[a-zA-Z0-9 _-]+$/;
  if (!re.test(name)) throw bad(`'${name}' is not a 'keypair_name_${v292 ? '292' : '20'}'`);
  return name;
}

// ---------------------------------------------------------------- storage

/** A stable integer id for a keypair (the table keys on user and name; Nova shows an integer). */
export function keypairId(row: Pick<KeypairRow, 'user_id' | 'name'>): number {
  const h = createHash('sha256').update(`${row.user_id}\0${row.name}`).digest();
  return h.readUIntBE(0, 6) % 2 ** 31;
}

export async function getKeypair(c: ComputeContext, userId: string, name: string): Promise<KeypairRow> {
  const row = await c.db.selectFrom('keypair').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  if (!row) throw notFound(`Keypair ${name} not found for user ${userId}`);
  return row;
}

/** A user's keypairs by name, after `marker` (a name; unknown → 400), at most `limit`. */
export async function listKeypairs(c: ComputeContext, userId: string, page: { limit?: number; marker?: string } = {}): Promise<KeypairRow[]> {
  let q = c.db.selectFrom('keypair').selectAll().where('user_id', '=', userId);
  if (page.marker !== undefined) {
    const m = await c.db.selectFrom('keypair').select('name').where('user_id', '=', userId).where('name', '=', page.marker).executeTakeFirst();
    if (!m) throw badRequest(`Marker ${page.marker} could not be found.`);
    q = q.where('name', '>', page.marker);
  }
  q = q.orderBy('name', 'asc');
  if (page.limit !== undefined) q = q.limit(page.limit);
  return q.execute();
}

export async function deleteKeypair(c: ComputeContext, userId: string, name: string): Promise<void> {
  const r = await c.db.deleteFrom('keypair').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw notFound(`Keypair ${name} not found for user ${userId}`);
}

/**
 * Imports (publicKey given) or generates a keypair for a user; checks the key_pairs quota of the
 * user in the project. Returns the stored row and, when generated, the private key.
 */
export async function createKeypair(
  c: ComputeContext,
  opts: { userId: string; projectId: string; name: string; type: KeyType; publicKey?: string },
): Promise<{ row: KeypairRow; privateKey?: string }> {
  let publicKey: string;
  let fingerprint: string;
  let privateKey: string | undefined;
  if (opts.publicKey !== undefined) {
    publicKey = opts.publicKey.trim();
    if (opts.type === 'x509') {
      try {
        fingerprint = x509Fingerprint(publicKey);
      } catch {
        throw badRequest('Keypair data is invalid: failed to generate X509 fingerprint');
      }
    } else {
      try {
        fingerprint = sshFingerprint(publicKey);
      } catch {
        throw badRequest('Keypair data is invalid: failed to generate fingerprint');
      }
    }
  } else {
    const g = opts.type === 'x509' ? generateX509Key(opts.userId) : generateSshKey('rsa');
    ({ publicKey, fingerprint, privateKey } = g);
  }
  const limits = await effectiveLimits(c.db, opts.projectId, opts.userId);
  const row: KeypairRow = { user_id: opts.userId, name: opts.name, type: opts.type, public_key: publicKey, fingerprint, created_at: nowIso() };
  await c.db.transaction().execute(async (trx) => {
    if (limits.key_pairs >= 0) {
      const n = await trx.selectFrom('keypair').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', opts.userId).executeTakeFirstOrThrow();
      if (Number(n.n) >= limits.key_pairs) throw new HttpError(403, 'Quota exceeded, too many key pairs.');
    }
    const dup = await trx.selectFrom('keypair').select('name').where('user_id', '=', opts.userId).where('name', '=', opts.name).executeTakeFirst();
    if (dup) throw conflict(`Key pair '${opts.name}' already exists.`);
    try {
      await trx.insertInto('keypair').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Key pair '${opts.name}' already exists.`);
      throw e;
    }
  });
  return { row, privateKey };
}

/** How many keypairs a user holds (for quota usage). */
export async function countKeypairs(c: Pick<ComputeContext, 'db'>, userId: string): Promise<number> {
  const n = await c.db.selectFrom('keypair').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(n.n);
}
