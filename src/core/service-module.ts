import type { FastifyInstance } from 'fastify';
import type { ServiceName } from './config.js';
import type { ErrorFormatter } from './errors.js';
import type { RouteDeps } from './http/routes.js';

/** What the composition root needs of a service: its API on an app, and its lifecycle. */
export interface ServiceModule {
  name: ServiceName;
  /** The error body format of this API (Keystone, Glance, Nova... differ). */
  errorFormat: ErrorFormatter;
  /** Default policy rules; the operator's policy file overrides them. */
  policyDefaults: Record<string, string>;
  /** Registers the routes (and any hooks) on the service's own listener. */
  attach(app: FastifyInstance, deps: RouteDeps): void;
  /** Runs once every listener is up and identity is bootstrapped (first-start work); `ports` are the bound ones. */
  start?(ctx: StartContext): Promise<void>;
  close(): Promise<void>;
}

export interface StartContext {
  /** The port each service really listens on (tests bind port 0). */
  ports: Record<ServiceName, number>;
  /** Project ids the identity bootstrap made (first-start resources go to them). */
  projects: { admin: string; demo: string };
}
