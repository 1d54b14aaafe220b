import { isIP } from 'node:net';
import { badRequest } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { InstanceRow } from '../../db/schema.js';
import type { NetworkRequest, RequestedNetwork } from '../../network/network-api.js';
import { castAgent } from '../../rpc/topics.js';
import type { ComputeContext } from '../../service/context.js';
import { fromJson } from '../../service/context.js';
import { recordAction } from '../../service/instance-actions.js';
import { releaseVolumes } from '../../service/volumes.js';
import { checkDiskConfig, checkLock, createServers, extrasOf, getInstance, type CreateRequest } from '../../service/servers.js';
import { parsePersonality } from '../../service/personality.js';
import { TASK, VM, vmStatesOf } from '../../service/states.js';
import { at, baseUrl, callerOf, canonicalIpv6, isObj, member, q1 } from '../common.js';
import { serverSummary, serverView } from '../views.js';
import type { NetworkInfoItem } from '../../network/network-api.js';

export const serversPolicy: Record<string, string> = {
  'os_compute_api:servers:index': 'rule:project_reader_or_admin',
  'os_compute_api:servers:detail': 'rule:project_reader_or_admin',
  'os_compute_api:servers:index:get_all_tenants': 'rule:admin_api',
  'os_compute_api:servers:detail:get_all_tenants': 'rule:admin_api',
  'os_compute_api:servers:show': 'rule:project_reader_or_admin',
  'os_compute_api:servers:create': 'rule:project_member_or_admin',
  'os_compute_api:servers:create:forced_host': 'rule:admin_api',
  'os_compute_api:servers:update': 'rule:project_member_or_admin',
  'os_compute_api:servers:delete': 'rule:project_member_or_admin',
};

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const invalid = (field: string, value: unknown, why: string) => badRequest(`Invalid input for field/attribute ${field}. Value: ${typeof value === 'string' ? value : JSON.stringify(value)}. ${why}`);

/** Nova's server name rule: a string of 1–255 characters, not only spaces, no leading/trailing whitespace. */
export function checkName(v: unknown, field = 'name'): string {
  if (typeof v !== 'string') throw invalid(field, v, `${JSON.stringify(v)} is not of type 'string'`);
  if (v.length < 1) throw invalid(field, v, `'' is too short`);
  if (v.length > 255) throw invalid(field, v, `'${v}' is too long`);
  if (v.trim() === '' || /^\s|\s$/.test(v)) throw invalid(field, v, `'${v}' does not match '^(?! )[\\x20-\\x7E\\xA0-\\uFFFF]*(?<! )$'`);
  return v;
}

function checkMetadata(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isObj(v)) throw invalid('metadata', v, `${JSON.stringify(v)} is not of type 'object'`);
  for (const [k, val] of Object.entries(v)) {
    if (k.length < 1 || k.length > 255) throw invalid('metadata', v, `Metadata key '${k}' must be 1 to 255 characters`);
    if (typeof val !== 'string') throw invalid('metadata', v, `${JSON.stringify(val)} is not of type 'string'`);
    if (val.length > 255) throw invalid('metadata', v, `'${val}' is too long`);
  }
  return v as Record<string, string>;
}

const refId = (v: unknown, field: string): string => {
  if (typeof v !== 'string' && typeof v !== 'number') throw invalid(field, v, `${JSON.stringify(v)} is not of type 'string'`);
  const s = String(v);
  return s.includes('/') ? s.replace(/\/+$/, '').split('/').pop()! : s;
};

