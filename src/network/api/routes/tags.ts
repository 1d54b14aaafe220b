/** Tags on resources (standard-attr-tag): /v2.0/{collection}/{id}/tags[/{tag}]. */
import type { Kysely } from 'kysely';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { badRequest, forbidden } from '../../../core/errors.js';
import type { NetworkDB } from '../../db/schema.js';
import type { Caller, NetworkContext } from '../../service/context.js';
import { neutronError } from '../../service/errors.js';
import { canSeeNetwork } from '../../service/networks.js';
import { canSeeGroup } from '../../service/security-groups.js';
import { addTag, removeTag, replaceTags, TAGGABLE, tagsOf, validateTag } from '../../service/tags.js';
import { callerOf } from '../common.js';

/** The URL segment of a TAGGABLE collection (security_groups → security-groups). */
const segmentOf = (collection: string) => collection.replace(/_/g, '-');

/** Resource names in Neutron's NotFound messages. */
const NAMES: Record<string, string> = {
  networks: 'Network', subnets: 'Subnet', ports: 'Port', routers: 'Router', floatingips: 'Floating IP',
  security_groups: 'Security group', subnetpools: 'Subnet pool', address_scopes: 'Address scope',
};

type Row = { id: string; project_id: string; shared?: number; network_id?: string };

/** Whether a caller sees a resource, as the resource's own GET decides. */
async function visible(db: Kysely<NetworkDB>, caller: Caller, collection: string, r: Row): Promise<boolean> {
  if (caller.isAdmin || r.project_id === caller.projectId) return true;
  switch (collection) {
    case 'networks': {
      const n = await db.selectFrom('network').selectAll().where('id', '=', r.id).executeTakeFirst();
      return !!n && canSeeNetwork(db, caller, n);
    }
    case 'subnets': {
      const n = await db.selectFrom('network').selectAll().where('id', '=', r.network_id ?? '').executeTakeFirst();
      return !!n && canSeeNetwork(db, caller, n);
    }
    case 'ports': {
      const n = await db.selectFrom('network').select('project_id').where('id', '=', r.network_id ?? '').executeTakeFirst();
      return n?.project_id === caller.projectId;
    }
    case 'security_groups': {
      const g = await db.selectFrom('security_group').selectAll().where('id', '=', r.id).executeTakeFirst();
      return !!g && canSeeGroup(db, caller, g);
    }
    case 'subnetpools': case 'address_scopes': return !!r.shared;
    default: return false;
  }
}

export function tagsRoutes(c: NetworkContext): Route[] {
  /** The resource's table after checking it exists, is visible (404) and, for changes, is the caller's (403). */
  const resource = async (ctx: RequestCtx, collection: string, change: boolean): Promise<keyof NetworkDB> => {
    const table = TAGGABLE[collection];
    const caller = callerOf(ctx);
    const id = ctx.params.id;
    const cols = ['id', 'project_id', ...(['subnets', 'ports'].includes(collection) ? ['network_id'] : []), ...(['subnetpools', 'address_scopes'].includes(collection) ? ['shared'] : [])];
    const r = await (c.db as Kysely<any>).selectFrom(table).select(cols).where('id', '=', id).executeTakeFirst() as Row | undefined;
    if (!r || !(await visible(c.db, caller, collection, r))) {
      throw neutronError(404, 'NotFound', `${NAMES[collection]} ${id} could not be found.`);
    }
    if (change && !caller.isAdmin && r.project_id !== caller.projectId) throw forbidden(`You are not authorized to perform the requested action: update_${collection}_tags.`);
    return table;
  };
  const list = async (id: string) => ({ tags: (await tagsOf(c.db, [id])).get(id) ?? [] });
  const tagNotFound = (ctx: RequestCtx, collection: string) =>
    neutronError(404, 'TagNotFound', `Tag ${ctx.params.tag} could not be found for ${collection.replace(/s$/, '')} ${ctx.params.id}.`);

  return Object.keys(TAGGABLE).flatMap((collection): Route[] => {
    const base = `/v2.0/${segmentOf(collection)}/:id/tags`;
    return [
      {
        method: 'GET', url: base, policy: 'authenticated',
        handler: async (ctx) => { await resource(ctx, collection, false); return list(ctx.params.id); },
      },
      {
        method: 'PUT', url: base, policy: 'authenticated',
        handler: async (ctx) => {
          const table = await resource(ctx, collection, true);
          const tags = (ctx.body as { tags?: unknown } | undefined)?.tags;
          if (!Array.isArray(tags)) throw badRequest("Invalid input for tags. Reason: 'tags' must be a list.");
          await replaceTags(c.db, table, ctx.params.id, tags.map(validateTag));
          return list(ctx.params.id);
        },
      },
      {
        method: 'DELETE', url: base, policy: 'authenticated',
        handler: async (ctx) => { await removeTag(c.db, await resource(ctx, collection, true), ctx.params.id); },
      },
      {
        method: 'GET', url: `${base}/:tag`, policy: 'authenticated',
        handler: async (ctx) => {
          await resource(ctx, collection, false);
          if (!((await list(ctx.params.id)).tags.includes(ctx.params.tag))) throw tagNotFound(ctx, collection);
        },
      },
      {
        method: 'PUT', url: `${base}/:tag`, policy: 'authenticated',
        handler: async (ctx) => {
          await addTag(c.db, await resource(ctx, collection, true), ctx.params.id, ctx.params.tag);
          return ctx.reply.code(201).send();
        },
      },
      {
        method: 'DELETE', url: `${base}/:tag`, policy: 'authenticated',
        handler: async (ctx) => {
          if (!(await removeTag(c.db, await resource(ctx, collection, true), ctx.params.id, ctx.params.tag))) throw tagNotFound(ctx, collection);
        },
      },
    ];
  });
}
