import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Signs instance ids for metadata requests (Nova's X-Instance-ID-Signature): the host side that
 * knows which instance asked (compute's user-mode forwarder, the network service's metadata
 * proxy) signs, compute's metadata API verifies. The secret is a file in the data directory.
 */
export class MetadataSigner {
  private readonly secret: Buffer;
  constructor(file: string) {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    }
    this.secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  }
  sign(instanceId: string): string {
    return createHmac('sha256', this.secret).update(instanceId).digest('hex');
  }
  verify(instanceId: string, sig: string): boolean {
    const want = Buffer.from(this.sign(instanceId));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}

/** The one signer of a cloud's data directory. */
export const metadataSignerFor = (dataDir: string) => new MetadataSigner(join(dataDir, 'compute', 'metadata-secret'));
