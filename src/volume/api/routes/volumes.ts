import { badRequest, HttpError, notFound } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import { paginate, parsePage, nextLink, type PageRequest } from '../../../core/http/pagination.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { VolumeRow } from '../../db/schema.js';
import { fromJson, toJson, type VolumeContext } from '../../service/context.js';
import {
  attachmentsOf, beginDetaching, retype, uploadToImage, completeAttach, createVolume, deleteVolume, extendVolume, getVolume, listVolumes, removeAttachment,
  reserve, resetStatus, rollDetaching, unreserve, updateVolume,
} from '../../service/volumes.js';
import { at, boolOf, callerOf, isObj, member, metadataOf, optString, q1, sizeOf } from '../common.js';
import { volumeSummary, volumeView } from '../views.js';

const P = 'volume';
export const volumesPolicy: Record<string, string> = {
  [`${P}:create`]: 'rule:project_member_or_admin',
  [`${P}:get`]: 'rule:project_reader_or_admin',
  [`${P}:get_all`]: 'rule:project_reader_or_admin',
  [`${P}:update`]: 'rule:project_member_or_admin',
  [`${P}:delete`]: 'rule:project_member_or_admin',
  [`${P}:force_delete`]: 'rule:admin_api',
  [`${P}:extend`]: 'rule:project_member_or_admin',
  [`${P}:attach`]: 'rule:project_member_or_admin',
  [`${P}:reset_status`]: 'rule:admin_api',
  [`${P}:metadata`]: 'rule:project_member_or_admin',
};

/**
 * A page of a sorted list: ?offset= skips, then limit/marker; a next link whenever the page is
 * full (Cinder links on a full page even when nothing follows).
 */
export function pageOf<T extends { id: string }>(ctx: RequestCtx, rows: T[], page: PageRequest): { items: T[]; more: boolean } {
  const off = q1(ctx, 'offset');
  if (off !== undefined && !/^\d+$/.test(off)) throw badRequest(`Invalid input received: offset ${off} must be a non-negative integer.`);
  const r = paginate(off ? rows.slice(Number(off)) : rows, page, 404);
  return { items: r.items, more: r.more || (page.limit !== undefined && page.limit > 0 && r.items.length === page.limit) };
}

const SORT_KEYS = new Set(['id', 'name', 'status', 'size', 'created_at', 'updated_at', 'availability_zone', 'bootable']);

/** Cinder's sort=key[:dir],... or sort_key/sort_dir (default created_at desc). */
export function sortRows<T extends { id: string }>(ctx: RequestCtx, rows: T[]): T[] {
  const spec: [string, string][] = [];
  const sort = q1(ctx, 'sort');
  if (sort) for (const part of sort.split(',')) { const [k, d = 'desc'] = part.trim().split(':'); spec.push([k, d]); }
  else if (q1(ctx, 'sort_key')) spec.push([q1(ctx, 'sort_key')!, q1(ctx, 'sort_dir') ?? 'desc']);
  for (const s of spec) if (s[0] === 'display_name') s[0] = 'name';
  for (const [k, d] of spec) {
    if (!SORT_KEYS.has(k)) throw badRequest(`Invalid input received: Invalid sort key ${k}`);
    if (!['asc', 'desc'].includes(d)) throw badRequest(`Invalid input received: Unknown sort direction, must be 'desc' or 'asc'`);
  }
  if (spec.length === 0) return rows;
  const cmp = (a: any, b: any) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);
  return [...rows].sort((a, b) => {
    for (const [k, d] of spec) { const r = cmp((a as any)[k], (b as any)[k]); if (r) return d === 'asc' ? r : -r; }
    return cmp(b.id, a.id);
  });
}

