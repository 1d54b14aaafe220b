import { badRequest, notFound } from '../../../core/errors.js';
import { nextLink, parsePage } from '../../../core/http/pagination.js';
import { pageOf, sortRows } from './volumes.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { fromJson, toJson, type VolumeContext } from '../../service/context.js';
import { DEFAULT_QUOTAS, quotaLimits, quotaUsage } from '../../service/quotas.js';
import { createSnapshot, deleteSnapshot, getSnapshot, listSnapshots, setSnapshotStatus, updateSnapshot } from '../../service/snapshots.js';
import { createType, deleteType, ensureDefaultType, findType, listTypes, setTypeAccess, typeProjects, updateType } from '../../service/types.js';
import { baseUrl, boolOf, callerOf, isObj, MAX_VERSION, member, metadataOf, MIN_VERSION, optString, q1 } from '../common.js';
import { snapshotView, typeView } from '../views.js';

export const miscPolicy: Record<string, string> = {
  'volume_extension:types_manage': 'rule:admin_api',
  'volume_extension:quotas:show': 'rule:project_reader_or_admin',
  'volume_extension:quotas:update': 'rule:admin_api',
  'volume_extension:quotas:delete': 'rule:admin_api',
  'volume:snapshot': 'rule:project_member_or_admin',
  'volume:get_snapshot': 'rule:project_reader_or_admin',
  'volume_extension:snapshot_admin_actions': 'rule:admin_api',
};

/** Cinder's extensions list (what the API answers to, by its historical names). */
const EXTENSIONS: [string, string, string][] = [
  ['os-availability-zone', 'AvailabilityZones', 'Describe Availability Zones.'],
  ['os-extended-snapshot-attributes', 'ExtendedSnapshotAttributes', 'Extended SnapshotAttributes support.'],
  ['os-hosts', 'Hosts', 'Admin-only host administration.'],
  ['os-quota-sets', 'Quotas', 'Quota management support.'],
  ['os-types-extra-specs', 'TypesExtraSpecs', 'Type extra specs support.'],
  ['os-types-manage', 'TypesManage', 'Types manage support.'],
  ['os-used-limits', 'UsedLimits', 'Provide data on limited resources that are being used.'],
  ['os-vol-host-attr', 'VolumeHostAttribute', 'Expose host as an attribute of a volume.'],
  ['os-vol-mig-status-attr', 'VolumeMigStatusAttribute', 'Expose migration_status as an attribute of a volume.'],
  ['os-vol-tenant-attr', 'VolumeTenantAttribute', 'Expose the internal project_id as an attribute of a volume.'],
  ['os-volume-actions', 'VolumeActions', 'Enable volume actions.'],
  ['os-vol-image-meta', 'VolumeImageMetadata', 'Show image metadata associated with the volume.'],
];

const version = (ctx: RequestCtx, v: 'v3.0' | 'v2.0') => ({
  id: v, status: v === 'v3.0' ? 'CURRENT' : 'DEPRECATED', updated: v === 'v3.0' ? '2023-08-31T00:00:00Z' : '2017-02-25T12:00:00Z',
  links: [{ rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }, { rel: 'self', href: `${baseUrl(ctx)}/${v === 'v3.0' ? 'v3' : 'v2'}/` }],
  min_version: v === 'v3.0' ? MIN_VERSION : '', version: v === 'v3.0' ? MAX_VERSION : '',
  'media-types': [{ base: 'application/json', type: `application/vnd.openstack.volume+json;version=${v === 'v3.0' ? 3 : 2}` }],
});

export function versionRoutes(): Route[] {
  return [
    { method: 'GET', url: '/', policy: 'public', status: 300, handler: (ctx) => ({ versions: [version(ctx, 'v3.0')] }) },
    { method: 'GET', url: '/v3', policy: 'public', handler: (ctx) => ({ versions: [version(ctx, 'v3.0')] }) },
  ];
}

