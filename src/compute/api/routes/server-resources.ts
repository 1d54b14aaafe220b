import { badRequest, conflict, notFound } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { fromJson, type ComputeContext } from '../../service/context.js';
import { effectiveLimits, overQuota } from '../../service/quotas.js';
import { checkLock, getInstance } from '../../service/servers.js';
import type { InstanceRow } from '../../db/schema.js';
import { at, callerOf, isObj, novaMicroTime } from '../common.js';
import { addressesOf } from '../views.js';
import { checkTag, serverOf, serverTarget } from './servers.js';

const P = 'os_compute_api:';
export const serverResourcesPolicy: Record<string, string> = {
  [`${P}server-metadata:index`]: 'rule:project_reader_or_admin',
  [`${P}server-metadata:show`]: 'rule:project_reader_or_admin',
  [`${P}server-metadata:create`]: 'rule:project_member_or_admin',
  [`${P}server-metadata:update`]: 'rule:project_member_or_admin',
  [`${P}server-metadata:update_all`]: 'rule:project_member_or_admin',
  [`${P}server-metadata:delete`]: 'rule:project_member_or_admin',
  [`${P}os-server-tags:index`]: 'rule:project_reader_or_admin',
  [`${P}os-server-tags:show`]: 'rule:project_reader_or_admin',
  [`${P}os-server-tags:update`]: 'rule:project_member_or_admin',
  [`${P}os-server-tags:update_all`]: 'rule:project_member_or_admin',
  [`${P}os-server-tags:delete`]: 'rule:project_member_or_admin',
  [`${P}os-server-tags:delete_all`]: 'rule:project_member_or_admin',
  [`${P}ips:index`]: 'rule:project_reader_or_admin',
  [`${P}ips:show`]: 'rule:project_reader_or_admin',
  [`${P}os-instance-actions:list`]: 'rule:project_reader_or_admin',
  [`${P}os-instance-actions:show`]: 'rule:project_reader_or_admin',
  [`${P}os-instance-actions:events`]: 'rule:admin_api',
  [`${P}os-instance-actions:events:details`]: 'rule:admin_api',
  [`${P}os-server-diagnostics`]: 'rule:admin_api',
};

type Meta = Record<string, string>;

