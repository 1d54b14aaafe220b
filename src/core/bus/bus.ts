/** Where an RPC message goes: one server of `topic` (load-balanced), or the named `server` only. */
export interface BusTarget { topic: string; server?: string }

/** What a handler learns about the message it handles. */
export interface BusContext {
  /** The caller's request id, or a fresh `req-…` one when it gave none. */
  requestId: string;
  topic: string;
  method: string;
}

/** Arguments and results cross the bus as JSON: Dates arrive as strings, `undefined` members vanish. */
export type BusArgs = Record<string, unknown>;
export type BusHandler = (args: BusArgs, ctx: BusContext) => Promise<unknown> | unknown;
export interface SendOptions { requestId?: string }
export interface CallOptions extends SendOptions { timeoutMs?: number }

export type NotificationPriority = 'INFO' | 'WARN' | 'ERROR';
/** An oslo-style notification; `eventType` is dotted, e.g. `compute.instance.create.end`. */
export interface BusNotification { eventType: string; payload: unknown; publisherId: string; priority?: NotificationPriority }
/** A notification as delivered, stamped by its publisher. */
export interface ReceivedNotification extends BusNotification { priority: NotificationPriority; messageId: string; timestamp: string }
export type NotificationHandler = (n: ReceivedNotification) => Promise<void> | void;

export interface Subscription { close(): Promise<void> }

/** pino's Logger fits; the bus logs what no caller can see (failed casts, lost connections). */
export interface BusLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Nova's message bus in the shape of oslo.messaging: RPC call/cast/fanout and notifications. */
export interface Bus {
  /** RPC with a reply. Rejects with BusTimeoutError after `timeoutMs` (default 60 s), with BusRemoteError
   *  when the handler throws or the method is unknown, with BusError when nothing serves the target. */
  call<T = unknown>(target: BusTarget, method: string, args: BusArgs, opts?: CallOptions): Promise<T>;
  /** Fire and forget: resolves once the transport has the message; one server receives it. */
  cast(target: BusTarget, method: string, args: BusArgs, opts?: SendOptions): Promise<void>;
  /** Cast to every server of `topic`. */
  fanout(topic: string, method: string, args: BusArgs, opts?: SendOptions): Promise<void>;
  /** Serves `topic` (shared with its other servers), `topic.server` when named, and the topic's fanouts. */
  serve(target: BusTarget, handlers: Record<string, BusHandler>): Promise<Subscription>;
  /** Publishes to every subscriber whose pattern matches the event type. */
  notify(event: BusNotification): Promise<void>;
  /** `pattern` is an event type or an AMQP topic pattern: `*` one word, `#` zero or more. */
  subscribeNotifications(pattern: string, handler: NotificationHandler): Promise<Subscription>;
  /** Stops this bus's servers and subscribers; its pending calls reject with BusClosedError. */
  close(): Promise<void>;
}

export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

export class BusError extends Error {
  override name = 'BusError';
}
export class BusTimeoutError extends BusError {
  override name = 'BusTimeoutError';
}
export class BusClosedError extends BusError {
  override name = 'BusClosedError';
}
/** The handler threw: `remoteName`/`message` are its error's; `remoteData` its other own fields (e.g. HttpError's status). */
export class BusRemoteError extends BusError {
  override name = 'BusRemoteError';
  constructor(readonly remoteName: string, message: string, readonly remoteData: Record<string, unknown> = {}) {
    super(message);
  }
}
