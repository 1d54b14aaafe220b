import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(pw, salt, len, opts, (e, k) => (e ? reject(e) : resolve(k))));

/**
 * Passwords are hashed with scrypt (memory-hard, slow by design), in node's thread pool so
 * the event loop stays free. Format: $scrypt$N$r$p$salt$hash (base64url).
 */
export class PasswordHasher {
  constructor(private readonly cost = 16384) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await scrypt(password, salt, 32, { N: this.cost, r: 8, p: 1, maxmem: 256 * this.cost * 8 });
    return `$scrypt$${this.cost}$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const [, alg, n, r, p, salt, hash] = stored.split('$');
    if (alg !== 'scrypt') return false;
    const N = Number(n);
    const want = Buffer.from(hash, 'base64url');
    const got = await scrypt(password, Buffer.from(salt, 'base64url'), want.length, { N, r: Number(r), p: Number(p), maxmem: 256 * N * Number(r) });
    return timingSafeEqual(want, got);
  }
}
