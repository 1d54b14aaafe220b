import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { AuthContext, TokenVerifier } from '../auth/context.js';
import { forbidden, unauthorized } from '../errors.js';
import { credentialsOf, type PolicyEnforcer, type Target } from '../policy/enforcer.js';

/** What a handler gets: the parsed request, the caller, and a policy check for richer targets. */
export interface RequestCtx<B = any> {
  req: FastifyRequest;
  reply: FastifyReply;
  /** Set for every route whose policy is not 'public'. */
  auth: AuthContext;
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
  body: B;
  /** Enforces a policy rule against a target; throws 403. */
  enforce(rule: string, target?: Target): void;
  /** Evaluates a policy rule without throwing. */
  allowed(rule: string, target?: Target): boolean;
}

/**
 * One line of a service's route table. `policy` is a rule name, or 'public' (no token),
 * or 'authenticated' (any valid token). `target` loads the policy target (may throw 404).
 */
export interface Route {
  method: HTTPMethods | HTTPMethods[];
  url: string;
  policy: string;
  schema?: { body?: object; querystring?: object };
  target?: (ctx: RequestCtx) => Promise<Target> | Target;
  /** Default status for a successful response (200, or 204 when the handler returns nothing). */
  status?: number;
  handler: (ctx: RequestCtx) => Promise<unknown> | unknown;
}

export interface RouteDeps {
  verifier: TokenVerifier;
  policy: PolicyEnforcer;
}

/** Registers a route table on an app: token check, policy, schema validation, thin handler. */
export function registerRoutes(app: FastifyInstance, routes: Route[], deps: RouteDeps): void {
  // Explicit HEAD routes first, so Fastify does not derive its own HEAD from the GET twin.
  const ordered = [...routes].sort((a, b) => Number(isHead(b)) - Number(isHead(a)));
  for (const route of ordered) {
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      handler: async (req, reply) => {
        const ctx = await buildCtx(req, reply, route, deps);
        if (route.policy !== 'public' && route.policy !== 'authenticated') {
          const target = route.target ? await route.target(ctx) : { ...ctx.params };
          ctx.enforce(route.policy, target);
        }
        const result = await route.handler(ctx);
        // A handler that sent its own answer (a stream, a 204) returns the reply itself.
        if (reply.sent || result === reply) return reply;
        if (result === undefined) return reply.code(route.status ?? 204).send();
        return reply.code(route.status ?? 200).send(result);
      },
    });
  }
}

const isHead = (r: Route) => r.method === 'HEAD' || (Array.isArray(r.method) && r.method.includes('HEAD'));

async function buildCtx(req: FastifyRequest, reply: FastifyReply, route: Route, deps: RouteDeps): Promise<RequestCtx> {
  let auth: AuthContext | undefined;
  if (route.policy !== 'public') {
    const token = req.headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') throw unauthorized();
    auth = await deps.verifier.verify(token);
    req.log = req.log.child({ user_id: auth.userId, project_id: auth.projectId });
  }
  const allowed = (rule: string, target: Target = {}) =>
    auth !== undefined && deps.policy.authorize(rule, credentialsOf(auth), target);
  return {
    req,
    reply,
    auth: auth as AuthContext,
    params: (req.params ?? {}) as Record<string, string>,
    query: (req.query ?? {}) as Record<string, string | string[] | undefined>,
    body: req.body,
    allowed,
    enforce(rule, target = {}) {
      if (!allowed(rule, target)) throw forbidden(`You are not authorized to perform the requested action: ${rule}.`);
    },
  };
}
