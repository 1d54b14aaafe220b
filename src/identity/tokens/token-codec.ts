import { decrypt, encrypt } from './fernet.js';
import type { KeyRepository } from './key-repository.js';
import { pack, unpack, type TokenPayload } from './payload.js';

/** Tokens are Fernet-encrypted payloads: nothing is stored per issued token. */
export class TokenCodec {
  constructor(private readonly keys: KeyRepository) {}

  encode(payload: TokenPayload): string {
    return encrypt(this.keys.primary(), pack(payload), Math.floor(payload.issuedAt / 1000));
  }

  /** The payload, or null when no key authenticates the token or it is malformed. */
  decode(token: string): TokenPayload | null {
    if (token.length > 8192) return null;
    const r = decrypt(this.keys.all(), token);
    return r ? unpack(r.plaintext) : null;
  }
}
