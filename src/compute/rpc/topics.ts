import type { Bus, BusArgs } from '../../core/bus/bus.js';

/**
 * The compute service's bus topics, as Nova's: the API casts to the conductor (scheduling,
 * builds); the conductor and API cast or call a host's agent on `compute.<host>`.
 */
export const CONDUCTOR_TOPIC = 'conductor';
export const AGENT_TOPIC = 'compute';

export const castConductor = (bus: Bus, method: string, args: BusArgs, requestId: string) =>
  bus.cast({ topic: CONDUCTOR_TOPIC }, method, args, { requestId });

export const castAgent = (bus: Bus, host: string, method: string, args: BusArgs, requestId: string) =>
  bus.cast({ topic: AGENT_TOPIC, server: host }, method, args, { requestId });

export const callAgent = <T>(bus: Bus, host: string, method: string, args: BusArgs, requestId: string, timeoutMs = 60_000) =>
  bus.call<T>({ topic: AGENT_TOPIC, server: host }, method, args, { requestId, timeoutMs });
