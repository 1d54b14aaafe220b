/**
 * Volume type encryption specs (admin; os-volume-type-encryption): the provider, cipher, key
 * size and control location a front end would encrypt the type's volumes with. This build has
 * no key manager, so volumes of an encrypted type are refused at creation (service/volumes.ts)
 * instead of being created unencrypted.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { TypeEncryptionRow } from '../../db/schema.js';
import type { VolumeContext } from '../../service/context.js';
import { findType } from '../../service/types.js';
import { cinderTime, member } from '../common.js';

export const encryptionPolicy: Record<string, string> = { 'volume_extension:volume_type_encryption': 'rule:admin_api' };

const LOCATIONS = ['front-end', 'back-end'];
type Spec = Pick<TypeEncryptionRow, 'provider' | 'cipher' | 'key_size' | 'control_location'>;

/** The fields of an `encryption` body, checked; `partial` for an update. */
function specOf(body: unknown, partial: boolean): Partial<Spec> {
  const e = member(body, 'encryption');
  const out: Partial<Spec> = {};
  for (const k of Object.keys(e)) if (!['provider', 'cipher', 'key_size', 'control_location'].includes(k)) throw badRequest(`Invalid input received: unknown encryption field '${k}'.`);
  if (e.provider !== undefined || !partial) {
    if (typeof e.provider !== 'string' || !e.provider.trim() || e.provider.length > 255) throw badRequest('Invalid input received: provider must be specified.');
    out.provider = e.provider;
  }
  if (e.cipher !== undefined) {
    if (e.cipher !== null && (typeof e.cipher !== 'string' || e.cipher.length > 255)) throw badRequest('Invalid input received: cipher must be a string.');
    out.cipher = e.cipher;
  }
  if (e.key_size !== undefined) {
    if (e.key_size !== null && !(Number.isInteger(e.key_size) && e.key_size > 0)) throw badRequest('Invalid input received: key_size must be a positive integer.');
    out.key_size = e.key_size;
  }
  if (e.control_location !== undefined || !partial) {
    const loc = e.control_location ?? 'front-end';
    if (!LOCATIONS.includes(loc)) throw badRequest(`Invalid input received: control_location must be one of ${LOCATIONS.join(', ')}.`);
    out.control_location = loc;
  }
  return out;
}

export function encryptionRoutes(c: VolumeContext): Route[] {
  const b = '/v3/:project_id/types/:type_id/encryption';
  const rule = 'volume_extension:volume_type_encryption';
  const own = (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' });
  const get = (typeId: string) => c.db.selectFrom('volume_type_encryption').selectAll().where('volume_type_id', '=', typeId).executeTakeFirst();
  const notInUse = async (typeId: string, what: string) => {
    const used = await c.db.selectFrom('volume').select('id').where('volume_type_id', '=', typeId).executeTakeFirst();
    if (used) throw badRequest(`Invalid volume type: Cannot ${what} encryption specs. Volume type in use.`);
  };
  const view = (e: TypeEncryptionRow) => ({
    volume_type_id: e.volume_type_id, encryption_id: e.encryption_id, provider: e.provider, cipher: e.cipher, key_size: e.key_size,
    control_location: e.control_location, deleted: false, created_at: cinderTime(e.created_at), updated_at: cinderTime(e.updated_at), deleted_at: null,
  });
  const r = (method: Route['method'], url: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url: `${b}${url}`, policy: rule, target: own, handler, ...(status ? { status } : {}) });
  return [
    // Cinder answers {} for a type without encryption
    r('GET', '', async (ctx) => {
      const e = await get((await findType(c, ctx.params.type_id)).id);
      return e ? view(e) : {};
    }),
    r('GET', '/:key', async (ctx) => {
      const t = await findType(c, ctx.params.type_id);
      const e = await get(t.id);
      const v = e ? (view(e) as Record<string, unknown>)[ctx.params.key] : undefined;
      if (!e || v === undefined) throw notFound(`Volume type encryption for type ${t.id} has no ${ctx.params.key}.`);
      return { [ctx.params.key]: v === null ? null : String(v) };
    }),
    r('POST', '', async (ctx) => {
      const t = await findType(c, ctx.params.type_id);
      const spec = specOf(ctx.body, false) as Spec;
      if (await get(t.id)) throw badRequest(`Volume type encryption for type ${t.id} already exists.`);
      await notInUse(t.id, 'create');
      const row: TypeEncryptionRow = {
        volume_type_id: t.id, encryption_id: randomUUID(), provider: spec.provider, cipher: spec.cipher ?? null, key_size: spec.key_size ?? null,
        control_location: spec.control_location, created_at: nowIso(), updated_at: null,
      };
      await c.db.insertInto('volume_type_encryption').values(row).execute();
      const { volume_type_id, encryption_id, provider, cipher, key_size, control_location } = row;
      return { encryption: { volume_type_id, encryption_id, provider, cipher, key_size, control_location } };
    }),
    r('PUT', '/:key', async (ctx) => {
      const t = await findType(c, ctx.params.type_id);
      const set = specOf(ctx.body, true);
      if (!(await get(t.id))) throw notFound(`Volume type encryption for type ${t.id} does not exist.`);
      await notInUse(t.id, 'update');
      await c.db.updateTable('volume_type_encryption').set({ ...set, updated_at: nowIso() }).where('volume_type_id', '=', t.id).execute();
      return { encryption: set };
    }),
    r('DELETE', '/:key', async (ctx) => {
      const t = await findType(c, ctx.params.type_id);
      if (!(await get(t.id))) throw notFound(`Volume type encryption for type ${t.id} does not exist.`);
      await notInUse(t.id, 'delete');
      await c.db.deleteFrom('volume_type_encryption').where('volume_type_id', '=', t.id).execute();
      return undefined;
    }, 202),
  ];
}
