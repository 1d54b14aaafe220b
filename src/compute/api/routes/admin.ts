/**
 * Nova's admin APIs about hosts: os-availability-zone, os-hypervisors, os-services,
 * os-aggregates and os-migrations, with each microversion's shape: integer ids before 2.53 and
 * uuids since for hypervisors and services, forced_down since 2.11, cpu_info as an object since
 * 2.28, paging since 2.33 (hypervisors) and 2.59 (migrations), aggregate uuids since 2.41,
 * migration_type and links since 2.23, the hypervisor usage fields gone and uptime inline since 2.88.
 */
import { badRequest, notFound } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { MigrationRow } from '../../db/schema.js';
import {
  addHost, createAggregate, deleteAggregate, getAggregate, listAggregates, removeHost, setMetadata, updateAggregate, type Aggregate,
} from '../../service/aggregates.js';
import { fromJson, type ComputeContext } from '../../service/context.js';
import {
  availabilityZones, COMPUTE_BINARY, deleteService, findService, hostUptimeText, hypervisorStatistics, listHypervisors, listServices,
  serviceIntId, updateService, type HypervisorInfo, type ServiceInfo,
} from '../../service/hosts.js';
import { at, baseUrl, isObj, novaMicroTime, q1 } from '../common.js';

const P = 'os_compute_api:';
export const adminPolicy: Record<string, string> = {
  [`${P}os-availability-zone:list`]: '@',
  [`${P}os-availability-zone:detail`]: 'rule:admin_api',
  [`${P}os-hypervisors:list`]: 'rule:admin_api',
  [`${P}os-hypervisors:list-detail`]: 'rule:admin_api',
  [`${P}os-hypervisors:statistics`]: 'rule:admin_api',
  [`${P}os-hypervisors:show`]: 'rule:admin_api',
  [`${P}os-hypervisors:uptime`]: 'rule:admin_api',
  [`${P}os-hypervisors:search`]: 'rule:admin_api',
  [`${P}os-hypervisors:servers`]: 'rule:admin_api',
  [`${P}os-services:list`]: 'rule:admin_api',
  [`${P}os-services:update`]: 'rule:admin_api',
  [`${P}os-services:delete`]: 'rule:admin_api',
  [`${P}os-aggregates:index`]: 'rule:admin_api',
  [`${P}os-aggregates:create`]: 'rule:admin_api',
  [`${P}os-aggregates:show`]: 'rule:admin_api',
  [`${P}os-aggregates:update`]: 'rule:admin_api',
  [`${P}os-aggregates:delete`]: 'rule:admin_api',
  [`${P}os-aggregates:add_host`]: 'rule:admin_api',
  [`${P}os-aggregates:remove_host`]: 'rule:admin_api',
  [`${P}os-aggregates:set_metadata`]: 'rule:admin_api',
  [`${P}os-migrations:index`]: 'rule:admin_api',
};

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const invalid = (field: string, value: unknown, why: string) => badRequest(`Invalid input for field/attribute ${field}. Value: ${show(value)}. ${why}`);
const gone = () => notFound('The resource could not be found.');