function parseNetworks(ctx: RequestCtx, v: unknown): NetworkRequest {
  if (v === undefined) {
    if (at(ctx, '2.37')) throw invalid('networks', v, "'networks' is a required property");
    return 'default';
  }
  if (v === 'auto' || v === 'none') {
    if (!at(ctx, '2.37')) throw invalid('networks', v, `'${v}' is not of type 'array'`);
    return v;
  }
  if (!Array.isArray(v)) throw invalid('networks', v, `${JSON.stringify(v)} is not of type 'array'`);
  return v.map((n) => {
    if (!isObj(n)) throw invalid('networks', v, 'each network must be an object');
    const r: RequestedNetwork = {};
    if (n.uuid !== undefined) {
      if (typeof n.uuid !== 'string' || !UUID_RE.test(n.uuid)) throw badRequest(`Bad networks format: network uuid is not in proper format (${n.uuid})`);
      r.uuid = n.uuid;
    }
    if (n.port !== undefined && n.port !== null) r.port = String(n.port);
    if (n.fixed_ip !== undefined) {
      if (typeof n.fixed_ip !== 'string' || !isIP(n.fixed_ip)) throw invalid('fixed_ip', n.fixed_ip, 'is not a valid IP address');
      r.fixed_ip = n.fixed_ip;
    }
    if (n.tag !== undefined) r.tag = String(n.tag);
    if (!r.uuid && !r.port) throw badRequest('Bad network format: missing uuid or port');
    return r;
  });
}

