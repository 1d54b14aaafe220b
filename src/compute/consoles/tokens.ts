import { randomBytes } from 'node:crypto';

/** What a console token opens: one server's console, until it expires. */
export interface ConsoleToken { token: string; instanceUuid: string; protocol: string; type: string; expires: number }

/** Nova's [consoleauth] token_ttl. */
const TTL_MS = 600_000;

/**
 * Console access tokens (Nova's console auth tokens), kept in this process's memory: the
 * URL a client gets carries one, the websocket proxy accepts it until it expires. One
 * compute API process serves a cloud's consoles in this build.
 */
export class ConsoleTokens {
  private readonly tokens = new Map<string, ConsoleToken>();

  issue(instanceUuid: string, protocol: string, type: string): ConsoleToken {
    this.prune();
    const t: ConsoleToken = { token: randomBytes(24).toString('hex'), instanceUuid, protocol, type, expires: Date.now() + TTL_MS };
    this.tokens.set(t.token, t);
    return t;
  }

  check(token: string): ConsoleToken | undefined {
    const t = this.tokens.get(token);
    if (!t || t.expires < Date.now()) return undefined;
    return t;
  }

  private prune(): void {
    const now = Date.now();
    for (const [k, t] of this.tokens) if (t.expires < now) this.tokens.delete(k);
  }
}