export function volumesRoutes(c: VolumeContext): Route[] {
  const typeNames = async () => new Map((await c.db.selectFrom('volume_type').select(['id', 'name']).execute()).map((t) => [t.id, t.name]));
  const target = async (ctx: RequestCtx) => ({ project_id: (await getVolume(c, callerOf(ctx), ctx.params.id)).project_id });
  const show = async (ctx: RequestCtx, row: VolumeRow, form: 'create' | 'detail') => {
    const att = (await attachmentsOf(c, [row.id])).get(row.id) ?? [];
    return volumeView(ctx, row, { attachments: att, typeName: (await typeNames()).get(row.volume_type_id) ?? '__DEFAULT__', isAdmin: callerOf(ctx).isAdmin, form });
  };
  const list = async (ctx: RequestCtx, detail: boolean) => {
    const caller = callerOf(ctx);
    const page = parsePage(ctx.query);
    const md = q1(ctx, 'metadata');
    let metadata: Record<string, string> | undefined;
    if (md) { try { metadata = JSON.parse(md.replace(/'/g, '"')); } catch { throw badRequest(`Invalid input received: metadata ${md}`); } }
    const allTenants = q1(ctx, 'all_tenants');
    const rows = sortRows(ctx, await listVolumes(c, caller, {
      allTenants: allTenants !== undefined && allTenants !== '0' && !/^false$/i.test(allTenants), projectId: q1(ctx, 'project_id'),
      name: q1(ctx, 'name') ?? q1(ctx, 'display_name'), status: q1(ctx, 'status'), metadata,
      bootable: q1(ctx, 'bootable') === undefined ? undefined : boolOf(q1(ctx, 'bootable'), 'bootable'), availabilityZone: q1(ctx, 'availability_zone'),
    }));
    const { items, more } = pageOf(ctx, rows, page);
    const names = await typeNames();
    const att = detail ? await attachmentsOf(c, items.map((r) => r.id)) : new Map();
    const url = new URL(`${ctx.req.protocol}://${ctx.req.headers.host}${ctx.req.url}`);
    const next = nextLink(url, items, more);
    return {
      volumes: items.map((r) => (detail ? volumeView(ctx, r, { attachments: att.get(r.id) ?? [], typeName: names.get(r.volume_type_id) ?? '__DEFAULT__', isAdmin: caller.isAdmin, form: 'detail' }) : volumeSummary(ctx, r))),
      ...(next ? { volumes_links: [{ rel: 'next', href: next }] } : {}),
      ...(at(ctx, '3.45') && q1(ctx, 'with_count') && boolOf(q1(ctx, 'with_count'), 'with_count') ? { count: rows.length } : {}),
    };
  };
  const base = '/v3/:project_id/volumes';
  const r = (method: Route['method'], url: string, policy: string, handler: Route['handler'], status?: number, withTarget = true): Route =>
    ({ method, url: `${base}${url}`, policy: `${P}:${policy}`, ...(withTarget ? { target } : { target: (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' }) }), handler, ...(status ? { status } : {}) });
  const metaOf = (row: VolumeRow) => fromJson<Record<string, string>>(row.metadata, {});
  const setMeta = async (id: string, m: Record<string, string>) => {
    await c.db.updateTable('volume').set({ metadata: toJson(m), updated_at: nowIso() }).where('id', '=', id).execute();
    return m;
  };
  return [
    r('GET', '', 'get_all', (ctx) => list(ctx, false), undefined, false),
    r('GET', '/detail', 'get_all', (ctx) => list(ctx, true), undefined, false),
    r('POST', '', 'create', async (ctx) => {
      const v = member(ctx.body, 'volume');
      const uuidField = (k: string) => {
        const x = v[k];
        if (x === undefined || x === null || x === '') return undefined;
        if (typeof x !== 'string') throw badRequest(`Invalid input received: ${k} must be a string.`);
        return x;
      };
      const size = v.size === undefined || v.size === null ? undefined : sizeOf(v.size);
      const row = await createVolume(c, callerOf(ctx), {
        size, name: optString(v.name ?? v.display_name, 'name'), description: optString(v.description ?? v.display_description, 'description'),
        metadata: v.metadata === undefined || v.metadata === null ? undefined : metadataOf(v.metadata),
        volumeType: uuidField('volume_type'), availabilityZone: uuidField('availability_zone'),
        imageRef: uuidField('imageRef') ?? uuidField('image_id'), sourceVolid: uuidField('source_volid'), snapshotId: uuidField('snapshot_id'),
        multiattach: v.multiattach === undefined ? undefined : boolOf(v.multiattach, 'multiattach'),
      });
      if (size === undefined && !v.imageRef && !v.snapshot_id && !v.source_volid) throw badRequest('Invalid input received: size is required.');
      return { volume: await show(ctx, row, 'create') };
    }, 202, false),
    // 3.12: how many volumes and gigabytes the caller sees (3.36: with their metadata keys' values)
    r('GET', '/summary', 'get_all', async (ctx) => {
      if (!at(ctx, '3.12')) throw notFound('Volume summary could not be found.');
      const allTenants = q1(ctx, 'all_tenants');
      const rows = await listVolumes(c, callerOf(ctx), { allTenants: allTenants !== undefined && allTenants !== '0' && !/^false$/i.test(allTenants) });
      const summary: Record<string, unknown> = { total_size: rows.reduce((a, v) => a + v.size, 0), total_count: rows.length };
      if (at(ctx, '3.36')) {
        const meta: Record<string, string[]> = {};
        for (const v of rows) for (const [k, val] of Object.entries(fromJson<Record<string, string>>(v.metadata, {}))) if (!(meta[k] ??= []).includes(val)) meta[k].push(val);
        summary.metadata = meta;
      }
      return { 'volume-summary': summary };
    }, undefined, false),
    r('GET', '/:id', 'get', async (ctx) => ({ volume: await show(ctx, await getVolume(c, callerOf(ctx), ctx.params.id), 'detail') })),
    r('PUT', '/:id', 'update', async (ctx) => {
      const v = member(ctx.body, 'volume');
      const allowed = ['name', 'description', 'display_name', 'display_description', 'metadata'];
      const bad = Object.keys(v).filter((k) => !allowed.includes(k));
      if (bad.length || Object.keys(v).length === 0) throw badRequest(`Invalid input received: ${bad.length ? `Additional properties are not allowed (${bad.join(', ')})` : 'no field to update'}`);
      const row = await updateVolume(c, callerOf(ctx), ctx.params.id, {
        name: optString(v.name ?? v.display_name, 'name'), description: optString(v.description ?? v.display_description, 'description'),
        metadata: v.metadata === undefined ? undefined : metadataOf(v.metadata),
      });
      return { volume: await show(ctx, row, 'create') };
    }),
    r('DELETE', '/:id', 'delete', async (ctx) => {
      const cascade = q1(ctx, 'cascade');
      const force = q1(ctx, 'force');
      if (force && boolOf(force, 'force')) ctx.enforce(`${P}:force_delete`, { project_id: ctx.auth.projectId ?? '' });
      await deleteVolume(c, callerOf(ctx), ctx.params.id, { cascade: cascade ? boolOf(cascade, 'cascade') : false, force: force ? boolOf(force, 'force') : false });
    }, 202),
    // metadata
    r('GET', '/:id/metadata', 'get', async (ctx) => ({ metadata: metaOf(await getVolume(c, callerOf(ctx), ctx.params.id)) })),
    r('POST', '/:id/metadata', 'metadata', async (ctx) => {
      const row = await getVolume(c, callerOf(ctx), ctx.params.id);
      if (!isObj(ctx.body) || !('metadata' in ctx.body)) throw badRequest("Invalid input received: Missing required element 'metadata' in request body.");
      return { metadata: await setMeta(row.id, { ...metaOf(row), ...metadataOf(ctx.body.metadata) }) };
    }),
    r('PUT', '/:id/metadata', 'metadata', async (ctx) => {
      const row = await getVolume(c, callerOf(ctx), ctx.params.id);
      if (!isObj(ctx.body) || !('metadata' in ctx.body)) throw badRequest("Invalid input received: Missing required element 'metadata' in request body.");
      return { metadata: await setMeta(row.id, metadataOf(ctx.body.metadata)) };
    }),
    r('GET', '/:id/metadata/:key', 'get', async (ctx) => {
      const m = metaOf(await getVolume(c, callerOf(ctx), ctx.params.id));
      if (!(ctx.params.key in m)) throw notFound(`Volume ${ctx.params.id} has no metadata with key ${ctx.params.key}.`);
      return { meta: { [ctx.params.key]: m[ctx.params.key] } };
    }),
    r('PUT', '/:id/metadata/:key', 'metadata', async (ctx) => {
      const row = await getVolume(c, callerOf(ctx), ctx.params.id);
      const meta = isObj(ctx.body) ? metadataOf(ctx.body.meta, 'meta') : undefined;
      if (!meta || Object.keys(meta).length !== 1) throw badRequest('Malformed request body: meta must have exactly one item.');
      if (!(ctx.params.key in meta)) throw badRequest('Request body and URI mismatch');
      await setMeta(row.id, { ...metaOf(row), ...meta });
      return { meta };
    }),
    r('DELETE', '/:id/metadata/:key', 'metadata', async (ctx) => {
      const row = await getVolume(c, callerOf(ctx), ctx.params.id);
      const m = metaOf(row);
      if (!(ctx.params.key in m)) throw notFound(`Volume ${row.id} has no metadata with key ${ctx.params.key}.`);
      delete m[ctx.params.key];
      await setMeta(row.id, m);
      ctx.reply.code(200);
      return ctx.reply.send();
    }),
    r('POST', '/:id/action', 'attach', async (ctx) => volumeAction(c, ctx), 202),
  ];
}

/** POST /volumes/{id}/action: {"os-extend": {...}}, {"os-reserve": null}, ... */
async function volumeAction(c: VolumeContext, ctx: RequestCtx): Promise<unknown> {
  if (!isObj(ctx.body) || Object.keys(ctx.body).length !== 1) throw badRequest('Invalid input received: the body must have exactly one action.');
  const [action, a] = Object.entries(ctx.body)[0];
  const caller = callerOf(ctx);
  const id = ctx.params.id;
  const args = isObj(a) ? a : {};
  switch (action) {
    case 'os-extend': {
      ctx.enforce('volume:extend', { project_id: caller.projectId });
      if (!isObj(a) || a.new_size === undefined || a.new_size === null) throw badRequest("Invalid input received: 'new_size' is a required property");
      await extendVolume(c, caller, id, sizeOf(a.new_size, 'new_size'), at(ctx, '3.42'));
      return undefined;
    }
    case 'os-reset_status':
      ctx.enforce('volume:reset_status', { project_id: caller.projectId });
      await getVolume(c, caller, id);
      await resetStatus(c, id, { status: args.status, attachStatus: args.attach_status });
      return undefined;
    case 'os-set_bootable': {
      const row = await getVolume(c, caller, id);
      if (args.bootable === undefined) throw badRequest("Invalid input received: 'bootable' is a required property");
      await c.db.updateTable('volume').set({ bootable: boolOf(args.bootable, 'bootable') ? 1 : 0, updated_at: nowIso() }).where('id', '=', row.id).execute();
      ctx.reply.code(200);
      return ctx.reply.send();
    }
    case 'os-update_readonly_flag': {
      const row = await getVolume(c, caller, id);
      if (args.readonly === undefined) throw badRequest("Invalid input received: 'readonly' is a required property");
      if (!['available', 'in-use'].includes(row.status)) throw badRequest(`Invalid volume: Volume status must be available or in-use, but current status is: ${row.status}.`);
      const ro = boolOf(args.readonly, 'readonly');
      // Cinder shows the flag in the volume's metadata (its admin metadata)
      const metadata = toJson({ ...fromJson<Record<string, string>>(row.metadata, {}), readonly: ro ? 'True' : 'False' });
      await c.db.updateTable('volume').set({ readonly: ro ? 1 : 0, metadata, updated_at: nowIso() }).where('id', '=', row.id).execute();
      return undefined;
    }
    case 'os-reserve':
      await reserve(c, caller, id, null);
      return undefined;
    case 'os-unreserve':
      await unreserve(c, caller, id);
      return undefined;
    case 'os-begin_detaching':
      await beginDetaching(c, caller, id);
      return undefined;
    case 'os-roll_detaching':
      await rollDetaching(c, caller, id);
      return undefined;
    case 'os-attach': {
      const row = await getVolume(c, caller, id);
      if (!args.instance_uuid && !args.host_name) throw badRequest('Invalid request to attach volume to an invalid target');
      if (!args.mountpoint) throw badRequest('Invalid input received: mountpoint is required.');
      const mode = args.mode ?? 'rw';
      if (!['rw', 'ro'].includes(mode)) throw badRequest('Invalid request to attach volume with an invalid mode. Attaching mode should be \'rw\' or \'ro\'');
      let att = (await attachmentsOf(c, [id])).get(id)?.find((x) => x.attach_status === 'reserved');
      if (!att) {
        if (row.status !== 'available' && row.status !== 'attaching') throw badRequest(`Invalid volume: Volume status must be available or attaching, but current status is: ${row.status}.`);
        att = await reserve(c, caller, id, args.instance_uuid ?? null);
      }
      await completeAttach(c, att.id, { mountpoint: args.mountpoint, host: args.host_name ?? null, instanceUuid: args.instance_uuid ?? null, mode });
      return undefined;
    }
    case 'os-detach':
    case 'os-force_detach': {
      if (action === 'os-force_detach') ctx.enforce('volume:reset_status', { project_id: caller.projectId });
      await getVolume(c, caller, id);
      await removeAttachment(c, id, args.attachment_id ?? undefined);
      return undefined;
    }
    case 'os-initialize_connection': {
      const row = await getVolume(c, caller, id);
      const conn = c.driver.connection(row.id);
      return ctx.reply.code(200).send({ connection_info: { driver_volume_type: conn.driverVolumeType === 'fake' ? 'fake' : 'local', data: { device_path: conn.path, format: conn.format, access_mode: row.readonly ? 'ro' : 'rw' } } });
    }
    case 'os-terminate_connection':
      await getVolume(c, caller, id);
      return undefined;
    case 'os-set_image_metadata': {
      const row = await getVolume(c, caller, id);
      const add = metadataOf(args.metadata);
      const m = { ...fromJson<Record<string, string>>(row.image_metadata, {}), ...add };
      await c.db.updateTable('volume').set({ image_metadata: toJson(m), updated_at: nowIso() }).where('id', '=', row.id).execute();
      return ctx.reply.code(200).send({ metadata: m });
    }
    case 'os-unset_image_metadata': {
      const row = await getVolume(c, caller, id);
      const m = fromJson<Record<string, string>>(row.image_metadata, {});
      if (typeof args.key !== 'string' || !(args.key in m)) throw notFound(`Glance metadata for volume ${id} with key ${String(args.key)} could not be found.`);
      delete m[args.key];
      await c.db.updateTable('volume').set({ image_metadata: toJson(m), updated_at: nowIso() }).where('id', '=', row.id).execute();
      ctx.reply.code(200);
      return ctx.reply.send();
    }
    case 'os-show_image_metadata': {
      const row = await getVolume(c, caller, id);
      return ctx.reply.code(200).send({ metadata: fromJson<Record<string, string>>(row.image_metadata, {}) });
    }
    case 'os-volume_upload_image':
      return { 'os-volume_upload_image': await uploadToImage(c, { ...caller, roles: ctx.auth.roles.map((x) => x.name) }, id, args) };
    case 'os-retype':
      await retype(c, caller, id, args.new_type);
      return undefined;
    case 'os-force_delete':
      ctx.enforce('volume:force_delete', { project_id: caller.projectId });
      await deleteVolume(c, caller, id, { force: true });
      return undefined;
    default:
      throw new HttpError(400, `Invalid input received: There is no such action: ${action}`);
  }
}
