import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Fernet (https://github.com/fernet/spec): AES-128-CBC + HMAC-SHA256 over
 * version | timestamp | iv | ciphertext. A key is 32 bytes, url-safe base64:
 * the first half signs, the second half encrypts.
 */
export interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

export function parseKey(b64: string): FernetKey {
  const raw = Buffer.from(b64.trim(), 'base64url');
  if (raw.length !== 32) throw new Error('a Fernet key must be 32 bytes of url-safe base64');
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
}

export const generateKey = (): string => randomBytes(32).toString('base64url') + '=';

const VERSION = 0x80;

export function encrypt(key: FernetKey, plaintext: Buffer, nowSec = Math.floor(Date.now() / 1000)): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const head = Buffer.alloc(9);
  head[0] = VERSION;
  head.writeBigUInt64BE(BigInt(nowSec), 1);
  const body = Buffer.concat([head, iv, ct]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return Buffer.concat([body, mac]).toString('base64url');
}

/** Returns the plaintext and the token's timestamp, or null if no key authenticates it. */
export function decrypt(keys: FernetKey[], token: string): { plaintext: Buffer; timestamp: number } | null {
  let raw: Buffer;
  try {
    raw = Buffer.from(token, 'base64url');
  } catch {
    return null;
  }
  if (raw.length < 9 + 16 + 16 + 32 || raw[0] !== VERSION) return null;
  const body = raw.subarray(0, raw.length - 32);
  const mac = raw.subarray(raw.length - 32);
  for (const key of keys) {
    const expect = createHmac('sha256', key.signing).update(body).digest();
    if (!timingSafeEqual(expect, mac)) continue;
    try {
      const decipher = createDecipheriv('aes-128-cbc', key.encryption, body.subarray(9, 25));
      const plaintext = Buffer.concat([decipher.update(body.subarray(25)), decipher.final()]);
      return { plaintext, timestamp: Number(body.readBigUInt64BE(1)) };
    } catch {
      return null;
    }
  }
  return null;
}
