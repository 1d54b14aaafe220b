/**
 * QoS specs (admin): named key/value sets with a consumer, associated with volume types.
 * Recorded and shown as Cinder does; this build's back ends do not enforce them.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound } from '../../../core/errors.js';
import { isUniqueViolation } from '../../../core/db/database.js';
import { nowIso } from '../../../core/ids.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { QosSpecRow } from '../../db/schema.js';
import { fromJson, toJson, type VolumeContext } from '../../service/context.js';
import { findType } from '../../service/types.js';
import { baseUrl, isObj, member, metadataOf, q1 } from '../common.js';

export const qosPolicy: Record<string, string> = { 'volume_extension:qos_specs_manage': 'rule:admin_api' };

const CONSUMERS = ['front-end', 'back-end', 'both'];

export function qosRoutes(c: VolumeContext): Route[] {
  const b = '/v3/:project_id/qos-specs';
  const rule = 'volume_extension:qos_specs_manage';
  const own = (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' });
  const view = (q: QosSpecRow) => ({ name: q.name, id: q.id, consumer: q.consumer, specs: fromJson<Record<string, string>>(q.specs, {}) });
  const links = (ctx: RequestCtx, id: string) => [
    { rel: 'self', href: `${baseUrl(ctx)}/v3/${ctx.auth.projectId}/qos-specs/${id}` }, { rel: 'bookmark', href: `${baseUrl(ctx)}/${ctx.auth.projectId}/qos-specs/${id}` },
  ];
  const get = async (id: string) => {
    const q = await c.db.selectFrom('qos_spec').selectAll().where('id', '=', id).executeTakeFirst();
    if (!q) throw notFound(`QoS Specs ${id} could not be found.`);
    return q;
  };
  const typeArg = async (ctx: RequestCtx) => {
    const t = q1(ctx, 'vol_type_id');
    if (!t) throw badRequest('Invalid input received: vol_type_id is required.');
    return findType(c, t);
  };
  const r = (method: Route['method'], url: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url: `${b}${url}`, policy: rule, target: own, handler, ...(status ? { status } : {}) });
  return [
    r('GET', '', async () => ({ qos_specs: (await c.db.selectFrom('qos_spec').selectAll().orderBy('created_at').execute()).map(view) })),
    r('POST', '', async (ctx) => {
      const { name, consumer = 'back-end', ...specs } = member(ctx.body, 'qos_specs');
      if (typeof name !== 'string' || !name.trim() || name.length > 255) throw badRequest('Invalid input received: Please specify a name for QoS specs.');
      if (!CONSUMERS.includes(consumer)) throw badRequest(`Invalid input received: Invalid consumer ${String(consumer)}: it must be front-end, back-end or both.`);
      const row: QosSpecRow = { id: randomUUID(), name, consumer, specs: toJson(metadataOf(specs, 'specs')), created_at: nowIso() };
      try {
        await c.db.insertInto('qos_spec').values(row).execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict(`QoS Specs ${name} already exists.`);
        throw e;
      }
      return { qos_specs: view(row), links: links(ctx, row.id) };
    }),
    r('GET', '/:id', async (ctx) => ({ qos_specs: view(await get(ctx.params.id)), links: links(ctx, ctx.params.id) })),
    r('PUT', '/:id', async (ctx) => {
      const q = await get(ctx.params.id);
      const set = metadataOf(member(ctx.body, 'qos_specs'), 'qos_specs');
      await c.db.updateTable('qos_spec').set({ specs: toJson({ ...fromJson<Record<string, string>>(q.specs, {}), ...set }) }).where('id', '=', q.id).execute();
      return { qos_specs: set };
    }),
    r('PUT', '/:id/delete_keys', async (ctx) => {
      const q = await get(ctx.params.id);
      const keys = isObj(ctx.body) ? ctx.body.keys : undefined;
      if (!Array.isArray(keys)) throw badRequest('Invalid input received: keys must be a list.');
      const specs = fromJson<Record<string, string>>(q.specs, {});
      for (const k of keys) {
        if (!(k in specs)) throw notFound(`QoS spec ${String(k)} not found in ${q.id}.`);
        delete specs[k];
      }
      await c.db.updateTable('qos_spec').set({ specs: toJson(specs) }).where('id', '=', q.id).execute();
    }, 202),
    r('DELETE', '/:id', async (ctx) => {
      const q = await get(ctx.params.id);
      const force = q1(ctx, 'force');
      const used = await c.db.selectFrom('volume_type').select('id').where('qos_specs_id', '=', q.id).executeTakeFirst();
      if (used && !(force && /^(true|1|yes)$/i.test(force))) throw badRequest(`Invalid input received: QoS Specs ${q.id} is still associated with entities.`);
      await c.db.updateTable('volume_type').set({ qos_specs_id: null }).where('qos_specs_id', '=', q.id).execute();
      await c.db.deleteFrom('qos_spec').where('id', '=', q.id).execute();
    }, 202),
    r('GET', '/:id/associate', async (ctx) => {
      const q = await get(ctx.params.id);
      const t = await typeArg(ctx);
      if (t.qos_specs_id && t.qos_specs_id !== q.id) throw badRequest(`Invalid input received: Type ${t.id} is already associated with another qos specs: ${t.qos_specs_id}`);
      await c.db.updateTable('volume_type').set({ qos_specs_id: q.id }).where('id', '=', t.id).execute();
    }, 202),
    r('GET', '/:id/associations', async (ctx) => {
      const q = await get(ctx.params.id);
      const types = await c.db.selectFrom('volume_type').select(['id', 'name']).where('qos_specs_id', '=', q.id).execute();
      return { qos_associations: types.map((t) => ({ association_type: 'volume_type', id: t.id, name: t.name })) };
    }),
    r('GET', '/:id/disassociate', async (ctx) => {
      const q = await get(ctx.params.id);
      const t = await typeArg(ctx);
      await c.db.updateTable('volume_type').set({ qos_specs_id: null }).where('id', '=', t.id).where('qos_specs_id', '=', q.id).execute();
    }, 202),
    r('GET', '/:id/disassociate_all', async (ctx) => {
      const q = await get(ctx.params.id);
      await c.db.updateTable('volume_type').set({ qos_specs_id: null }).where('qos_specs_id', '=', q.id).execute();
    }, 202),
  ];
}