/** Types, snapshots, quotas, limits, availability zones and extensions. */
export function miscRoutes(c: VolumeContext): Route[] {
  const own = (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' });
  const b = '/v3/:project_id';
  const typesManage = 'volume_extension:types_manage';
  const quotaSet = async (projectId: string, usage: boolean) => {
    const limits = await quotaLimits(c.db, projectId);
    if (!usage) return { id: projectId, ...limits };
    const used = await quotaUsage(c.db, projectId);
    return { id: projectId, ...Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, { limit: v, in_use: used[k] ?? 0, reserved: 0 }])) };
  };
  const snapTarget = async (ctx: RequestCtx) => ({ project_id: (await getSnapshot(c, callerOf(ctx), ctx.params.id)).project_id });
  const snapList = async (ctx: RequestCtx, detail: boolean) => {
    const caller = callerOf(ctx);
    const at = q1(ctx, 'all_tenants');
    const rows = await listSnapshots(c, caller, { allTenants: at !== undefined && at !== '0', name: q1(ctx, 'name'), status: q1(ctx, 'status'), volumeId: q1(ctx, 'volume_id') });
    const { items, more } = pageOf(ctx, sortRows(ctx, rows), parsePage(ctx.query));
    const next = nextLink(new URL(`${ctx.req.protocol}://${ctx.req.headers.host}${ctx.req.url}`), items, more);
    return { snapshots: items.map((s) => snapshotView(ctx, s, detail)), ...(next ? { snapshots_links: [{ rel: 'next', href: next }] } : {}) };
  };
  return [
    // volume types
    { method: 'GET', url: `${b}/types`, policy: 'authenticated', handler: async (ctx) => {
      await ensureDefaultType(c);
      return { volume_types: (await listTypes(c, callerOf(ctx))).map((t) => typeView(t, callerOf(ctx).isAdmin)) };
    } },
    { method: 'GET', url: `${b}/types/default`, policy: 'authenticated', handler: async (ctx) => ({ volume_type: typeView(await ensureDefaultType(c), callerOf(ctx).isAdmin) }) },
    { method: 'GET', url: `${b}/types/:id`, policy: 'authenticated', handler: async (ctx) => ({ volume_type: typeView(await findType(c, ctx.params.id, callerOf(ctx)), callerOf(ctx).isAdmin) }) },
    { method: 'GET', url: `${b}/types/:id/os-volume-type-access`, policy: typesManage, target: own, handler: async (ctx) => {
      const t = await findType(c, ctx.params.id);
      if (t.is_public) throw notFound(`Volume type access for public type ${t.id} is not listed.`);
      return { volume_type_access: (await typeProjects(c, t.id)).map((p) => ({ volume_type_id: t.id, project_id: p })) };
    } },
    { method: 'POST', url: `${b}/types/:id/action`, policy: typesManage, target: own, status: 202, handler: async (ctx) => {
      const body = isObj(ctx.body) ? ctx.body : {};
      if (isObj(body.addProjectAccess)) await setTypeAccess(c, ctx.params.id, body.addProjectAccess.project, true);
      else if (isObj(body.removeProjectAccess)) await setTypeAccess(c, ctx.params.id, body.removeProjectAccess.project, false);
      else throw badRequest('Invalid input received: addProjectAccess or removeProjectAccess is required.');
    } },
    { method: 'POST', url: `${b}/types`, policy: typesManage, target: own, handler: async (ctx) => {
      const t = member(ctx.body, 'volume_type');
      if (typeof t.name !== 'string') throw badRequest("Invalid input received: 'name' is a required property");
      const isPublic = t['os-volume-type-access:is_public'] ?? t.is_public;
      const row = await createType(c, { name: t.name, description: optString(t.description, 'description'), isPublic: isPublic === undefined ? true : boolOf(isPublic, 'is_public'), extraSpecs: t.extra_specs ? metadataOf(t.extra_specs, 'extra_specs') : undefined });
      return { volume_type: typeView(row, true) };
    } },
    { method: 'PUT', url: `${b}/types/:id`, policy: typesManage, target: own, handler: async (ctx) => {
      const t = member(ctx.body, 'volume_type');
      const set: Record<string, unknown> = {};
      if (t.name !== undefined) set.name = String(t.name);
      if (t.description !== undefined) set.description = optString(t.description, 'description');
      if (t.is_public !== undefined) set.is_public = boolOf(t.is_public, 'is_public') ? 1 : 0;
      const { 'os-volume-type-access:is_public': _a, ...updated } = typeView(await updateType(c, ctx.params.id, set), true);
      return { volume_type: updated };
    } },
    { method: 'DELETE', url: `${b}/types/:id`, policy: typesManage, target: own, status: 202, handler: async (ctx) => { await deleteType(c, ctx.params.id); } },
    { method: 'GET', url: `${b}/types/:id/extra_specs`, policy: typesManage, target: own, handler: async (ctx) => ({ extra_specs: fromJson(( await findType(c, ctx.params.id)).extra_specs, {}) }) },
    { method: 'POST', url: `${b}/types/:id/extra_specs`, policy: typesManage, target: own, handler: async (ctx) => {
      const t = await findType(c, ctx.params.id);
      if (!isObj(ctx.body)) throw badRequest('Invalid input received: extra_specs is required.');
      const add = metadataOf(ctx.body.extra_specs, 'extra_specs');
      await updateType(c, t.id, { extra_specs: toJson({ ...fromJson(t.extra_specs, {}), ...add }) });
      return { extra_specs: add };
    } },
    { method: 'GET', url: `${b}/types/:id/extra_specs/:key`, policy: typesManage, target: own, handler: async (ctx) => {
      const specs = fromJson<Record<string, string>>((await findType(c, ctx.params.id)).extra_specs, {});
      if (!(ctx.params.key in specs)) throw notFound(`Volume Type ${ctx.params.id} has no extra specs with key ${ctx.params.key}.`);
      return { [ctx.params.key]: specs[ctx.params.key] };
    } },
    { method: 'PUT', url: `${b}/types/:id/extra_specs/:key`, policy: typesManage, target: own, handler: async (ctx) => {
      const t = await findType(c, ctx.params.id);
      const body = metadataOf(ctx.body, 'body');
      if (Object.keys(body).length !== 1 || !(ctx.params.key in body)) throw badRequest('Request body and URI mismatch');
      await updateType(c, t.id, { extra_specs: toJson({ ...fromJson(t.extra_specs, {}), ...body }) });
      return body;
    } },
    { method: 'DELETE', url: `${b}/types/:id/extra_specs/:key`, policy: typesManage, target: own, status: 202, handler: async (ctx) => {
      const t = await findType(c, ctx.params.id);
      const specs = fromJson<Record<string, string>>(t.extra_specs, {});
      delete specs[ctx.params.key];
      await updateType(c, t.id, { extra_specs: toJson(specs) });
    } },
    // snapshots
    { method: 'GET', url: `${b}/snapshots`, policy: 'volume:get_snapshot', target: own, handler: (ctx) => snapList(ctx, false) },
    { method: 'GET', url: `${b}/snapshots/detail`, policy: 'volume:get_snapshot', target: own, handler: (ctx) => snapList(ctx, true) },
    { method: 'POST', url: `${b}/snapshots`, policy: 'volume:snapshot', target: own, status: 202, handler: async (ctx) => {
      const s = member(ctx.body, 'snapshot');
      if (typeof s.volume_id !== 'string') throw notFound(`Volume ${String(s.volume_id ?? '')} could not be found.`);
      const row = await createSnapshot(c, callerOf(ctx), {
        volumeId: s.volume_id, name: optString(s.name ?? s.display_name, 'name'), description: optString(s.description ?? s.display_description, 'description'),
        metadata: s.metadata ? metadataOf(s.metadata) : undefined, force: s.force === undefined ? false : boolOf(s.force, 'force'),
      });
      return { snapshot: snapshotView(ctx, row, false) };
    } },
    { method: 'GET', url: `${b}/snapshots/:id`, policy: 'volume:get_snapshot', target: snapTarget, handler: async (ctx) => ({ snapshot: snapshotView(ctx, await getSnapshot(c, callerOf(ctx), ctx.params.id), true) }) },
    { method: 'PUT', url: `${b}/snapshots/:id`, policy: 'volume:snapshot', target: snapTarget, handler: async (ctx) => {
      const s = member(ctx.body, 'snapshot');
      const set: Record<string, string | null> = {};
      if (s.name !== undefined || s.display_name !== undefined) set.name = optString(s.name ?? s.display_name, 'name') ?? null;
      if (s.description !== undefined || s.display_description !== undefined) set.description = optString(s.description ?? s.display_description, 'description') ?? null;
      return { snapshot: snapshotView(ctx, await updateSnapshot(c, callerOf(ctx), ctx.params.id, set), false) };
    } },
    { method: 'POST', url: `${b}/snapshots/:id/action`, policy: 'volume:snapshot', target: snapTarget, status: 202, handler: async (ctx) => {
      if (!isObj(ctx.body) || Object.keys(ctx.body).length !== 1) throw badRequest('Invalid input received: the body must have exactly one action.');
      const [action, a] = Object.entries(ctx.body)[0];
      const args = isObj(a) ? a : {};
      const caller = callerOf(ctx);
      if (action === 'os-reset_status' || action === 'os-force_delete') ctx.enforce('volume_extension:snapshot_admin_actions', { project_id: caller.projectId });
      if (action === 'os-reset_status') await setSnapshotStatus(c, caller, ctx.params.id, args.status);
      else if (action === 'os-update_snapshot_status') await setSnapshotStatus(c, caller, ctx.params.id, args.status, args.progress);
      else if (action === 'os-force_delete') await deleteSnapshot(c, caller, ctx.params.id, true);
      else throw badRequest(`Invalid input received: There is no such action: ${action}`);
    } },
    { method: 'DELETE', url: `${b}/snapshots/:id`, policy: 'volume:snapshot', target: snapTarget, status: 202, handler: async (ctx) => { await deleteSnapshot(c, callerOf(ctx), ctx.params.id); } },
    // quotas
    { method: 'GET', url: `${b}/os-quota-sets/:target`, policy: 'volume_extension:quotas:show', target: (ctx) => ({ project_id: ctx.params.target }), handler: async (ctx) => {
      const usage = q1(ctx, 'usage');
      return { quota_set: await quotaSet(ctx.params.target, usage !== undefined && boolOf(usage, 'usage')) };
    } },
    { method: 'GET', url: `${b}/os-quota-sets/:target/defaults`, policy: 'authenticated', handler: async (ctx) => ({ quota_set: { id: ctx.params.target, ...(await quotaLimits(c.db, '__default__')) } }) },
    { method: 'PUT', url: `${b}/os-quota-sets/:target`, policy: 'volume_extension:quotas:update', target: own, handler: async (ctx) => {
      const q = member(ctx.body, 'quota_set');
      const set: Record<string, number> = {};
      for (const [k, v] of Object.entries(q)) {
        if (k === 'tenant_id' || k === 'id') continue;
        if (!(k in DEFAULT_QUOTAS) && !/^(volumes|gigabytes|snapshots)_.+$/.test(k)) throw badRequest(`Bad key(s) in quota set: ${k}`);
        const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) throw badRequest(`Invalid input received: Quota limit ${String(v)} for ${k} must be an integer >= -1.`);
        set[k] = n;
      }
      const used = await quotaUsage(c.db, ctx.params.target);
      for (const [k, n] of Object.entries(set)) {
        if (n >= 0 && (used[k] ?? 0) > n) throw badRequest(`Invalid input received: Quota limit ${n} for ${k} must be equal or greater than existing resources. Current usage is ${used[k]}.`);
      }
      for (const [k, n] of Object.entries(set)) {
        await c.db.deleteFrom('quota').where('project_id', '=', ctx.params.target).where('resource', '=', k).execute();
        await c.db.insertInto('quota').values({ project_id: ctx.params.target, resource: k, hard_limit: n }).execute();
      }
      const { id: _id, ...limits } = await quotaSet(ctx.params.target, false);
      return { quota_set: limits };
    } },
    { method: 'DELETE', url: `${b}/os-quota-sets/:target`, policy: 'volume_extension:quotas:delete', target: own, handler: async (ctx) => {
      await c.db.deleteFrom('quota').where('project_id', '=', ctx.params.target).execute();
      ctx.reply.code(200);
      return ctx.reply.send();
    } },
    { method: 'GET', url: `${b}/limits`, policy: 'authenticated', handler: async (ctx) => {
      const p = ctx.auth.projectId ?? '';
      const l = await quotaLimits(c.db, p);
      const u = await quotaUsage(c.db, p);
      return { limits: { rate: [], absolute: {
        maxTotalVolumes: l.volumes, maxTotalSnapshots: l.snapshots, maxTotalVolumeGigabytes: l.gigabytes, maxTotalBackups: l.backups, maxTotalBackupGigabytes: l.backup_gigabytes,
        totalVolumesUsed: u.volumes, totalSnapshotsUsed: u.snapshots, totalGigabytesUsed: u.gigabytes, totalBackupsUsed: 0, totalBackupGigabytesUsed: 0,
      } } };
    } },
    { method: 'GET', url: `${b}/os-availability-zone`, policy: 'authenticated', handler: () => ({ availabilityZoneInfo: [{ zoneName: c.availabilityZone, zoneState: { available: true } }] }) },
    { method: 'GET', url: `${b}/extensions`, policy: 'authenticated', handler: () => ({ extensions: EXTENSIONS.map(([alias, name, description]) => ({ alias, name, description, links: [], updated: '2013-04-18T00:00:00+00:00' })) }) },
    // snapshot metadata
    { method: 'GET', url: `${b}/snapshots/:id/metadata`, policy: 'volume:get_snapshot', target: snapTarget, handler: async (ctx) => ({ metadata: fromJson((await getSnapshot(c, callerOf(ctx), ctx.params.id)).metadata, {}) }) },
    ...(['POST', 'PUT'] as const).map((method): Route => ({ method, url: `${b}/snapshots/:id/metadata`, policy: 'volume:snapshot', target: snapTarget, handler: async (ctx) => {
      const row = await getSnapshot(c, callerOf(ctx), ctx.params.id);
      if (!isObj(ctx.body) || !('metadata' in ctx.body)) throw badRequest("Invalid input received: Missing required element 'metadata' in request body.");
      const add = metadataOf(ctx.body.metadata);
      const m = method === 'POST' ? { ...fromJson<Record<string, string>>(row.metadata, {}), ...add } : add;
      await updateSnapshot(c, callerOf(ctx), row.id, { metadata: toJson(m) });
      return { metadata: m };
    } })),
    { method: 'GET', url: `${b}/snapshots/:id/metadata/:key`, policy: 'volume:get_snapshot', target: snapTarget, handler: async (ctx) => {
      const m = fromJson<Record<string, string>>((await getSnapshot(c, callerOf(ctx), ctx.params.id)).metadata, {});
      if (!(ctx.params.key in m)) throw notFound(`Snapshot ${ctx.params.id} has no metadata with key ${ctx.params.key}.`);
      return { meta: { [ctx.params.key]: m[ctx.params.key] } };
    } },
    { method: 'PUT', url: `${b}/snapshots/:id/metadata/:key`, policy: 'volume:snapshot', target: snapTarget, handler: async (ctx) => {
      const row = await getSnapshot(c, callerOf(ctx), ctx.params.id);
      const meta = isObj(ctx.body) ? metadataOf(ctx.body.meta, 'meta') : undefined;
      if (!meta || Object.keys(meta).length !== 1) throw badRequest('Malformed request body: meta must have exactly one item.');
      if (!(ctx.params.key in meta)) throw badRequest('Request body and URI mismatch');
      await updateSnapshot(c, callerOf(ctx), row.id, { metadata: toJson({ ...fromJson<Record<string, string>>(row.metadata, {}), ...meta }) });
      return { meta };
    } },
    { method: 'DELETE', url: `${b}/snapshots/:id/metadata/:key`, policy: 'volume:snapshot', target: snapTarget, handler: async (ctx) => {
      const row = await getSnapshot(c, callerOf(ctx), ctx.params.id);
      const m = fromJson<Record<string, string>>(row.metadata, {});
      if (!(ctx.params.key in m)) throw notFound(`Snapshot ${row.id} has no metadata with key ${ctx.params.key}.`);
      delete m[ctx.params.key];
      await updateSnapshot(c, callerOf(ctx), row.id, { metadata: toJson(m) });
      ctx.reply.code(200);
      return ctx.reply.send();
    } },
  ];
}
