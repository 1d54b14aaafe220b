import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';

/** The body is {"config": {...}}; what the config holds is checked as Keystone does (403 when invalid). */
const configBody = { type: 'object', properties: { config: { type: 'object' } } };

const SECURITY_COMPLIANCE = 'security_compliance';

/** Domain-specific configuration and the defaults domains fall back on. */
export const domainConfigRoutes = (s: IdentityServices): Route[] => {
  const configs = s.domainConfigs;
  /** Checked after policy, as Keystone does, so the answer does not reveal which domains exist. */
  const domain = (ctx: RequestCtx) => s.projects.getDomain(ctx.params.domain_id);
  const bodyConfig = (ctx: RequestCtx): unknown => (ctx.body as { config?: unknown } | undefined)?.config ?? {};

  const show = (withGroup: boolean, withOption: boolean): Route => ({
    method: 'GET',
    url: `/v3/domains/:domain_id/config${withGroup ? '/:group' : ''}${withOption ? '/:option' : ''}`,
    policy: 'authenticated',
    handler: async (ctx) => {
      const { group, option } = ctx.params;
      if (group === SECURITY_COMPLIANCE) {
        ctx.enforce('identity:get_security_compliance_domain_config', { target: { domain: { id: ctx.params.domain_id } } });
        await domain(ctx);
        return { config: configs.securityCompliance(ctx.params.domain_id, option) };
      }
      ctx.enforce('identity:get_domain_config', { target: { domain: { id: ctx.params.domain_id } } });
      await domain(ctx);
      return { config: await configs.get(ctx.params.domain_id, group, option) };
    },
  });
  const update = (withGroup: boolean, withOption: boolean): Route => ({
    method: 'PATCH',
    url: `/v3/domains/:domain_id/config${withGroup ? '/:group' : ''}${withOption ? '/:option' : ''}`,
    policy: 'identity:update_domain_config', schema: { body: configBody },
    handler: async (ctx) => {
      await domain(ctx);
      return { config: await configs.update(ctx.params.domain_id, bodyConfig(ctx), ctx.params.group, ctx.params.option) };
    },
  });
  const remove = (withGroup: boolean, withOption: boolean): Route => ({
    method: 'DELETE',
    url: `/v3/domains/:domain_id/config${withGroup ? '/:group' : ''}${withOption ? '/:option' : ''}`,
    policy: 'identity:delete_domain_config',
    handler: async (ctx) => {
      await domain(ctx);
      await configs.delete(ctx.params.domain_id, ctx.params.group, ctx.params.option);
    },
  });

  return [
    {
      // Creates (201) or replaces (200) the whole configuration.
      method: 'PUT', url: '/v3/domains/:domain_id/config', policy: 'identity:create_domain_config', schema: { body: configBody },
      handler: async (ctx) => {
        await domain(ctx);
        const existed = await configs.exists(ctx.params.domain_id);
        const config = await configs.replace(ctx.params.domain_id, bodyConfig(ctx));
        return ctx.reply.code(existed ? 200 : 201).send({ config });
      },
    },
    show(false, false), show(true, false), show(true, true),
    update(false, false), update(true, false), update(true, true),
    remove(false, false), remove(true, false), remove(true, true),
    {
      method: 'GET', url: '/v3/domains/config/default', policy: 'identity:get_domain_config_default',
      handler: () => ({ config: configs.defaults() }),
    },
    {
      method: 'GET', url: '/v3/domains/config/:group/default', policy: 'identity:get_domain_config_default',
      handler: ({ params }) => ({ config: configs.defaults(params.group) }),
    },
    {
      method: 'GET', url: '/v3/domains/config/:group/:option/default', policy: 'identity:get_domain_config_default',
      handler: ({ params }) => ({ config: configs.defaults(params.group, params.option) }),
    },
  ];
};
