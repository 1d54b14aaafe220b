import { randomUUID } from 'node:crypto';
import {
  connect, type Channel, type ChannelModel, type ConsumeMessage, type Message, type Options, type RecoveringChannelModel,
} from 'amqplib';
import { newRequestId } from '../ids.js';
import {
  type Bus, type BusArgs, type BusHandler, type BusLogger, type BusNotification, type BusTarget, type CallOptions,
  type NotificationHandler, type ReceivedNotification, type SendOptions, type Subscription,
  BusClosedError, BusError, BusTimeoutError, DEFAULT_CALL_TIMEOUT_MS,
} from './bus.js';
import {
  describeTarget, encodeReply, request, runHandler, settleReply, stampNotification, type WireReply, type WireRequest,
} from './in-process-bus.js';

export interface AmqpBusOptions {
  logger: BusLogger;
  /** Prefix of every exchange and queue name, so test runs or clouds sharing a broker don't collide. */
  namespace?: string;
  /** How long a topic queue outlives its last server (RabbitMQ x-expires); casts sent meanwhile wait in it.
   *  Every process on the broker must use the same value: RabbitMQ refuses to redeclare a queue differently. */
  queueExpiresMs?: number;
  /** Give up on the first connection after this long; later losses are retried forever. */
  connectTimeoutMs?: number;
}

interface PendingCall { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

/** A server or a notification subscriber: its queues and consumers, declared again on every connection. */
interface Consumer {
  label: string;
  declare: (ch: Channel) => Promise<void>;
  closed: boolean;
  /** The connection it is declared on; a new one after a reconnect means declare again. */
  model?: ChannelModel;
  channel?: Channel;
}

/**
 * The bus over AMQP 0-9-1, laid out as oslo.messaging lays out Nova's: a topic exchange `nubo_rpc`
 * with a shared queue per topic and one per `topic.server`; a fanout exchange per topic with a queue
 * per server; a topic exchange `nubo_notifications` routed by event type; an exclusive reply queue
 * per bus, matched to calls by correlation id. Bodies are JSON.
 */
export class AmqpBus implements Bus {
  private readonly log: BusLogger;
  private readonly ns: string;
  private readonly rpcExchange: string;
  private readonly notifyExchange: string;
  private readonly queueExpiresMs: number;
  private conn?: RecoveringChannelModel;
  /** The live connection: set by attach(), cleared on disconnect. */
  private model?: ChannelModel;
  private publisher?: Promise<Channel>;
  private replyQueue?: string;
  private readonly pending = new Map<string, PendingCall>();
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  private constructor(opts: AmqpBusOptions) {
    this.log = opts.logger;
    this.ns = opts.namespace ?? '';
    this.rpcExchange = `${this.ns}nubo_rpc`;
    this.notifyExchange = `${this.ns}nubo_notifications`;
    this.queueExpiresMs = opts.queueExpiresMs ?? 30 * 60_000;
  }

  /** Connects, failing at once if the broker is unreachable; afterwards lost connections are recovered. */
  static async connect(url: string, opts: AmqpBusOptions): Promise<AmqpBus> {
    const bus = new AmqpBus(opts);
    const conn = await connect(url, {
      timeout: opts.connectTimeoutMs ?? 5000,
      clientProperties: { connection_name: `nubo pid ${process.pid}` },
      recovery: { initialMaxRetries: 0, maxDelay: 10_000, waitForConnect: false, setup: (m: ChannelModel) => bus.attach(m) },
    });
    bus.conn = conn;
    bus.watch(conn);
    try {
      await conn.waitForConnect();
    } catch (err) {
      await conn.close().catch(() => {});
      throw new BusError(`Cannot connect to the AMQP broker: ${errorMessage(err)}`, { cause: err });
    }
    return bus;
  }

