import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from '../logger.js';
import { HttpError, isRenderedError, statusTitle, type ErrorFormatter } from '../errors.js';
import { newRequestId } from '../ids.js';

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  bodyLimit: number;
  errorFormat: ErrorFormatter;
}

const GLOBAL_REQUEST_ID = /^req-[0-9a-f-]{36}$/;

/**
 * A Fastify instance with what every OpenStack API shares: request ids, the service's
 * error format, strict JSON parsing with a size limit, structured request logs.
 */
export function createServiceApp(opts: ServiceAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger.child({ service: opts.service }),
    // One log line per request (ours, in onResponse) with the request id as request_id.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    bodyLimit: opts.bodyLimit,
    // Keystone ids and names may contain characters Fastify would otherwise reject in params.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-openstack-request-id', req.id);
    const global = req.headers['x-openstack-request-id'];
    if (typeof global === 'string' && GLOBAL_REQUEST_ID.test(global)) {
      req.log = req.log.child({ global_request_id: global });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  // OpenStack clients send "Content-Type: application/json" with empty bodies (DELETE, HEAD).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpError(400, 'The request body is not valid JSON.'), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    const httpErr = toHttpError(err);
    if (httpErr.status >= 500) req.log.error({ err }, 'unhandled error');
    else req.log.debug({ status: httpErr.status, message: httpErr.message }, 'client error');
    sendError(reply.code(httpErr.status).headers(httpErr.headers), opts.errorFormat(httpErr, { accept: req.headers.accept, requestId: req.id }));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new HttpError(404, `The resource could not be found.`);
    sendError(reply.code(404), opts.errorFormat(e, { accept: req.headers.accept, requestId: req.id }));
  });
  return app as unknown as FastifyInstance;
}

/** Sends a formatted error body: JSON, or text a format rendered with its own content type. */
function sendError(reply: FastifyReply, body: unknown): void {
  if (isRenderedError(body)) void reply.type(body.contentType).send(body.text);
  else void reply.type('application/json').send(body);
}

function toHttpError(err: FastifyError | HttpError | Error): HttpError {
  if (err instanceof HttpError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const v = fe.validation[0];
    const field = v?.instancePath ? v.instancePath.replace(/^\//, '').replaceAll('/', '.') : (v?.params as { missingProperty?: string })?.missingProperty ?? '';
    return new HttpError(400, `Invalid input for field '${field}': ${v?.message ?? fe.message}`);
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HttpError(fe.statusCode, fe.message, statusTitle(fe.statusCode));
  }
  return new HttpError(500, 'An unexpected error prevented the server from fulfilling your request.');
}