const TRUE = new Set(['true', '1', 'on', 'yes', 't', 'y']);
const FALSE = new Set(['false', '0', 'off', 'no', 'f', 'n']);
function boolQuery(name: string, v: string | undefined): boolean {
  if (v === undefined) return false;
  const s = v.toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw badRequest(`Invalid input for query parameters ${name}. Value: ${v}. '${v}' is not a valid boolean`);
}
function boolBody(field: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && TRUE.has(v.toLowerCase())) return true;
  if (typeof v === 'string' && FALSE.has(v.toLowerCase())) return false;
  throw invalid(field, v, `${show(v)} is not of type 'boolean'`);
}
function onlyKeys(field: string, o: Record<string, unknown>, allowed: string[]) {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length) throw badRequest(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(o)}. Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
}
/** Nova's parameter_types.name: 1–255 characters without leading or trailing whitespace. */
function nameParam(field: string, v: unknown, max = 255): string {
  if (typeof v !== 'string') throw invalid(field, v, `${show(v)} is not of type 'string'`);
  if (v.length < 1) throw invalid(field, v, `'${v}' is too short`);
  if (v.length > max) throw invalid(field, v, `'${v}' is too long`);
  if (v.trim() !== v) throw invalid(field, v, `'${v}' does not match the name format (no leading or trailing whitespace)`);
  return v;
}
function azParam(v: unknown): string | null {
  if (v === null) return null;
  const s = nameParam('availability_zone', v);
  if (s.includes(':')) throw invalid('availability_zone', v, `'${s}' does not match '^[^:]*$'`);
  return s;
}
function intQuery(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw badRequest(`Invalid input for query parameters ${name}. Value: ${v}. '${v}' is not a valid integer >= ${min}`);
  return Number(v);
}
/** Since 2.75 (services) unknown query parameters are refused. */
function strictQuery(ctx: RequestCtx, allowed: string[]) {
  const extra = Object.keys(ctx.query).filter((k) => !allowed.includes(k));
  if (extra.length) throw badRequest(`Invalid input for query parameters ${extra[0]}. Value: ${show(ctx.query[extra[0]])}. Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
}

/** The request's URL with `marker` set, as Nova's next links are. */
function nextHref(ctx: RequestCtx, marker: string | number): string {
  const u = new URL(ctx.req.url, baseUrl(ctx));
  u.searchParams.set('marker', String(marker));
  const path = u.pathname.startsWith('/v2.1') ? u.pathname : `/v2.1${u.pathname}`;
  return `${baseUrl(ctx)}${path}?${u.searchParams.toString()}`;
}

// ---- views

function serviceView(ctx: RequestCtx, s: ServiceInfo) {
  return {
    id: at(ctx, '2.53') ? s.id : serviceIntId(s.id),
    binary: s.binary,
    disabled_reason: s.disabled_reason,
    host: s.host,
    state: s.up ? 'up' : 'down',
    status: s.disabled ? 'disabled' : 'enabled',
    updated_at: novaMicroTime(s.last_seen_up ?? s.updated_at),
    zone: s.availabilityZone,
    ...(at(ctx, '2.11') ? { forced_down: Boolean(s.forced_down) } : {}),
  };
}

function hypervisorView(ctx: RequestCtx, h: HypervisorInfo, detail: boolean, withServers: boolean) {
  const uuids = at(ctx, '2.53');
  const s = h.service!;
  const out: Record<string, unknown> = {
    id: uuids ? h.node.uuid : Number(h.node.id),
    hypervisor_hostname: h.node.hypervisor_hostname,
    state: s.up ? 'up' : 'down',
    status: s.disabled ? 'disabled' : 'enabled',
  };
  if (detail) {
    out.hypervisor_type = h.node.hypervisor_type;
    out.hypervisor_version = Number(h.node.hypervisor_version);
    out.host_ip = h.node.host_ip;
    out.service = { id: uuids ? s.id : serviceIntId(s.id), host: h.node.host, disabled_reason: s.disabled_reason };
    if (!at(ctx, '2.88')) {
      const free = h.node.local_gb - h.localGbUsed;
      Object.assign(out, {
        vcpus: h.node.vcpus, memory_mb: h.node.memory_mb, local_gb: h.node.local_gb,
        vcpus_used: h.vcpusUsed, memory_mb_used: h.memoryMbUsed, local_gb_used: h.localGbUsed,
        free_ram_mb: h.node.memory_mb - h.memoryMbUsed, free_disk_gb: free,
        current_workload: h.currentWorkload, running_vms: h.runningVms, disk_available_least: free,
        cpu_info: at(ctx, '2.28') ? fromJson<Record<string, unknown>>(h.node.cpu_info, {}) ?? {} : h.node.cpu_info || '{}',
      });
    } else {
      out.uptime = s.up && !s.disabled ? hostUptimeText() : null;
    }
  }
  if (withServers && h.servers.length) out.servers = h.servers;
  return out;
}

function aggregateView(ctx: RequestCtx, a: Aggregate, full = true) {
  return {
    availability_zone: a.availability_zone,
    created_at: novaMicroTime(a.created_at),
    deleted: false,
    deleted_at: null,
    id: Number(a.id),
    name: a.name,
    updated_at: novaMicroTime(a.updated_at),
    ...(at(ctx, '2.41') ? { uuid: a.uuid } : {}),
    ...(full ? { hosts: a.hosts, metadata: a.metadata } : {}),
  };
}

const IN_PROGRESS_LIVE = new Set(['queued', 'preparing', 'running', 'post-migrating']);
function migrationView(ctx: RequestCtx, m: MigrationRow) {
  const flavorInt = (f: string | null) => (f !== null && /^\d+$/.test(f) ? Number(f) : null);
  const out: Record<string, unknown> = {
    id: Number(m.id),
    status: m.status,
    instance_uuid: m.instance_uuid,
    source_node: m.source_node,
    source_compute: m.source_compute,
    dest_node: m.dest_node,
    dest_compute: m.dest_compute,
    dest_host: null,
    old_instance_type_id: flavorInt(m.old_flavorid),
    new_instance_type_id: flavorInt(m.new_flavorid),
    created_at: novaMicroTime(m.created_at),
    updated_at: novaMicroTime(m.updated_at),
  };
  if (at(ctx, '2.23')) {
    out.migration_type = m.migration_type;
    if (m.migration_type === 'live-migration' && IN_PROGRESS_LIVE.has(m.status)) {
      const b = baseUrl(ctx);
      out.links = [
        { rel: 'self', href: `${b}/v2.1/servers/${m.instance_uuid}/migrations/${m.id}` },
        { rel: 'bookmark', href: `${b}/servers/${m.instance_uuid}/migrations/${m.id}` },
      ];
    }
  }
  if (at(ctx, '2.59')) out.uuid = m.uuid;
  if (at(ctx, '2.80')) {
    out.user_id = m.user_id;
    out.project_id = m.project_id;
  }
  return out;
}

// ---- handlers

async function hypervisorById(c: ComputeContext, ctx: RequestCtx, id: string): Promise<HypervisorInfo> {
  const uuids = at(ctx, '2.53');
  if (uuids && !UUID_RE.test(id)) throw badRequest(`Invalid uuid ${id}`);
  const all = (await listHypervisors(c)).filter((h) => h.service);
  const h = uuids ? all.find((x) => x.node.uuid === id.toLowerCase()) : /^\d+$/.test(id) ? all.find((x) => Number(x.node.id) === Number(id)) : undefined;
  if (!h) throw notFound(`Hypervisor with ID '${id}' could not be found.`);
  return h;
}

async function hypervisorList(c: ComputeContext, ctx: RequestCtx, detail: boolean) {
  const uuids = at(ctx, '2.53');
  const pattern = uuids ? q1(ctx, 'hypervisor_hostname_pattern') : undefined;
  const withServers = uuids ? boolQuery('with_servers', q1(ctx, 'with_servers')) : false;
  const paging = at(ctx, '2.33');
  const limit = paging ? intQuery('limit', q1(ctx, 'limit'), 0) : undefined;
  const marker = paging ? q1(ctx, 'marker') : undefined;
  if (pattern !== undefined && (limit !== undefined || marker !== undefined)) {
    throw badRequest('Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.');
  }
  let hs = (await listHypervisors(c)).filter((h) => h.service);
  if (pattern !== undefined) {
    hs = hs.filter((h) => h.node.hypervisor_hostname.toLowerCase().includes(pattern.toLowerCase()));
    if (hs.length === 0) throw notFound(`No hypervisor matching '${pattern}' could be found.`);
  }
  if (marker !== undefined) {
    if (uuids && !UUID_RE.test(marker)) throw badRequest(`Invalid marker: ${marker}`);
    const i = hs.findIndex((h) => (uuids ? h.node.uuid === marker.toLowerCase() : String(h.node.id) === marker));
    if (i < 0) throw badRequest(`marker [${marker}] not found`);
    hs = hs.slice(i + 1);
  }
  const max = limit === undefined ? undefined : Math.min(limit, 1000);
  const page = max === undefined ? hs : hs.slice(0, max);
  const body: Record<string, unknown> = { hypervisors: page.map((h) => hypervisorView(ctx, h, detail, withServers)) };
  if (max !== undefined && page.length > 0 && page.length === max) {
    const last = page[page.length - 1];
    body.hypervisors_links = [{ rel: 'next', href: nextHref(ctx, uuids ? last.node.uuid : Number(last.node.id)) }];
  }
  return body;
}

async function hypervisorsMatching(c: ComputeContext, ctx: RequestCtx, withServers: boolean) {
  if (at(ctx, '2.53')) throw gone();
  const pattern = ctx.params.id;
  const hs = (await listHypervisors(c)).filter((h) => h.service && h.node.hypervisor_hostname.toLowerCase().includes(pattern.toLowerCase()));
  if (hs.length === 0) throw notFound(`No hypervisor matching '${pattern}' could be found.`);
  return { hypervisors: hs.map((h) => hypervisorView(ctx, h, false, withServers)) };
}

function aggregateId(id: string): number {
  if (!/^-?\d+$/.test(id)) throw badRequest(`Invalid input received: id must be an integer`);
  const n = Number(id);
  // beyond the column's range nothing can match (and PostgreSQL would refuse the comparison)
  if (!Number.isSafeInteger(n) || n < -2147483648 || n > 2147483647) throw notFound(`Aggregate ${id} could not be found.`);
  return n;
}

/** The old os-services actions (before 2.53): PUT /os-services/{enable|disable|disable-log-reason|force-down}. */
async function legacyServiceAction(c: ComputeContext, ctx: RequestCtx, action: string) {
  const actions = ['enable', 'disable', 'disable-log-reason', ...(at(ctx, '2.11') ? ['force-down'] : [])];
  if (!actions.includes(action)) throw notFound('Unknown action');
  const body = ctx.body;
  if (!isObj(body)) throw badRequest(`Invalid input for field/attribute body. Value: ${show(body)}. ${show(body)} is not of type 'object'`);
  const allowed = action === 'force-down' ? ['host', 'binary', 'forced_down'] : action === 'disable-log-reason' ? ['host', 'binary', 'disabled_reason'] : ['host', 'binary'];
  onlyKeys('body', body, allowed);
  for (const k of ['host', 'binary']) {
    if (body[k] === undefined) throw badRequest(`Invalid input for field/attribute body. Value: ${JSON.stringify(body)}. '${k}' is a required property`);
    nameParam(k, body[k]);
  }
  const host = body.host as string;
  const binary = body.binary as string;
  let values: { disabled?: number; disabled_reason?: string | null; forced_down?: number } = {};
  let reply: Record<string, unknown>;
  switch (action) {
    case 'enable':
      values = { disabled: 0, disabled_reason: null };
      reply = { host, binary, status: 'enabled' };
      break;
    case 'disable':
      values = { disabled: 1 };
      reply = { host, binary, status: 'disabled' };
      break;
    case 'disable-log-reason': {
      if (body.disabled_reason === undefined) throw badRequest('Missing disabled reason field');
      const reason = nameParam('disabled_reason', body.disabled_reason);
      values = { disabled: 1, disabled_reason: reason };
      reply = { host, binary, status: 'disabled', disabled_reason: reason };
      break;
    }
    default: {
      if (body.forced_down === undefined) throw badRequest('Missing forced_down field');
      const down = boolBody('forced_down', body.forced_down);
      values = { forced_down: down ? 1 : 0 };
      reply = { host, binary, forced_down: down };
    }
  }
  if (binary !== COMPUTE_BINARY) throw badRequest(`Updating a ${binary} service is not supported. Only nova-compute services can be updated.`);
  const [s] = await listServices(c, { host, binary });
  if (!s) throw notFound(`Could not find binary ${binary} on host ${host}.`);
  await updateService(c, s.id, values);
  return { service: reply };
}

async function updateServiceV253(c: ComputeContext, ctx: RequestCtx, id: string) {
  if (!UUID_RE.test(id)) throw badRequest(`Invalid uuid ${id}`);
  const body = ctx.body;
  if (!isObj(body)) throw badRequest(`Invalid input for field/attribute body. Value: ${show(body)}. ${show(body)} is not of type 'object'`);
  onlyKeys('body', body, ['status', 'disabled_reason', 'forced_down']);
  if (body.status !== undefined && body.status !== 'enabled' && body.status !== 'disabled') {
    throw invalid('status', body.status, `${show(body.status)} is not one of ['enabled', 'disabled']`);
  }
  const reason = body.disabled_reason === undefined ? undefined : nameParam('disabled_reason', body.disabled_reason);
  const forced = body.forced_down === undefined ? undefined : boolBody('forced_down', body.forced_down);
  const s = await findService(c, id.toLowerCase(), true);
  if (!s) throw notFound(`Service ${id} could not be found.`);
  if (s.binary !== COMPUTE_BINARY) throw badRequest(`Updating a ${s.binary} service is not supported. Only nova-compute services can be updated.`);
  const values: { disabled?: number; disabled_reason?: string | null; forced_down?: number } = {};
  if (body.status === 'enabled') {
    if (reason) throw badRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    values.disabled = 0;
    values.disabled_reason = null;
  } else if (body.status === 'disabled') {
    values.disabled = 1;
    values.disabled_reason = reason ?? null;
  }
  if (forced !== undefined) values.forced_down = forced ? 1 : 0;
  if (Object.keys(values).length === 0) throw badRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
  await updateService(c, s.id, values);
  const fresh = (await findService(c, s.id, true))!;
  return { service: serviceView(ctx, fresh) };
}

export function adminRoutes(c: ComputeContext): Route[] {
  return [
    // ---- os-availability-zone
    {
      method: 'GET', url: '/v2.1/os-availability-zone', policy: `${P}os-availability-zone:list`,
      handler: async () => ({
        availabilityZoneInfo: (await availabilityZones(c)).filter((z) => z.zoneName !== 'internal')
          .map((z) => ({ zoneName: z.zoneName, zoneState: { available: z.available }, hosts: null })),
      }),
    },
    {
      method: 'GET', url: '/v2.1/os-availability-zone/detail', policy: `${P}os-availability-zone:detail`,
      handler: async () => ({
        availabilityZoneInfo: (await availabilityZones(c)).map((z) => ({
          zoneName: z.zoneName,
          zoneState: { available: z.available },
          hosts: z.available
            ? Object.fromEntries([...z.hosts].map(([host, list]) => [host, Object.fromEntries(list.map((s) => [s.binary, {
              available: s.up, active: !s.disabled, updated_at: novaMicroTime(s.last_seen_up ?? s.updated_at),
            }]))]))
            : null,
        })),
      }),
    },

    // ---- os-hypervisors
    { method: 'GET', url: '/v2.1/os-hypervisors', policy: `${P}os-hypervisors:list`, handler: (ctx) => hypervisorList(c, ctx, false) },
    { method: 'GET', url: '/v2.1/os-hypervisors/detail', policy: `${P}os-hypervisors:list-detail`, handler: (ctx) => hypervisorList(c, ctx, true) },
    {
      method: 'GET', url: '/v2.1/os-hypervisors/statistics', policy: `${P}os-hypervisors:statistics`,
      handler: async (ctx) => {
        if (at(ctx, '2.88')) throw gone();
        return { hypervisor_statistics: hypervisorStatistics(await listHypervisors(c)) };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-hypervisors/:id', policy: `${P}os-hypervisors:show`,
      handler: async (ctx) => {
        const withServers = at(ctx, '2.53') ? boolQuery('with_servers', q1(ctx, 'with_servers')) : false;
        return { hypervisor: hypervisorView(ctx, await hypervisorById(c, ctx, ctx.params.id), true, withServers) };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-hypervisors/:id/uptime', policy: `${P}os-hypervisors:uptime`,
      handler: async (ctx) => {
        if (at(ctx, '2.88')) throw gone();
        const h = await hypervisorById(c, ctx, ctx.params.id);
        if (!h.service!.up) throw badRequest(`Compute service of ${h.node.host} is unavailable at this time.`);
        return { hypervisor: { ...hypervisorView(ctx, h, false, false), uptime: hostUptimeText() } };
      },
    },
    { method: 'GET', url: '/v2.1/os-hypervisors/:id/search', policy: `${P}os-hypervisors:search`, handler: (ctx) => hypervisorsMatching(c, ctx, false) },
    { method: 'GET', url: '/v2.1/os-hypervisors/:id/servers', policy: `${P}os-hypervisors:servers`, handler: (ctx) => hypervisorsMatching(c, ctx, true) },

    // ---- os-services
    {
      method: 'GET', url: '/v2.1/os-services', policy: `${P}os-services:list`,
      handler: async (ctx) => {
        if (at(ctx, '2.75')) strictQuery(ctx, ['host', 'binary']);
        const services = await listServices(c, { host: q1(ctx, 'host'), binary: q1(ctx, 'binary') });
        return { services: services.map((s) => serviceView(ctx, s)) };
      },
    },
    {
      method: 'PUT', url: '/v2.1/os-services/:id', policy: `${P}os-services:update`,
      handler: (ctx) => (at(ctx, '2.53') ? updateServiceV253(c, ctx, ctx.params.id) : legacyServiceAction(c, ctx, ctx.params.id)),
    },
    {
      method: 'DELETE', url: '/v2.1/os-services/:id', policy: `${P}os-services:delete`, status: 204,
      handler: async (ctx) => {
        const id = ctx.params.id;
        const uuids = at(ctx, '2.53');
        if (uuids && !UUID_RE.test(id)) throw badRequest(`Invalid uuid ${id}`);
        if (!uuids && !/^\d+$/.test(id)) throw badRequest('Invalid input received: id must be an integer');
        const s = await findService(c, uuids ? id.toLowerCase() : id, uuids);
        if (!s) throw notFound(`Service ${id} not found.`);
        await deleteService(c, s);
      },
    },

    // ---- os-aggregates
    {
      method: 'GET', url: '/v2.1/os-aggregates', policy: `${P}os-aggregates:index`,
      handler: async (ctx) => ({ aggregates: (await listAggregates(c)).map((a) => aggregateView(ctx, a)) }),
    },
    {
      method: 'POST', url: '/v2.1/os-aggregates', policy: `${P}os-aggregates:create`,
      handler: async (ctx) => {
        const body = ctx.body;
        if (!isObj(body) || !isObj(body.aggregate)) throw badRequest(`Invalid input for field/attribute aggregate. Value: ${show(body)}. 'aggregate' is a required property`);
        onlyKeys('body', body, ['aggregate']);
        const a = body.aggregate;
        onlyKeys('aggregate', a, ['name', 'availability_zone']);
        if (a.name === undefined) throw badRequest(`Invalid input for field/attribute aggregate. Value: ${JSON.stringify(a)}. 'name' is a required property`);
        const name = nameParam('name', a.name);
        const az = a.availability_zone === undefined ? null : azParam(a.availability_zone);
        return { aggregate: aggregateView(ctx, await createAggregate(c, name, az), false) };
      },
    },
    {
      method: 'GET', url: '/v2.1/os-aggregates/:id', policy: `${P}os-aggregates:show`,
      handler: async (ctx) => ({ aggregate: aggregateView(ctx, await getAggregate(c, aggregateId(ctx.params.id))) }),
    },
    {
      method: 'PUT', url: '/v2.1/os-aggregates/:id', policy: `${P}os-aggregates:update`,
      handler: async (ctx) => {
        const id = aggregateId(ctx.params.id);
        const body = ctx.body;
        if (!isObj(body) || !isObj(body.aggregate)) throw badRequest(`Invalid input for field/attribute aggregate. Value: ${show(body)}. 'aggregate' is a required property`);
        onlyKeys('body', body, ['aggregate']);
        const a = body.aggregate;
        onlyKeys('aggregate', a, ['name', 'availability_zone']);
        if (Object.keys(a).length === 0) throw badRequest(`Invalid input for field/attribute aggregate. Value: {}. {} does not have enough properties`);
        const values: { name?: string; availability_zone?: string | null } = {};
        if (a.name !== undefined) values.name = nameParam('name', a.name);
        if (a.availability_zone !== undefined) values.availability_zone = azParam(a.availability_zone);
        return { aggregate: aggregateView(ctx, await updateAggregate(c, id, values)) };
      },
    },
    {
      method: 'DELETE', url: '/v2.1/os-aggregates/:id', policy: `${P}os-aggregates:delete`, status: 200,
      handler: async (ctx) => {
        await deleteAggregate(c, aggregateId(ctx.params.id));
      },
    },
    {
      // each action has its own rule, checked before the body is judged
      method: 'POST', url: '/v2.1/os-aggregates/:id/action', policy: 'authenticated',
      handler: async (ctx) => {
        const body = ctx.body;
        const keys = isObj(body) ? Object.keys(body) : [];
        const action = keys.length === 1 ? keys[0] : '';
        ctx.enforce(`${P}os-aggregates:${['add_host', 'remove_host', 'set_metadata'].includes(action) ? action : 'add_host'}`, {});
        const id = aggregateId(ctx.params.id);
        if (keys.length !== 1) throw badRequest(`Invalid input for field/attribute body. Value: ${show(body)}. The request must have exactly one action`);
        const arg = body[action];
        switch (action) {
          case 'add_host':
          case 'remove_host': {
            if (!isObj(arg)) throw invalid(action, arg, `${show(arg)} is not of type 'object'`);
            onlyKeys(action, arg, ['host']);
            if (arg.host === undefined) throw invalid(action, arg, "'host' is a required property");
            const host = nameParam('host', arg.host);
            const agg = action === 'add_host' ? await addHost(c, id, host) : await removeHost(c, id, host);
            return { aggregate: aggregateView(ctx, agg) };
          }
          case 'set_metadata': {
            if (!isObj(arg)) throw invalid('set_metadata', arg, `${show(arg)} is not of type 'object'`);
            onlyKeys('set_metadata', arg, ['metadata']);
            if (!isObj(arg.metadata)) throw invalid('metadata', arg.metadata, `${show(arg.metadata)} is not of type 'object'`);
            const meta: Record<string, string | null> = {};
            for (const [k, v] of Object.entries(arg.metadata)) {
              if (k.length < 1 || k.length > 255) throw invalid('metadata', arg.metadata, `'${k}' is not a valid metadata key (1 to 255 characters)`);
              if (v !== null && typeof v !== 'string') throw invalid(k, v, `${show(v)} is not of type 'string', 'null'`);
              if (typeof v === 'string' && v.length > 255) throw invalid(k, v, `'${v}' is too long`);
              if (k === 'availability_zone' && typeof v === 'string' && v.includes(':')) throw invalid(k, v, `'${v}' does not match '^[^:]*$'`);
              meta[k] = v as string | null;
            }
            return { aggregate: aggregateView(ctx, await setMetadata(c, id, meta)) };
          }
          default:
            throw badRequest(`Invalid input for field/attribute body. Value: ${JSON.stringify(body)}. Additional properties are not allowed ('${action}' was unexpected)`);
        }
      },
    },

    // ---- os-migrations
    {
      method: 'GET', url: '/v2.1/os-migrations', policy: `${P}os-migrations:index`,
      handler: async (ctx) => {
        let q = c.db.selectFrom('migration').selectAll();
        const status = q1(ctx, 'status');
        const host = q1(ctx, 'host');
        const source = q1(ctx, 'source_compute');
        const instance = q1(ctx, 'instance_uuid');
        const type = q1(ctx, 'migration_type');
        if (status !== undefined) q = q.where('status', '=', status);
        if (host !== undefined) q = q.where((eb) => eb.or([eb('source_compute', '=', host), eb('dest_compute', '=', host)]));
        if (source !== undefined) q = q.where('source_compute', '=', source);
        if (instance !== undefined) q = q.where('instance_uuid', '=', instance);
        if (type !== undefined) q = q.where('migration_type', '=', type);
        const paged = at(ctx, '2.59');
        if (paged) {
          for (const [param, op] of [['changes-since', '>='], ['changes-before', '<=']] as const) {
            const v = q1(ctx, param);
            if (v === undefined || (param === 'changes-before' && !at(ctx, '2.66'))) continue;
            const t = Date.parse(v);
            if (Number.isNaN(t)) throw badRequest(`Invalid input for query parameters ${param}. Value: ${v}. '${v}' is not a 'date-time'`);
            q = q.where('updated_at', op, new Date(t).toISOString());
          }
        }
        if (at(ctx, '2.80')) {
          const user = q1(ctx, 'user_id');
          const project = q1(ctx, 'project_id');
          if (user !== undefined) q = q.where('user_id', '=', user);
          if (project !== undefined) q = q.where('project_id', '=', project);
        }
        let rows = paged ? await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute() : await q.orderBy('id').execute();
        const body: Record<string, unknown> = {};
        if (paged) {
          const limit = intQuery('limit', q1(ctx, 'limit'), 0);
          const marker = q1(ctx, 'marker');
          if (marker !== undefined) {
            const i = rows.findIndex((m) => m.uuid === marker);
            if (i < 0) throw badRequest(`Marker ${marker} could not be found.`);
            rows = rows.slice(i + 1);
          }
          // as Nova: a next link whenever the page is full
          const max = Math.min(limit ?? 1000, 1000);
          rows = rows.slice(0, max);
          if (rows.length > 0 && rows.length === max) body.migrations_links = [{ rel: 'next', href: nextHref(ctx, rows[rows.length - 1].uuid) }];
        }
        return { migrations: rows.map((m) => migrationView(ctx, m)), ...body };
      },
    },
  ];
}
