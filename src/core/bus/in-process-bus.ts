import { randomUUID } from 'node:crypto';
import { newRequestId } from '../ids.js';
import {
  type Bus, type BusArgs, type BusContext, type BusHandler, type BusLogger, type BusNotification, type BusTarget,
  type CallOptions, type NotificationHandler, type ReceivedNotification, type SendOptions, type Subscription,
  BusClosedError, BusError, BusRemoteError, BusTimeoutError, DEFAULT_CALL_TIMEOUT_MS,
} from './bus.js';

// ---- Shared with the AMQP bus, so both transports run handlers and encode outcomes the same way.

/** A message to a server: what `call`/`cast`/`fanout` put on the wire. */
export interface WireRequest { method: string; args: BusArgs; requestId: string }
/** A handler's outcome on its way back to the caller. */
export interface WireReply { result?: unknown; error?: { name: string; message: string; data?: Record<string, unknown> } }

/** The envelope of a call, cast or fanout; the request id is the caller's or a fresh one. */
export function request(method: string, args: BusArgs, opts: SendOptions): WireRequest {
  return { method, args, requestId: opts.requestId ?? newRequestId() };
}

/** What the publisher adds to a notification (oslo's message_id, timestamp, default priority). */
export function stampNotification(event: BusNotification): ReceivedNotification {
  return { ...event, priority: event.priority ?? 'INFO', messageId: randomUUID(), timestamp: new Date().toISOString() };
}

/** Runs the handler for `req.method`; every failure becomes an error reply, never a throw. */
export async function runHandler(handlers: Record<string, BusHandler>, req: WireRequest, ctx: BusContext): Promise<WireReply> {
  // hasOwn, so that 'toString' or 'constructor' is not a method of every server.
  const handler = Object.hasOwn(handlers, req.method) ? handlers[req.method] : undefined;
  if (!handler) return { error: { name: 'NoSuchMethod', message: `Endpoint does not support RPC method ${req.method}` } };
  try {
    return { result: await handler(req.args, ctx) };
  } catch (err) {
    if (!(err instanceof Error)) return { error: { name: 'Error', message: String(err) } };
    const { name: _n, message: _m, stack: _s, ...data } = err as Error & Record<string, unknown>;
    return { error: { name: err.name, message: err.message, data: jsonSafe(data) } };
  }
}