  async call<T = unknown>(target: BusTarget, method: string, args: BusArgs, opts: CallOptions = {}): Promise<T> {
    const body = JSON.stringify(request(method, args, opts));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const correlationId = randomUUID();
    const reply = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(correlationId, new BusTimeoutError(`No reply from ${describeTarget(target)} to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { resolve: (v) => resolve(v as T), reject, timer });
    });
    // mandatory: with no queue bound the broker returns the message, and onReturned fails the call at once.
    // expiration: a request nobody took before the caller gave up is dropped, not run late.
    const publish = { correlationId, replyTo: this.replyQueue, expiration: timeoutMs, mandatory: true };
    await this.send(this.rpcExchange, describeTarget(target), body, publish).catch((err: Error) => this.settle(correlationId, err));
    return reply;
  }

  async cast(target: BusTarget, method: string, args: BusArgs, opts: SendOptions = {}): Promise<void> {
    const body = JSON.stringify(request(method, args, opts));
    await this.send(this.rpcExchange, describeTarget(target), body, { mandatory: true });
  }

  async fanout(topic: string, method: string, args: BusArgs, opts: SendOptions = {}): Promise<void> {
    const body = JSON.stringify(request(method, args, opts));
    const exchange = this.fanoutExchange(topic);
    // Servers declare the exchange; without one nobody would receive the message, so there is nothing to send.
    if (await this.exchangeExists(exchange)) await this.send(exchange, '', body);
  }

  async serve(target: BusTarget, handlers: Record<string, BusHandler>): Promise<Subscription> {
    const keys = target.server === undefined ? [target.topic] : [target.topic, describeTarget(target)];
    const consumer: Consumer = {
      label: `server ${describeTarget(target)}`,
      closed: false,
      declare: async (ch) => {
        const onMessage = (msg: ConsumeMessage | null): void => void this.onRequest(ch, consumer, target.topic, handlers, msg);
        for (const key of keys) {
          const queue = `${this.ns}${key}`;
          // Not auto-delete: a server restarting keeps its queue, and the casts sent meanwhile.
          await ch.assertQueue(queue, { durable: false, expires: this.queueExpiresMs });
          await ch.bindQueue(queue, this.rpcExchange, key);
          await ch.consume(queue, onMessage);
        }
        const exchange = this.fanoutExchange(target.topic);
        await ch.assertExchange(exchange, 'fanout', { durable: false, autoDelete: true });
        const { queue } = await ch.assertQueue(`${exchange}_${randomUUID()}`, { exclusive: true, autoDelete: true, durable: false });
        await ch.bindQueue(queue, exchange, '');
        await ch.consume(queue, onMessage);
      },
    };
    return this.addConsumer(consumer);
  }

  async notify(event: BusNotification): Promise<void> {
    await this.send(this.notifyExchange, event.eventType, JSON.stringify(stampNotification(event)));
  }

  async subscribeNotifications(pattern: string, handler: NotificationHandler): Promise<Subscription> {
    const consumer: Consumer = {
      label: `notifications ${pattern}`,
      closed: false,
      declare: async (ch) => {
        const q = await ch.assertQueue(`${this.ns}notifications_${randomUUID()}`, { exclusive: true, autoDelete: true, durable: false });
        await ch.bindQueue(q.queue, this.notifyExchange, pattern);
        await ch.consume(q.queue, (msg) => {
          if (!msg || consumer.closed) return;
          Promise.resolve()
            .then(() => handler(JSON.parse(msg.content.toString()) as ReceivedNotification))
            .catch((err: unknown) => this.log.error({ err, pattern }, 'notification handler failed'));
        }, { noAck: true });
      },
    };
    return this.addConsumer(consumer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.settle(id, new BusClosedError('Bus closed before the reply arrived'));
    for (const c of this.consumers) c.closed = true;
    this.consumers.clear();
    this.model = undefined;
    this.publisher = undefined;
    // Closing the connection cancels every consumer; exclusive and auto-delete queues go with it.
    await this.conn?.close().catch((err: unknown) => this.log.debug({ err }, 'AMQP close failed'));
  }

  // ---- Connection life

  private watch(conn: RecoveringChannelModel): void {
    conn.on('error', () => {}); // logged by the listener attach() puts on each connection; without one, it would throw
    conn.on('disconnect', (err: Error) => this.onDisconnect(err));
    conn.on('reconnect-scheduled', (info: { attempt: number; delay: number }) =>
      this.log.warn({ attempt: info.attempt, delayMs: info.delay }, 'AMQP reconnect scheduled'));
    conn.on('reconnect-failed', (err: Error) => this.log.error({ err }, 'AMQP reconnection abandoned'));
    conn.on('blocked', (reason: string) => this.log.warn({ reason }, 'AMQP broker blocked publishing'));
  }

  /** Runs on every (re)connection, before it is handed out: channels, exchanges, reply queue, consumers. */
  private async attach(model: ChannelModel): Promise<void> {
    model.on('error', (err: Error) => this.log.warn({ err }, 'AMQP connection error'));
    const publisher = this.openPublisher(model);
    const pub = await publisher;
    await pub.assertExchange(this.rpcExchange, 'topic', { durable: false });
    await pub.assertExchange(this.notifyExchange, 'topic', { durable: false });
    const replies = await this.openChannel(model, 'replies');
    const { queue } = await replies.assertQueue(`${this.ns}reply_${randomUUID()}`, { exclusive: true, autoDelete: true, durable: false });
    await replies.consume(queue, (msg) => this.onReply(msg), { noAck: true });
    this.model = model;
    this.publisher = publisher;
    this.replyQueue = queue;
    for (const c of this.consumers) {
      await this.declare(c, model).catch((err: unknown) => this.log.error({ err, consumer: c.label }, 'cannot consume again after reconnect'));
    }
    this.log.info({ consumers: this.consumers.size }, 'AMQP bus connected');
  }

  private onDisconnect(err: Error): void {
    this.log.warn({ err }, 'AMQP connection lost; reconnecting');
    this.model = undefined;
    this.publisher = undefined;
    this.replyQueue = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, new BusError(`Lost the AMQP connection before the reply arrived: ${err.message}`));
  }

  private async openChannel(model: ChannelModel, label: string): Promise<Channel> {
    const ch = await model.createChannel();
    // A channel error emitted with no listener would throw out of amqplib and take the process down.
    ch.on('error', (err: Error) => this.log.warn({ err, channel: label }, 'AMQP channel error'));
    return ch;
  }

  private openPublisher(model: ChannelModel): Promise<Channel> {
    const opened = this.openChannel(model, 'publish').then((ch) => {
      ch.on('return', (msg: Message) => this.onReturned(msg));
      ch.on('close', () => {
        // A channel error (a fanout exchange deleted between check and publish, say) closes only this channel: open another.
        if (this.model === model && !this.closed) this.publisher = this.openPublisher(model);
      });
      return ch;
    });
    opened.catch(() => {}); // send() reports the failure; an unawaited one must not be an unhandled rejection
    return opened;
  }

  /** Checked on a throwaway channel: a missing exchange is a 404 that closes the channel it is asked on. */
  private async exchangeExists(exchange: string): Promise<boolean> {
    if (this.closed) throw new BusClosedError('Bus is closed');
    if (!this.model) throw new BusError('Not connected to the AMQP broker');
    const ch = await this.model.createChannel();
    ch.on('error', () => {}); // the 404 asked for
    try {
      await ch.checkExchange(exchange);
      void ch.close().catch(() => {});
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return false;
      throw new BusError(`Cannot check exchange ${exchange}: ${errorMessage(err)}`);
    }
  }

  private async publishChannel(): Promise<Channel> {
    if (this.closed) throw new BusClosedError('Bus is closed');
    if (!this.publisher) throw new BusError('Not connected to the AMQP broker');
    try {
      return await this.publisher;
    } catch (err) {
      throw new BusError(`No AMQP channel to publish on: ${errorMessage(err)}`);
    }
  }

  /** Resolves when the message is in amqplib's hands; waits for 'drain' if its buffer is full. */
  private async send(exchange: string, key: string, body: string, options: Options.Publish = {}): Promise<void> {
    const ch = await this.publishChannel();
    let flushed: boolean;
    try {
      flushed = ch.publish(exchange, key, Buffer.from(body), { contentType: 'application/json', ...options });
    } catch (err) {
      throw new BusError(`Cannot publish to ${exchange || 'reply queue'} ${key}: ${errorMessage(err)}`);
    }
    if (!flushed) await drained(ch);
  }

  private async addConsumer(c: Consumer): Promise<Subscription> {
    if (this.closed) throw new BusClosedError('Bus is closed');
    this.consumers.add(c);
    if (this.model) {
      try {
        await this.declare(c, this.model);
      } catch (err) {
        await this.removeConsumer(c);
        throw new BusError(`Cannot start ${c.label}: ${errorMessage(err)}`);
      }
    } else {
      this.log.warn({ consumer: c.label }, 'AMQP not connected; consuming starts on reconnect');
    }
    return { close: () => this.removeConsumer(c) };
  }

  private async declare(c: Consumer, model: ChannelModel): Promise<void> {
    if (c.model === model) return; // attach() and addConsumer() may race after a reconnect
    c.model = model;
    const ch = await this.openChannel(model, c.label);
    c.channel = ch;
    if (c.closed) return void (await ch.close().catch(() => {}));
    await c.declare(ch);
  }

  private async removeConsumer(c: Consumer): Promise<void> {
    c.closed = true;
    this.consumers.delete(c);
    const ch = c.channel;
    c.channel = undefined;
    // Closing the channel cancels its consumers; the broker requeues anything unacknowledged.
    await ch?.close().catch(() => {});
  }

  // ---- Messages

  private async onRequest(ch: Channel, c: Consumer, topic: string, handlers: Record<string, BusHandler>, msg: ConsumeMessage | null): Promise<void> {
    if (!msg) return void this.log.warn({ consumer: c.label }, 'broker cancelled the consumer (queue deleted?)');
    try {
      // Acknowledged before running, as oslo does: a call is run at most once, even if this process dies in it.
      // A server that is closing hands the message back for another server to take.
      if (c.closed) return ch.nack(msg, false, true);
      ch.ack(msg);
    } catch {
      return; // channel already closed: the broker requeues the message itself
    }
    const req = parseRequest(msg.content);
    if (!req) return void this.log.warn({ consumer: c.label }, 'malformed RPC message dropped');
    const reply = await runHandler(handlers, req, { requestId: req.requestId, topic, method: req.method });
    const { replyTo, correlationId } = msg.properties as { replyTo?: string; correlationId?: string };
    if (replyTo) {
      await this.send('', replyTo, encodeReply(reply, req.method), { correlationId })
        .catch((err: unknown) => this.log.debug({ err, method: req.method }, 'reply not sent'));
    } else if (reply.error) {
      this.log.warn({ topic, method: req.method, error: reply.error }, 'cast failed');
    }
  }

  private onReply(msg: ConsumeMessage | null): void {
    const id = msg?.properties.correlationId as string | undefined;
    if (!msg || !id) return;
    if (!this.pending.has(id)) return void this.log.debug({ correlationId: id }, 'late reply ignored');
    try {
      this.settle(id, JSON.parse(msg.content.toString()) as WireReply);
    } catch (err) {
      this.settle(id, new BusError(`Malformed reply: ${errorMessage(err)}`));
    }
  }

  /** A mandatory message no queue took: a call fails at once, a cast is logged as dropped. */
  private onReturned(msg: Message): void {
    const id = msg.properties.correlationId as string | undefined;
    const key = msg.fields.routingKey;
    if (id && this.pending.has(id)) this.settle(id, new BusError(`No server is listening on ${key}`));
    else this.log.warn({ target: key, method: parseRequest(msg.content)?.method }, 'cast dropped: no server is listening');
  }

  private settle(id: string, outcome: Error | WireReply): void {
    const call = this.pending.get(id);
    if (!call) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    if (outcome instanceof Error) call.reject(outcome);
    else settleReply(outcome, call.resolve, call.reject);
  }

  private fanoutExchange(topic: string): string {
    return `${this.ns}${topic}_fanout`;
  }
}

function parseRequest(content: Buffer): WireRequest | undefined {
  try {
    const req = JSON.parse(content.toString()) as Partial<WireRequest>;
    if (typeof req.method !== 'string' || typeof req.args !== 'object' || req.args === null) return undefined;
    return { method: req.method, args: req.args, requestId: typeof req.requestId === 'string' ? req.requestId : newRequestId() };
  } catch {
    return undefined;
  }
}

/** Resolves on 'drain', or on 'close' (nothing more will drain); never rejects. */
function drained(ch: Channel): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      ch.off('drain', done);
      ch.off('close', done);
      resolve();
    };
    ch.on('drain', done);
    ch.on('close', done);
  });
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
