import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr; NUBO_LOG_LEVEL or the config sets the level. */
export function createLogger(level = process.env.NUBO_LOG_LEVEL ?? 'info', name = 'nubo'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