function metaBody(body: unknown, key: 'metadata' | 'meta'): Meta {
  if (!isObj(body) || !isObj(body[key])) throw badRequest(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(body)}. '${key}' is a required property`);
  for (const [k, v] of Object.entries(body[key])) {
    if (k.length < 1 || k.length > 255) throw badRequest(`Invalid input for field/attribute ${key}. Metadata key '${k}' must be 1 to 255 characters`);
    if (typeof v !== 'string' || v.length > 255) throw badRequest(`Invalid input for field/attribute ${key}. Value of '${k}' must be a string of at most 255 characters`);
  }
  return body[key] as Meta;
}

async function readMeta(c: ComputeContext, uuid: string): Promise<Meta> {
  const rows = await c.db.selectFrom('instance_metadata').selectAll().where('instance_uuid', '=', uuid).execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Replaces (all) or merges metadata, within the project's metadata_items quota. */
async function writeMeta(c: ComputeContext, ctx: RequestCtx, meta: Meta, replace: boolean): Promise<Meta> {
  const row = serverOf(ctx);
  checkLock(row, callerOf(ctx));
  if (row.task_state === 'deleting') throw conflict(`Cannot change metadata of instance ${row.uuid} while it is being deleted`);
  const current = replace ? {} : await readMeta(c, row.uuid);
  const next = { ...current, ...meta };
  const limits = await effectiveLimits(c.db, row.project_id);
  const n = Object.keys(next).length;
  if (limits.metadata_items >= 0 && n > limits.metadata_items) throw overQuota('metadata_items', n, 0, limits.metadata_items);
  await c.db.transaction().execute(async (trx) => {
    if (replace) await trx.deleteFrom('instance_metadata').where('instance_uuid', '=', row.uuid).execute();
    else if (Object.keys(meta).length) await trx.deleteFrom('instance_metadata').where('instance_uuid', '=', row.uuid).where('key', 'in', Object.keys(meta)).execute();
    const entries = Object.entries(meta);
    if (entries.length) await trx.insertInto('instance_metadata').values(entries.map(([key, value]) => ({ instance_uuid: row.uuid, key, value }))).execute();
    await trx.updateTable('instance').set({ updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  });
  return replace ? meta : next;
}

async function readTags(c: ComputeContext, uuid: string): Promise<string[]> {
  return (await c.db.selectFrom('instance_tag').select('tag').where('instance_uuid', '=', uuid).orderBy('tag').execute()).map((r) => r.tag);
}

const needTags = (ctx: RequestCtx) => {
  if (!at(ctx, '2.26')) throw notFound('The resource could not be found.');
};

export function serverResourcesRoutes(c: ComputeContext): Route[] {
  /** The server's addresses with the floating IPs of its ports (the network service knows them). */
  const addresses = async (row: InstanceRow) => {
    const ports = fromJson<{ port_id: string }[]>(row.network_info, []).map((n) => n.port_id);
    return addressesOf(row, c.network.floatingIps && ports.length ? await c.network.floatingIps(ports) : undefined);
  };
  const t = serverTarget(c);
  // 2.21: the actions of a deleted server stay readable
  const withDeleted = async (ctx: RequestCtx) => {
    const row = await getInstance(c, callerOf(ctx), ctx.params.id, { deleted: at(ctx, '2.21') });
    (ctx as RequestCtx & { server?: InstanceRow }).server = row;
    return { project_id: row.project_id, user_id: row.user_id };
  };
  const r = (method: Route['method'], url: string, rule: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url: `/v2.1/servers/:id${url}`, policy: `${P}${rule}`, target: url.startsWith('/os-instance-actions') ? withDeleted : t, handler, ...(status ? { status } : {}) });
  return [
    // metadata
    r('GET', '/metadata', 'server-metadata:index', async (ctx) => ({ metadata: await readMeta(c, ctx.params.id) })),
    r('PUT', '/metadata', 'server-metadata:update_all', async (ctx) => ({ metadata: await writeMeta(c, ctx, metaBody(ctx.body, 'metadata'), true) })),
    r('POST', '/metadata', 'server-metadata:create', async (ctx) => ({ metadata: await writeMeta(c, ctx, metaBody(ctx.body, 'metadata'), false) })),
    r('GET', '/metadata/:key', 'server-metadata:show', async (ctx) => {
      const m = await readMeta(c, ctx.params.id);
      if (!(ctx.params.key in m)) throw notFound('Metadata item was not found');
      return { meta: { [ctx.params.key]: m[ctx.params.key] } };
    }),
    r('PUT', '/metadata/:key', 'server-metadata:update', async (ctx) => {
      const meta = metaBody(ctx.body, 'meta');
      if (Object.keys(meta).length !== 1) throw badRequest('Request body contains too many items');
      if (!(ctx.params.key in meta)) throw badRequest('Request body and URI mismatch');
      await writeMeta(c, ctx, meta, false);
      return { meta };
    }),
    r('DELETE', '/metadata/:key', 'server-metadata:delete', async (ctx) => {
      const row = serverOf(ctx);
      checkLock(row, callerOf(ctx));
      const d = await c.db.deleteFrom('instance_metadata').where('instance_uuid', '=', row.uuid).where('key', '=', ctx.params.key).executeTakeFirst();
      if (Number(d.numDeletedRows) === 0) throw notFound('Metadata item was not found');
    }),
    // tags (2.26)
    r('GET', '/tags', 'os-server-tags:index', async (ctx) => { needTags(ctx); return { tags: await readTags(c, ctx.params.id) }; }),
    r('PUT', '/tags', 'os-server-tags:update_all', async (ctx) => {
      needTags(ctx);
      const body = ctx.body as Record<string, unknown>;
      if (!isObj(body) || !Array.isArray(body.tags) || body.tags.length > 50) throw badRequest("Invalid input for field/attribute tags. 'tags' must be a list of at most 50 tags");
      const tags = [...new Set(body.tags.map(checkTag))];
      const row = serverOf(ctx);
      checkLock(row, callerOf(ctx));
      await c.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('instance_tag').where('instance_uuid', '=', row.uuid).execute();
        if (tags.length) await trx.insertInto('instance_tag').values(tags.map((tag) => ({ instance_uuid: row.uuid, tag }))).execute();
      });
      return { tags: tags.sort() };
    }),
    r('DELETE', '/tags', 'os-server-tags:delete_all', async (ctx) => {
      needTags(ctx);
      checkLock(serverOf(ctx), callerOf(ctx));
      await c.db.deleteFrom('instance_tag').where('instance_uuid', '=', ctx.params.id).execute();
    }),
    r('GET', '/tags/:tag', 'os-server-tags:show', async (ctx) => {
      needTags(ctx);
      const hit = await c.db.selectFrom('instance_tag').select('tag').where('instance_uuid', '=', ctx.params.id).where('tag', '=', ctx.params.tag).executeTakeFirst();
      if (!hit) throw notFound(`Tag ${ctx.params.tag} could not be found.`);
    }),
    r('PUT', '/tags/:tag', 'os-server-tags:update', async (ctx) => {
      needTags(ctx);
      const tag = checkTag(ctx.params.tag);
      const row = serverOf(ctx);
      checkLock(row, callerOf(ctx));
      const have = await readTags(c, row.uuid);
      if (have.includes(tag)) return ctx.reply.code(204).send();
      if (have.length >= 50) throw badRequest('The number of tags exceeded the per-server limit 50');
      await c.db.insertInto('instance_tag').values({ instance_uuid: row.uuid, tag }).execute();
      ctx.reply.header('location', `${ctx.req.protocol}://${ctx.req.headers.host}/v2.1/servers/${row.uuid}/tags/${encodeURIComponent(tag)}`);
      return ctx.reply.code(201).send();
    }),
    r('DELETE', '/tags/:tag', 'os-server-tags:delete', async (ctx) => {
      needTags(ctx);
      checkLock(serverOf(ctx), callerOf(ctx));
      const d = await c.db.deleteFrom('instance_tag').where('instance_uuid', '=', ctx.params.id).where('tag', '=', ctx.params.tag).executeTakeFirst();
      if (Number(d.numDeletedRows) === 0) throw notFound(`Tag ${ctx.params.tag} could not be found.`);
    }),
    // ips
    r('GET', '/ips', 'ips:index', async (ctx) => ({ addresses: strip(await addresses(serverOf(ctx))) })),
    r('GET', '/ips/:network', 'ips:show', async (ctx) => {
      const a = strip(await addresses(serverOf(ctx)));
      if (!(ctx.params.network in a)) throw notFound('Instance is not a member of specified network');
      return { [ctx.params.network]: a[ctx.params.network] };
    }),
    // instance actions
    r('GET', '/os-instance-actions', 'os-instance-actions:list', async (ctx) => {
      const rows = await c.db.selectFrom('instance_action').selectAll().where('instance_uuid', '=', ctx.params.id).orderBy('start_time', 'desc').execute();
      return { instanceActions: rows.map((a) => actionView(ctx, a)) };
    }),
    r('GET', '/os-instance-actions/:req', 'os-instance-actions:show', async (ctx) => {
      const a = await c.db.selectFrom('instance_action').selectAll().where('instance_uuid', '=', ctx.params.id).where('request_id', '=', ctx.params.req).executeTakeFirst();
      if (!a) throw notFound(`Action for request_id ${ctx.params.req} on instance ${ctx.params.id} not found`);
      const view: Record<string, unknown> = actionView(ctx, a);
      const isAdmin = callerOf(ctx).isAdmin;
      if (isAdmin || at(ctx, '2.51')) {
        const events = await c.db.selectFrom('instance_action_event').selectAll().where('action_id', '=', a.id).orderBy('start_time').execute();
        view.events = events.map((e) => ({
          event: e.event, start_time: novaMicroTime(e.start_time), finish_time: novaMicroTime(e.finish_time), result: e.result,
          ...(isAdmin ? { traceback: e.traceback } : {}),
          ...(at(ctx, '2.62') ? { ...(isAdmin ? { host: e.host } : {}), hostId: e.host ? 'x' : '' } : {}),
          ...(at(ctx, '2.84') && isAdmin ? { details: e.details } : {}),
        }));
      }
      return { instanceAction: view };
    }),
    r('GET', '/diagnostics', 'os-server-diagnostics', async (ctx) => {
      // What the database knows of the guest (flavor, interfaces, disks, state); the 2.48
      // form. Per-device counters are not collected yet, so their lists are empty.
      const row = serverOf(ctx);
      if (row.vm_state === 'building' || !row.host) throw conflict(`Instance ${row.uuid} is not ready yet`);
      const f = fromJson<{ vcpus: number; memory_mb: number }>(row.flavor, { vcpus: 0, memory_mb: 0 });
      const nics = fromJson<{ mac: string }[]>(row.network_info, []);
      const states: Record<number, string> = { 0: 'pending', 1: 'running', 3: 'paused', 4: 'shutdown', 6: 'crashed', 7: 'suspended' };
      const up = row.power_state === 1 && row.launched_at ? Math.max(0, Math.floor((Date.now() - Date.parse(row.launched_at)) / 1000)) : null;
      const driver = (await c.db.selectFrom('compute_node').select('hypervisor_type').where('hypervisor_hostname', '=', row.node ?? '').executeTakeFirst())?.hypervisor_type ?? 'unknown';
      return {
        state: states[row.power_state] ?? 'pending', // Nova's schema knows driver names, not ours: like Nova's own fake driver, answer 'libvirt'
        driver: 'libvirt', hypervisor: driver.toLowerCase(), hypervisor_os: 'linux', uptime: up,
        num_cpus: f.vcpus, num_disks: row.config_drive ? 2 : 1, num_nics: nics.length, memory_details: { maximum: f.memory_mb, used: 0 },
        cpu_details: [], nic_details: nics.map((n) => ({ mac_address: n.mac, rx_octets: null, rx_errors: null, rx_drop: null, rx_packets: null, rx_rate: null, tx_octets: null, tx_errors: null, tx_drop: null, tx_packets: null, tx_rate: null })),
        disk_details: [], config_drive: !!row.config_drive,
      };
    }),
  ];
}

const strip = (a: ReturnType<typeof addressesOf>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.map((x) => ({ version: x.version, addr: x.addr }))]));

function actionView(ctx: RequestCtx, a: { action: string; instance_uuid: string; request_id: string; user_id: string; project_id: string; start_time: string; message: string | null; updated_at: string }) {
  return {
    action: a.action, instance_uuid: a.instance_uuid, request_id: a.request_id, user_id: a.user_id, project_id: a.project_id,
    start_time: novaMicroTime(a.start_time), message: a.message, ...(at(ctx, '2.58') ? { updated_at: novaMicroTime(a.updated_at) } : {}),
  };
}
