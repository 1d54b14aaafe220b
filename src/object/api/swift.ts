/** The Swift v1 front end: routes, the request context (path, token, ownership) and dispatch. */
import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { accountRequest } from './account.js';
import { containerRequest } from './container.js';
import { objectRequest } from './objects.js';
import { checkTempUrl } from './tempurl.js';
import { formPost } from './formpost.js';
import { type Ctx, type SwiftDeps, hdr, swiftError, transId } from './common.js';
/** The Swift v1 API on a Fastify app: /info, /healthcheck, /crossdomain.xml and /v1/AUTH_.../... */
export function registerSwift(app: FastifyInstance, deps: SwiftDeps, info: () => Record<string, unknown>): void {
  // Any content type is object data: nothing is parsed, the handler streams req.raw itself.
  // COPY is Swift's server-side copy verb (Node parses it; Fastify needs to be told).
  if (!app.supportedMethods.includes('COPY')) app.addHttpMethod('COPY', { hasBody: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  app.addHook('onRequest', async (_req, reply) => {
    const tx = transId();
    reply.header('x-trans-id', tx).header('x-openstack-request-id', tx);
  });
  app.route({ method: ['GET', 'HEAD'], url: '/info', handler: async (_req, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(info())) });
  app.route({ method: ['GET', 'HEAD'], url: '/healthcheck', handler: async (_req, reply) => reply.type('text/plain').send('OK') });
  app.route({
    method: ['GET', 'HEAD'], url: '/crossdomain.xml', handler: async (_req, reply) => reply.type('application/xml; charset=utf-8').send(
      '<?xml version="1.0"?>\n<!DOCTYPE cross-domain-policy SYSTEM "http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >\n<cross-domain-policy>\n<allow-access-from domain="*" secure="false" />\n</cross-domain-policy>'),
  });
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = await context(req, reply, deps);
    return ctx ? dispatch(ctx, deps) : reply;
  };
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY'], url: '/v1/*', handler });
}

/** The request's context, or undefined when it was already answered (FormPOST). */
async function context(req: FastifyRequest, reply: FastifyReply, deps: SwiftDeps): Promise<Ctx | undefined> {
  const [rawPath, rawQuery = ''] = req.url.split('?', 2) as [string, string?];
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQuery)) query[k] = v;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw swiftError(412, 'Invalid UTF8 or contains NULL');
  }
  if (path.includes('\0')) throw swiftError(412, 'Invalid UTF8 or contains NULL');
  const rest = path.slice('/v1/'.length);
  const i = rest.indexOf('/');
  const account = i < 0 ? rest : rest.slice(0, i);
  let container: string | undefined;
  let object: string | undefined;
  if (i >= 0) {
    const after = rest.slice(i + 1);
    const j = after.indexOf('/');
    container = j < 0 ? after : after.slice(0, j);
    object = j < 0 ? undefined : after.slice(j + 1);
    if (container === '') {
      if (object !== undefined) throw swiftError(404);
      container = undefined;
    }
    if (object === '') object = undefined;
  }
  if (!account) throw swiftError(404);
  // WSGI cannot tell '_' from '-' in header names; Swift clients rely on that.
  for (const k of Object.keys(req.headers)) if (k.includes('_')) req.headers[k.replaceAll('_', '-')] ??= req.headers[k];
  if (query.temp_url_sig !== undefined && ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'].includes(req.method)) {
    // A TempURL stands for the account owner, for this one object and method only.
    await checkTempUrl(deps.repo, reply, req.method, path, { account, container, object }, query);
    return { req, reply, method: req.method, query, account, projectId: account.slice(5), container, object, owner: true, reseller: false };
  }
  if (req.method === 'POST' && container !== undefined && /^multipart\/form-data/i.test(hdr(req, 'content-type') ?? '')) {
    const ctx: Ctx = { req, reply, method: req.method, query, account, projectId: account.slice(5), container, object, owner: false, reseller: false };
    await formPost(ctx, deps.repo, deps.data, path);
    return undefined;
  }
  const token = hdr(req, 'x-auth-token') ?? hdr(req, 'x-storage-token');
  const auth = token ? await deps.verifier.verify(token) : undefined;
  const projectId = account.startsWith('AUTH_') ? account.slice(5) : '';
  const roles = new Set((auth?.roles ?? []).map((r) => r.name.toLowerCase()));
  const reseller = deps.resellerRoles.some((r) => roles.has(r.toLowerCase()));
  const owner = !!auth && projectId !== '' && (reseller || (auth.projectId === projectId && deps.operatorRoles.some((r) => roles.has(r.toLowerCase()))));
  return { req, reply, method: req.method, query, auth, account, projectId, container, object, owner, reseller };
}


async function dispatch(ctx: Ctx, deps: SwiftDeps): Promise<unknown> {
  if (ctx.object !== undefined) return objectRequest(ctx, deps);
  if (ctx.container !== undefined) return containerRequest(ctx, deps);
  return accountRequest(ctx, deps);
}
