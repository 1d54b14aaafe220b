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
  /** Runs once every listener is up and identity is bootstrapped (first-start work). */
  start?(): Promise<void>;
  close(): Promise<void>;
}