const jsonSafe = (data: Record<string, unknown>): Record<string, unknown> | undefined => {
  try {
    return Object.keys(data).length ? (JSON.parse(JSON.stringify(data)) as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // a cause or socket hanging off the error: the name and message still travel
  }
};

/** JSON of a reply; a result JSON cannot carry (BigInt, cycles) becomes an error for the caller, not a lost reply. */
export function encodeReply(reply: WireReply, method: string): string {
  try {
    return JSON.stringify(reply);
  } catch (err) {
    return JSON.stringify({ error: { name: 'SerializationError', message: `Result of ${method} is not JSON: ${String(err)}` } });
  }
}

/** Settles a call from its decoded reply. */
export function settleReply(reply: WireReply, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
  if (reply.error) reject(new BusRemoteError(reply.error.name, reply.error.message, reply.error.data));
  else resolve(reply.result);
}

export const describeTarget = (t: BusTarget): string => (t.server === undefined ? t.topic : `${t.topic}.${t.server}`);

/** AMQP topic-pattern match on dotted words: `*` is one word, `#` zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    return j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

// ---- The in-process transport.

interface Server { topic: string; server?: string; handlers: Record<string, BusHandler>; owner: InProcessBus }
interface Subscriber { pattern: string; handler: NotificationHandler; owner: InProcessBus }

/** What a broker would hold: servers and subscribers of every bus attached to the same hub name. */
class Hub {
  readonly servers = new Map<string, Server[]>();
  readonly subscribers = new Set<Subscriber>();
  private readonly cursors = new Map<string, number>();

  /** Round-robin among the servers of a topic (or those of one server name), chosen at delivery time. */
  pick(target: BusTarget): Server | undefined {
    const all = this.servers.get(target.topic) ?? [];
    const eligible = target.server === undefined ? all : all.filter((s) => s.server === target.server);
    if (eligible.length === 0) return undefined;
    const key = describeTarget(target);
    const n = this.cursors.get(key) ?? 0;
    this.cursors.set(key, n + 1);
    return eligible[n % eligible.length];
  }

  remove(s: Server): void {
    const list = (this.servers.get(s.topic) ?? []).filter((x) => x !== s);
    if (list.length) this.servers.set(s.topic, list);
    else this.servers.delete(s.topic);
  }
}

const hubs = new Map<string, Hub>();

export interface InProcessBusOptions {
  logger: BusLogger;
  /** Buses made with the same hub name reach each other's servers, like processes sharing a broker. */
  hub?: string;
}

/**
 * The one-process bus. Messages still go through JSON and are delivered on a later turn of the
 * event loop (setImmediate), so code behaves as it will over RabbitMQ: no shared objects, no re-entrancy.
 */
export class InProcessBus implements Bus {
  private readonly hub: Hub;
  private readonly log: BusLogger;
  private readonly servers = new Set<Server>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly pending = new Set<(err: Error) => void>();
  private closed = false;

  constructor(opts: InProcessBusOptions) {
    const name = opts.hub ?? 'default';
    this.hub = hubs.get(name) ?? new Hub();
    hubs.set(name, this.hub);
    this.log = opts.logger;
  }

  async call<T = unknown>(target: BusTarget, method: string, args: BusArgs, opts: CallOptions = {}): Promise<T> {
    this.assertOpen();
    const body = JSON.stringify(request(method, args, opts));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error): void => {
        if (!this.pending.delete(fail)) return;
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new BusTimeoutError(`No reply from ${describeTarget(target)} to ${method} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.add(fail);
      setImmediate(() => {
        const server = this.hub.pick(target);
        if (!server) return fail(new BusError(`No server is listening on ${describeTarget(target)}`));
        void this.dispatch(server, body).then((reply) => {
          if (!this.pending.delete(fail)) return; // timed out or closed meanwhile
          clearTimeout(timer);
          settleReply(JSON.parse(reply) as WireReply, (v) => resolve(v as T), reject);
        });
      });
    });
  }

  async cast(target: BusTarget, method: string, args: BusArgs, opts: SendOptions = {}): Promise<void> {
    this.assertOpen();
    const body = JSON.stringify(request(method, args, opts));
    setImmediate(() => {
      const server = this.hub.pick(target);
      if (server) void this.dispatch(server, body, true);
      else this.log.warn({ target: describeTarget(target), method }, 'cast dropped: no server is listening');
    });
  }

  async fanout(topic: string, method: string, args: BusArgs, opts: SendOptions = {}): Promise<void> {
    this.assertOpen();
    const body = JSON.stringify(request(method, args, opts));
    setImmediate(() => {
      for (const server of this.hub.servers.get(topic) ?? []) void this.dispatch(server, body, true);
    });
  }

  async serve(target: BusTarget, handlers: Record<string, BusHandler>): Promise<Subscription> {
    this.assertOpen();
    const server: Server = { ...target, handlers, owner: this };
    this.hub.servers.set(target.topic, [...(this.hub.servers.get(target.topic) ?? []), server]);
    this.servers.add(server);
    return {
      close: async () => {
        this.hub.remove(server);
        this.servers.delete(server);
      },
    };
  }

  async notify(event: BusNotification): Promise<void> {
    this.assertOpen();
    const body = JSON.stringify(stampNotification(event));
    setImmediate(() => {
      for (const sub of this.hub.subscribers) {
        if (!topicMatches(sub.pattern, event.eventType)) continue;
        const n = JSON.parse(body) as ReceivedNotification;
        Promise.resolve()
          .then(() => sub.handler(n))
          .catch((err: unknown) => sub.owner.log.error({ err, eventType: n.eventType }, 'notification handler failed'));
      }
    });
  }

  async subscribeNotifications(pattern: string, handler: NotificationHandler): Promise<Subscription> {
    this.assertOpen();
    const sub: Subscriber = { pattern, handler, owner: this };
    this.hub.subscribers.add(sub);
    this.subscribers.add(sub);
    return {
      close: async () => {
        this.hub.subscribers.delete(sub);
        this.subscribers.delete(sub);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.servers) this.hub.remove(s);
    for (const s of this.subscribers) this.hub.subscribers.delete(s);
    this.servers.clear();
    this.subscribers.clear();
    for (const fail of [...this.pending]) fail(new BusClosedError('Bus closed before the reply arrived'));
  }

  /** Runs a handler on a copy of the message; returns the reply's JSON. Casts' failures are only logged. */
  private async dispatch(server: Server, body: string, isCast = false): Promise<string> {
    const req = JSON.parse(body) as WireRequest;
    const ctx: BusContext = { requestId: req.requestId, topic: server.topic, method: req.method };
    const reply = await runHandler(server.handlers, req, ctx);
    if (isCast && reply.error) {
      server.owner.log.warn({ topic: server.topic, method: req.method, error: reply.error }, 'cast failed');
    }
    return encodeReply(reply, req.method);
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError('Bus is closed');
  }
}