function parseCreate(ctx: RequestCtx): CreateRequest {
  const s = member(ctx.body, 'server');
  const body = ctx.body as Record<string, any>;
  const name = checkName(s.name);
  const imageRef = s.imageRef === undefined || s.imageRef === '' || s.imageRef === null ? '' : refId(s.imageRef, 'imageRef');
  if (imageRef && !UUID_RE.test(imageRef)) throw badRequest(`Invalid imageRef provided.`);
  if (s.flavorRef === undefined) throw invalid('flavorRef', s.flavorRef, "'flavorRef' is a required property");
  const flavorRef = refId(s.flavorRef, 'flavorRef');
  const count = (k: string) => {
    const v = s[k];
    if (v === undefined) return undefined;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw invalid(k, v, `${JSON.stringify(v)} is less than the minimum of 1`);
    return n;
  };
  const minCount = count('min_count') ?? 1;
  const maxCount = count('max_count') ?? minCount;
  if (minCount > maxCount) throw badRequest("min_count must be <= max_count");
  const ip = (k: 'accessIPv4' | 'accessIPv6', version: 4 | 6) => {
    const v = s[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' || isIP(v) !== version) throw invalid(k, v, `'${v}' is not a '${version === 4 ? 'ipv4' : 'ipv6'}'`);
    return version === 6 ? canonicalIpv6(v) : v;
  };
  let userData: string | undefined;
  if (s.user_data !== undefined && s.user_data !== null) {
    if (typeof s.user_data !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(s.user_data)) throw invalid('user_data', s.user_data, 'is not a base64 encoded string');
    if (s.user_data.length > 65535) throw invalid('user_data', '...', 'is too long');
    userData = s.user_data;
  }
  const sgs = s.security_groups === undefined ? ['default'] : (() => {
    if (!Array.isArray(s.security_groups)) throw invalid('security_groups', s.security_groups, "is not of type 'array'");
    return [...new Set(s.security_groups.map((g: unknown) => (isObj(g) ? String(g.name) : String(g))))] as string[];
  })();
  let description: string | null | undefined;
  if (s.description !== undefined) {
    if (!at(ctx, '2.19')) throw invalid('server', s, "Additional properties are not allowed ('description' was unexpected)");
    if (s.description !== null && (typeof s.description !== 'string' || s.description.length > 255)) throw invalid('description', s.description, 'must be a string of at most 255 characters');
    description = s.description;
  }
  let tags: string[] = [];
  if (s.tags !== undefined) {
    if (!at(ctx, '2.52')) throw invalid('server', s, "Additional properties are not allowed ('tags' was unexpected)");
    if (!Array.isArray(s.tags) || s.tags.length > 50) throw invalid('tags', s.tags, 'must be a list of at most 50 tags');
    tags = s.tags.map((t: unknown) => checkTag(t));
  }
  let hostname: string | undefined;
  if (s.hostname !== undefined) {
    if (!at(ctx, '2.90')) throw invalid('server', s, "Additional properties are not allowed ('hostname' was unexpected)");
    if (typeof s.hostname !== 'string' || !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/.test(s.hostname)) throw invalid('hostname', s.hostname, 'is not a valid hostname');
    hostname = s.hostname;
  }
  if (s.personality !== undefined && at(ctx, '2.57')) throw invalid('server', s, "Additional properties are not allowed ('personality' was unexpected)");
  const personality = s.personality === undefined || s.personality === null ? undefined : parsePersonality(s.personality);
  const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
  if (!isObj(hints)) throw invalid('os:scheduler_hints', hints, "is not of type 'object'");
  if (s.key_name !== undefined && s.key_name !== null && typeof s.key_name !== 'string') throw invalid('key_name', s.key_name, "is not of type 'string'");
  const cd = s.config_drive;
  const az = s.availability_zone === undefined || s.availability_zone === null ? undefined : String(s.availability_zone);
  if (az?.includes(':') && !ctx.allowed('os_compute_api:servers:create:forced_host', { project_id: ctx.auth.projectId ?? '' })) {
    throw badRequest('Forcing a host is allowed only to admins');
  }
  return {
    name, imageRef, flavorRef, networks: parseNetworks(ctx, s.networks), keyName: s.key_name ?? undefined, userData,
    metadata: checkMetadata(s.metadata), securityGroups: sgs, availabilityZone: az,
    configDrive: cd === true || cd === 'true' || cd === 'True' || cd === 1, minCount, maxCount,
    accessIPv4: ip('accessIPv4', 4), accessIPv6: ip('accessIPv6', 6), adminPass: typeof s.adminPass === 'string' ? s.adminPass : undefined,
    description, tags, hostname, schedulerHints: hints, personality,
    blockDeviceMapping: Array.isArray(s.block_device_mapping_v2) ? s.block_device_mapping_v2 : [],
    diskConfig: s['OS-DCF:diskConfig'] === undefined ? 'MANUAL' : checkDiskConfig(s['OS-DCF:diskConfig']),
  };
}

export function checkTag(t: unknown): string {
  if (typeof t !== 'string' || t.length < 1 || t.length > 60 || t.includes('/') || t.includes(',')) {
    throw invalid('tags', t, 'Tags must be strings of 1 to 60 characters without "/" or ","');
  }
  return t;
}

/** Filters Nova applies in the database for GET /servers; the rest are applied below. */
async function listServers(c: ComputeContext, ctx: RequestCtx, detail: boolean) {
  const caller = callerOf(ctx);
  const rule = detail ? 'os_compute_api:servers:detail' : 'os_compute_api:servers:index';
  ctx.enforce(rule, { project_id: caller.projectId });
  const allTenantsRaw = q1(ctx, 'all_tenants');
  const allTenants = allTenantsRaw !== undefined && !/^(0|false|f|no|off)$/i.test(allTenantsRaw) && ctx.allowed(`${rule}:get_all_tenants`, { project_id: caller.projectId });
  const admin = caller.isAdmin;
  let q = c.db.selectFrom('instance').selectAll();
  // Nova (lp:#1185290): without all_tenants the caller's own project is listed and
  // tenant_id/project_id are ignored; with it they narrow the list to one project.
  const projectFilter = allTenants ? q1(ctx, 'project_id') ?? q1(ctx, 'tenant_id') : undefined;
  if (!allTenants) q = q.where('project_id', '=', caller.projectId);
  else if (projectFilter) q = q.where('project_id', '=', projectFilter);
  const changesSince = q1(ctx, 'changes-since') ?? q1(ctx, 'changes_since');
  const changesBefore = q1(ctx, 'changes-before');
  const parseTime = (v: string, k: string) => {
    const t = Date.parse(v);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(v)) throw badRequest(`Invalid input for field/attribute ${k}. Value: ${v}. '${v}' is not a 'date-time'`);
    return new Date(t).toISOString();
  };
  const deletedRaw = admin ? q1(ctx, 'deleted') : undefined;
  const showDeleted = deletedRaw !== undefined && /^(1|true|t|yes|on)$/i.test(deletedRaw);
  if (changesSince) q = q.where('updated_at', '>=', parseTime(changesSince, 'changes-since'));
  if (changesBefore) q = q.where('updated_at', '<=', parseTime(changesBefore, 'changes-before'));
  if (!changesSince && !changesBefore) q = q.where('deleted', '=', showDeleted ? 1 : 0);
  const status = q1(ctx, 'status');
  if (status) {
    const st = vmStatesOf(status);
    if (!st) return { servers: [], rows: [] };
    q = q.where('vm_state', 'in', st.vm);
    if (st.task) q = q.where('task_state', 'in', st.task);
  }
  const host = admin ? q1(ctx, 'host') : undefined;
  if (host) q = q.where('host', '=', host);
  const image = q1(ctx, 'image');
  if (image) q = q.where('image_ref', '=', image.split('/').pop()!);
  const reservation = q1(ctx, 'reservation_id');
  if (reservation) q = q.where('reservation_id', '=', reservation);
  const rawLimit = q1(ctx, 'limit');
  let limit: number | undefined;
  if (rawLimit !== undefined) {
    if (!/^\d+$/.test(rawLimit)) throw badRequest(`Invalid input for query parameters limit. Value: ${rawLimit}. '${rawLimit}' does not match '^[0-9]*$'`);
    limit = Math.min(Number(rawLimit), 1000);
  }
  const sortKey = q1(ctx, 'sort_key') ?? 'created_at';
  const sortDir = q1(ctx, 'sort_dir') === 'asc' ? 'asc' : 'desc';
  const SORTABLE = new Set(['created_at', 'updated_at', 'display_name', 'uuid', 'vm_state', 'task_state', 'launched_at', 'host', 'node', 'availability_zone', 'project_id', 'user_id', 'hostname', 'key_name', 'launch_index', 'power_state']);
  if (!SORTABLE.has(sortKey)) throw badRequest(`Invalid input for query parameters sort_key. Value: ${sortKey}.`);
  const col = (sortKey === 'display_name' ? 'name' : sortKey) as keyof InstanceRow;
  let rows = await q.orderBy(col, sortDir).orderBy('uuid', sortDir).execute();
  const name = q1(ctx, 'name');
  if (name) {
    let re: RegExp;
    try { re = new RegExp(name); } catch { re = new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')); }
    rows = rows.filter((r) => re.test(r.name));
  }
  const flavor = q1(ctx, 'flavor');
  if (flavor) rows = rows.filter((r) => fromJson<{ flavorid: string }>(r.flavor, { flavorid: '' }).flavorid === flavor.split('/').pop());
  const ip = q1(ctx, 'ip') ?? q1(ctx, 'ip6');
  if (ip) {
    let re: RegExp;
    try { re = new RegExp(ip); } catch { re = /$^/; }
    rows = rows.filter((r) => fromJson<NetworkInfoItem[]>(r.network_info, []).some((n) => n.ips.some((x) => re.test(x.address))));
  }
  const uuidFilter = q1(ctx, 'uuid');
  if (uuidFilter && admin) rows = rows.filter((r) => r.uuid === uuidFilter);
  const extras = await extrasOf(c, rows.map((r) => r.uuid), detail ? rows : []);
  for (const [param, all] of [['tags', true], ['tags-any', false], ['not-tags', true], ['not-tags-any', false]] as const) {
    const v = q1(ctx, param);
    if (!v) continue;
    const want = v.split(',');
    const neg = param.startsWith('not-');
    rows = rows.filter((r) => {
      const have = new Set(extras.tags.get(r.uuid) ?? []);
      const hit = all ? want.every((t) => have.has(t)) : want.some((t) => have.has(t));
      return neg ? !hit : hit;
    });
  }
  const marker = q1(ctx, 'marker');
  if (marker) {
    const i = rows.findIndex((r) => r.uuid === marker);
    if (i < 0) throw badRequest(`marker [${marker}] not found`);
    rows = rows.slice(i + 1);
  }
  if (limit !== undefined) rows = rows.slice(0, limit);
  const servers = rows.map((r) => (detail ? serverView(ctx, r, { metadata: extras.metadata.get(r.uuid) ?? {}, tags: extras.tags.get(r.uuid) ?? [], floating: extras.floating, volumes: extras.volumes?.get(r.uuid) }, admin) : serverSummary(ctx, r)));
  return { servers, rows };
}

/** One server as GET /servers/{id} shows it, or as update/rebuild answer (`form`). */
export async function showServer(c: ComputeContext, ctx: RequestCtx, row: InstanceRow, form: 'full' | 'update' | 'rebuild' = 'full') {
  const extras = await extrasOf(c, [row.uuid], [row]);
  const groups = (await c.db.selectFrom('server_group_member').select('group_uuid').where('instance_uuid', '=', row.uuid).execute()).map((g) => g.group_uuid);
  return { server: serverView(ctx, row, { metadata: extras.metadata.get(row.uuid) ?? {}, tags: extras.tags.get(row.uuid) ?? [], groups, floating: extras.floating, volumes: extras.volumes?.get(row.uuid) }, callerOf(ctx).isAdmin, form) };
}

/** Loads the server of the URL as the policy target (404 before 403, as Nova). */
export const serverTarget = (c: ComputeContext) => async (ctx: RequestCtx) => {
  const row = await getInstance(c, callerOf(ctx), ctx.params.id);
  (ctx as RequestCtx & { server?: InstanceRow }).server = row;
  return { project_id: row.project_id, user_id: row.user_id };
};
export const serverOf = (ctx: RequestCtx): InstanceRow => (ctx as RequestCtx & { server: InstanceRow }).server;

export function serversRoutes(c: ComputeContext): Route[] {
  const list = (detail: boolean) => async (ctx: RequestCtx) => {
    const { servers, rows } = await listServers(c, ctx, detail);
    const body: Record<string, unknown> = { servers };
    const limit = q1(ctx, 'limit');
    if (limit !== undefined && rows && rows.length > 0 && rows.length === Math.min(Number(limit), 1000)) {
      const u = new URL(`${baseUrl(ctx)}${ctx.req.url}`);
      u.searchParams.set('marker', rows[rows.length - 1].uuid);
      body.servers_links = [{ rel: 'next', href: u.toString() }];
    }
    return body;
  };
  return [
    { method: 'GET', url: '/v2.1/servers', policy: 'authenticated', handler: list(false) },
    { method: 'GET', url: '/v2.1/servers/detail', policy: 'authenticated', handler: list(true) },
    {
      method: 'POST', url: '/v2.1/servers', policy: 'os_compute_api:servers:create', status: 202,
      target: (ctx) => ({ project_id: ctx.auth.projectId ?? '', user_id: ctx.auth.userId }),
      handler: async (ctx) => {
        const req = parseCreate(ctx);
        const caller = callerOf(ctx);
        const made = await createServers(c, caller, req);
        const s = ctx.body as Record<string, any>;
        if (s.server?.return_reservation_id === true || s.server?.return_reservation_id === 'True' || s.server?.return_reservation_id === 'true') {
          return { reservation_id: made.reservationId };
        }
        const first = made.instances[0];
        ctx.reply.header('location', `${baseUrl(ctx)}/v2.1/servers/${first.uuid}`);
        return {
          server: {
            id: first.uuid, links: [{ rel: 'self', href: `${baseUrl(ctx)}/v2.1/servers/${first.uuid}` }, { rel: 'bookmark', href: `${baseUrl(ctx)}/servers/${first.uuid}` }],
            'OS-DCF:diskConfig': req.diskConfig ?? 'MANUAL', security_groups: req.securityGroups.map((name) => ({ name })), adminPass: made.adminPass,
          },
        };
      },
    },
    {
      method: 'GET', url: '/v2.1/servers/:id', policy: 'os_compute_api:servers:show', target: serverTarget(c),
      handler: (ctx) => showServer(c, ctx, serverOf(ctx)),
    },
    {
      method: 'PUT', url: '/v2.1/servers/:id', policy: 'os_compute_api:servers:update', target: serverTarget(c),
      handler: async (ctx) => {
        const s = member(ctx.body, 'server');
        const row = serverOf(ctx);
        const allowed = new Set(['name', 'accessIPv4', 'accessIPv6', 'OS-DCF:diskConfig', ...(at(ctx, '2.19') ? ['description'] : []), ...(at(ctx, '2.90') ? ['hostname'] : [])]);
        for (const k of Object.keys(s)) if (!allowed.has(k)) throw invalid('server', s, `Additional properties are not allowed ('${k}' was unexpected)`);
        const set: Partial<InstanceRow> = {};
        if (s.name !== undefined) set.name = checkName(s.name);
        for (const [k, col, v] of [['accessIPv4', 'access_ip_v4', 4], ['accessIPv6', 'access_ip_v6', 6]] as const) {
          if (s[k] === undefined) continue;
          if (s[k] !== null && s[k] !== '' && (typeof s[k] !== 'string' || isIP(s[k]) !== v)) throw invalid(k, s[k], `'${s[k]}' is not a 'ipv${v}'`);
          set[col] = s[k] ? (v === 6 ? canonicalIpv6(s[k]) : s[k]) : null;
        }
        if (s.description !== undefined) {
          if (s.description !== null && (typeof s.description !== 'string' || s.description.length > 255)) throw invalid('description', s.description, 'must be a string of at most 255 characters');
          set.description = s.description;
        }
        if (s.hostname !== undefined) set.hostname = String(s.hostname);
        if (s['OS-DCF:diskConfig'] !== undefined) set.disk_config = checkDiskConfig(s['OS-DCF:diskConfig']);
        checkLock(row, callerOf(ctx));
        await c.db.updateTable('instance').set({ ...set, updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
        return showServer(c, ctx, (await c.db.selectFrom('instance').selectAll().where('uuid', '=', row.uuid).executeTakeFirst())!, 'update');
      },
    },
    {
      method: 'DELETE', url: '/v2.1/servers/:id', policy: 'os_compute_api:servers:delete', target: serverTarget(c), status: 204,
      handler: async (ctx) => {
        await deleteServer(c, ctx, serverOf(ctx), 'delete');
      },
    },
  ];
}

/** Delete (and forceDelete): a server on a host is torn down by its agent; one that never got a host goes at once. */
export async function deleteServer(c: ComputeContext, ctx: RequestCtx, row: InstanceRow, action: string): Promise<void> {
  const caller = callerOf(ctx);
  checkLock(row, caller);
  if (row.task_state === TASK.DELETING) return;
  await recordAction(c, { instanceUuid: row.uuid, action, requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
  const now = nowIso();
  if (!row.host) {
    // Nova's local delete: a shelved-offloaded server still has its ports
    await c.network.deallocate(row.uuid);
    await releaseVolumes(c, row);
    await c.placement.release(row.uuid);
    await c.db.updateTable('instance').set({ vm_state: VM.DELETED, task_state: null, deleted: 1, deleted_at: now, terminated_at: now, updated_at: now }).where('uuid', '=', row.uuid).execute();
    return;
  }
  await c.db.updateTable('instance').set({ task_state: TASK.DELETING, updated_at: now }).where('uuid', '=', row.uuid).execute();
  await castAgent(c.bus, row.host, 'terminate_instance', { uuid: row.uuid, requestId: caller.requestId }, caller.requestId);
}

