import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, parseKey, type FernetKey } from './fernet.js';

/**
 * Keystone's Fernet key repository layout: files named 0..N in a 0700 directory, each 0600.
 * Key 0 is staged (accepted, not yet used); the highest number is primary (signs new
 * tokens); the rest are secondary (still accepted). Rotation promotes the staged key.
 */
export class KeyRepository {
  private keys: { index: number; key: FernetKey }[] = [];

  constructor(private readonly dir: string, private readonly maxActiveKeys = 3) {}

  /** Creates the repository with a staged and a primary key if it does not exist. */
  setup(): void {
    if (!existsSync(this.dir)) mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    if (this.indexes().length === 0) {
      this.writeKey(0, generateKey());
      this.writeKey(1, generateKey());
    }
    this.load();
  }

  load(): void {
    this.keys = this.indexes()
      .sort((a, b) => b - a)
      .map((index) => ({ index, key: parseKey(readFileSync(join(this.dir, String(index)), 'utf8')) }));
    if (this.keys.length < 2) throw new Error(`fernet key repository ${this.dir} needs at least 2 keys`);
  }

  /** The key new tokens are signed with. */
  primary(): FernetKey {
    return this.keys[0].key;
  }

  /** Every key a token may have been signed with, primary first. */
  all(): FernetKey[] {
    return this.keys.map((k) => k.key);
  }

  /** Promotes the staged key to primary, stages a new one, and drops the oldest beyond the limit. */
  rotate(): void {
    const idx = this.indexes().sort((a, b) => a - b);
    const next = idx[idx.length - 1] + 1;
    renameSync(join(this.dir, '0'), join(this.dir, String(next)));
    this.writeKey(0, generateKey());
    const secondaries = this.indexes().filter((i) => i !== 0 && i !== next).sort((a, b) => a - b);
    const excess = secondaries.length - (this.maxActiveKeys - 2);
    for (const i of secondaries.slice(0, Math.max(0, excess))) rmSync(join(this.dir, String(i)));
    this.load();
  }

  private indexes(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((f) => /^\d+$/.test(f)).map(Number);
  }

  private writeKey(index: number, key: string): void {
    const tmp = join(this.dir, `.tmp-${index}`);
    writeFileSync(tmp, key, { mode: 0o600 });
    renameSync(tmp, join(this.dir, String(index)));
  }
}
