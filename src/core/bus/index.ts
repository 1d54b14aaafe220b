import { createLogger } from '../logger.js';
import { AmqpBus, type AmqpBusOptions } from './amqp-bus.js';
import { type Bus, type BusLogger, BusError } from './bus.js';
import { InProcessBus } from './in-process-bus.js';

export * from './bus.js';
export { AmqpBus, type AmqpBusOptions } from './amqp-bus.js';
export { InProcessBus, type InProcessBusOptions } from './in-process-bus.js';

export interface CreateBusOptions extends Partial<Omit<AmqpBusOptions, 'logger'>> {
  /** pino-like; defaults to a `bus` logger on stderr. */
  logger?: BusLogger;
}

let defaultLogger: BusLogger | undefined;

/**
 * The bus a URL names. No URL, or `inprocess://`, is the one-process bus; `inprocess://NAME` is a
 * separate in-process hub (buses made with the same NAME reach each other). `amqp://` and `amqps://`
 * connect to RabbitMQ, and reject if it cannot be reached.
 */
export async function createBus(url: string | undefined, opts: CreateBusOptions = {}): Promise<Bus> {
  const logger = opts.logger ?? (defaultLogger ??= createLogger(undefined, 'bus'));
  if (url === undefined || url === '') return new InProcessBus({ logger });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BusError('Bus URL is not a URL'); // the URL itself may hold a password: not echoed
  }
  switch (parsed.protocol) {
    case 'inprocess:':
      return new InProcessBus({ logger, hub: parsed.hostname || undefined });
    case 'amqp:':
    case 'amqps:':
      return AmqpBus.connect(url, { ...opts, logger });
    default:
      throw new BusError(`Unsupported bus URL scheme ${parsed.protocol} (expected inprocess:, amqp: or amqps:)`);
  }
}
