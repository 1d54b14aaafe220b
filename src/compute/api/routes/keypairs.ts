/**
 * Keypairs (Nova's os-keypairs): per user; admins manage other users' keys with ?user_id= (2.10).
 * `type` ssh|x509 since 2.2, paging since 2.35; 2.92 forbids generation (public_key required)
 * and widens the allowed name characters.
 */
import { badRequest } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { KeypairRow } from '../../db/schema.js';
import type { ComputeContext } from '../../service/context.js';
import { createKeypair, deleteKeypair, getKeypair, keypairId, listKeypairs, validateKeypairName, type KeyType } from '../../service/keypairs.js';
import { at, baseUrl, member, novaMicroTime, q1 } from '../common.js';

const P = 'os_compute_api:os-keypairs';
const OWNER_OR_ADMIN = '(rule:admin_api) or user_id:%(user_id)s';
export const keypairsPolicy: Record<string, string> = {
  [`${P}:index`]: OWNER_OR_ADMIN,
  [`${P}:create`]: OWNER_OR_ADMIN,
  [`${P}:show`]: OWNER_OR_ADMIN,
  [`${P}:delete`]: OWNER_OR_ADMIN,
};

/** The user a request is about: ?user_id= (2.10+), else the caller. */
const targetUser = (ctx: RequestCtx): string => (at(ctx, '2.10') ? q1(ctx, 'user_id') : undefined) || ctx.auth.userId;

export function keypairsRoutes(c: ComputeContext): Route[] {
  const typed = (ctx: RequestCtx, k: KeypairRow) => (at(ctx, '2.2') ? { type: k.type } : {});

  return [
    {
      method: 'GET', url: '/v2.1/os-keypairs', policy: `${P}:index`, target: (ctx) => ({ user_id: targetUser(ctx) }),
      handler: async (ctx) => {
        let page: { limit?: number; marker?: string } = {};
        if (at(ctx, '2.35')) {
          const l = q1(ctx, 'limit');
          if (l !== undefined && !/^\d+$/.test(l)) throw badRequest(`Invalid input for query parameters limit. Value: ${l}. '${l}' does not match '^[0-9]*$'`);
          page = { limit: l === undefined ? undefined : Math.min(Number(l), 1000), marker: q1(ctx, 'marker') };
        }
        const rows = await listKeypairs(c, targetUser(ctx), page);
        const body: Record<string, unknown> = {
          keypairs: rows.map((k) => ({ keypair: { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, ...typed(ctx, k) } })),
        };
        if (page.limit !== undefined && rows.length > 0 && rows.length === page.limit) {
          const u = new URL(`${baseUrl(ctx)}${ctx.req.url}`);
          u.searchParams.set('marker', rows[rows.length - 1].name);
          body.keypairs_links = [{ rel: 'next', href: u.toString() }];
        }
        return body;
      },
    },
    {
      method: 'GET', url: '/v2.1/os-keypairs/:name', policy: `${P}:show`, target: (ctx) => ({ user_id: targetUser(ctx) }),
      handler: async (ctx) => {
        const k = await getKeypair(c, targetUser(ctx), ctx.params.name);
        return {
          keypair: {
            id: keypairId(k), name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, user_id: k.user_id, ...typed(ctx, k),
            created_at: novaMicroTime(k.created_at), updated_at: null, deleted: false, deleted_at: null,
          },
        };
      },
    },
    {
      method: 'POST', url: '/v2.1/os-keypairs', policy: 'authenticated',
      handler: async (ctx) => {
        const kp = member(ctx.body, 'keypair');
        const allowed = new Set(['name', 'public_key']);
        if (at(ctx, '2.2')) allowed.add('type');
        if (at(ctx, '2.10')) allowed.add('user_id');
        for (const k of Object.keys(kp)) if (!allowed.has(k)) throw badRequest(`Invalid input for field/attribute keypair. Value: ${JSON.stringify(kp)}. Additional properties are not allowed ('${k}' was unexpected)`);
        if (!('name' in kp)) throw badRequest(`Invalid input for field/attribute keypair. Value: ${JSON.stringify(kp)}. 'name' is a required property`);
        const v292 = at(ctx, '2.92');
        if (v292 && !('public_key' in kp)) throw badRequest(`Invalid input for field/attribute keypair. Value: ${JSON.stringify(kp)}. 'public_key' is a required property`);
        const name = validateKeypairName(kp.name, v292);
        if (kp.public_key !== undefined && typeof kp.public_key !== 'string') throw badRequest(`Invalid input for field/attribute public_key. Value: ${JSON.stringify(kp.public_key)}. ${JSON.stringify(kp.public_key)} is not of type 'string'`);
        let type: KeyType = 'ssh';
        if (kp.type !== undefined) {
          if (kp.type !== 'ssh' && kp.type !== 'x509') throw badRequest(`Invalid input for field/attribute type. Value: ${JSON.stringify(kp.type)}. ${JSON.stringify(kp.type)} is not one of ['ssh', 'x509']`);
          type = kp.type;
        }
        if (kp.user_id !== undefined && (typeof kp.user_id !== 'string' || kp.user_id === '')) throw badRequest(`Invalid input for field/attribute user_id. Value: ${JSON.stringify(kp.user_id)}. ${JSON.stringify(kp.user_id)} is not of type 'string'`);
        const userId: string = kp.user_id ?? ctx.auth.userId;
        ctx.enforce(`${P}:create`, { user_id: userId });
        const { row, privateKey } = await createKeypair(c, { userId, projectId: ctx.auth.projectId ?? '', name, type, publicKey: kp.public_key });
        return ctx.reply.code(at(ctx, '2.2') ? 201 : 200).send({
          keypair: {
            name: row.name, public_key: row.public_key, fingerprint: row.fingerprint, user_id: row.user_id, ...typed(ctx, row),
            ...(privateKey !== undefined ? { private_key: privateKey } : {}),
          },
        });
      },
    },
    {
      method: 'DELETE', url: '/v2.1/os-keypairs/:name', policy: `${P}:delete`, target: (ctx) => ({ user_id: targetUser(ctx) }),
      handler: async (ctx) => {
        await deleteKeypair(c, targetUser(ctx), ctx.params.name);
        return ctx.reply.code(at(ctx, '2.2') ? 204 : 202).send();
      },
    },
  ];
}
