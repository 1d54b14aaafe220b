/**
 * Cinder's admin views of this one back end: os-services (cinder-scheduler and cinder-volume on
 * this host), os-hosts, scheduler-stats/get_pools, capabilities, and the default quota class.
 */
import { badRequest, notFound } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { VolumeContext } from '../../service/context.js';
import { DEFAULT_QUOTAS, quotaLimits } from '../../service/quotas.js';
import { cinderTime, isObj, member, q1 } from '../common.js';

export const adminPolicy: Record<string, string> = { 'volume_extension:admin': 'rule:admin_api' };

const VENDOR = 'Open Source';

export function adminRoutes(c: VolumeContext, started = nowIso()): Route[] {
  const b = '/v3/:project_id';
  const own = (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' });
  const rule = 'volume_extension:admin';
  const [hostName, rest] = c.host.split('@');
  const backend = rest.split('#')[0];
  const volumeHost = `${hostName}@${backend}`;
  const services = () => [
    { binary: 'cinder-scheduler', host: hostName },
    { binary: 'cinder-volume', host: volumeHost },
  ].map((s) => ({ ...s, zone: c.availabilityZone, status: 'enabled', state: 'up', updated_at: cinderTime(nowIso()), disabled_reason: null }));
  const capabilities = async () => {
    const cap = await c.driver.capacity();
    return {
      volume_backend_name: backend, vendor_name: VENDOR, driver_version: '1.0.0', storage_protocol: c.driver.name === 'file' ? 'file' : 'fake',
      total_capacity_gb: cap.totalGb, free_capacity_gb: cap.freeGb, reserved_percentage: 0, thin_provisioning_support: true, multiattach: false,
    };
  };
  const serviceAction = (action: string) => async (ctx: RequestCtx) => {
    const body = isObj(ctx.body) ? ctx.body : {};
    if (action === 'freeze' || action === 'thaw') {
      if (body.host !== volumeHost && body.host !== hostName) throw badRequest(`Invalid input received: Invalid host ${String(body.host)}.`);
      return {};
    }
    const s = services().find((x) => (x.host === body.host || x.host.split('@')[0] === body.host) && x.binary === body.binary);
    if (!s) throw notFound(`Service ${String(body.binary)} on host ${String(body.host)} could not be found.`);
    if (action === 'disable-log-reason' && (typeof body.disabled_reason !== 'string' || !body.disabled_reason.trim())) throw badRequest('Invalid input received: Disabled reason contains invalid characters or is too long.');
    // one back end in this process: it stays enabled (nothing to schedule around it)
    throw badRequest(`Invalid input received: the ${s.binary} service of this cloud cannot be ${action === 'enable' ? 'enabled' : 'disabled'}.`);
  };
  return [
    { method: 'GET', url: `${b}/os-services`, policy: rule, target: own, handler: (ctx) => {
      const host = q1(ctx, 'host');
      const binary = q1(ctx, 'binary');
      return { services: services().filter((s) => (!host || s.host === host || s.host.split('@')[0] === host) && (!binary || s.binary === binary)) };
    } },
    ...['enable', 'disable', 'disable-log-reason', 'freeze', 'thaw'].map((a): Route => ({ method: 'PUT', url: `${b}/os-services/${a}`, policy: rule, target: own, handler: serviceAction(a) })),
    { method: 'GET', url: `${b}/os-hosts`, policy: rule, target: own, handler: () => ({
      hosts: services().map((s) => ({ 'service-status': 'available', service: s.binary, zone: s.zone, 'service-state': 'enabled', host_name: s.host, 'last-update': s.updated_at })),
    }) },
    { method: 'GET', url: `${b}/os-hosts/:host`, policy: rule, target: own, handler: async (ctx) => {
      if (ctx.params.host !== volumeHost) throw notFound(`Host ${ctx.params.host} could not be found.`);
      const vols = await c.db.selectFrom('volume').select(['project_id', 'size']).execute();
      const snaps = await c.db.selectFrom('snapshot').select(['project_id', 'size']).execute();
      const sum = (xs: { size: number }[]) => xs.reduce((a, x) => a + x.size, 0);
      return { host: [{ resource: { host: volumeHost, project: '(total)', volume_count: String(vols.length), total_volume_gb: String(sum(vols)), snapshot_count: String(snaps.length), total_snapshot_gb: String(sum(snaps)) } }] };
    } },
    { method: 'GET', url: `${b}/scheduler-stats/get_pools`, policy: rule, target: own, handler: async (ctx) => {
      const detail = q1(ctx, 'detail');
      const pool = { name: c.host, ...(detail && /^(true|1|yes)$/i.test(detail) ? { capabilities: { ...(await capabilities()), pool_name: c.host.split('#')[1], timestamp: cinderTime(started) } } : {}) };
      return { pools: [pool] };
    } },
    { method: 'GET', url: `${b}/capabilities/:host`, policy: rule, target: own, handler: async (ctx) => {
      if (ctx.params.host !== volumeHost && ctx.params.host !== c.host) throw notFound(`Host ${ctx.params.host} could not be found.`);
      const cap = await capabilities();
      return {
        namespace: `OS::Storage::Capabilities::${volumeHost}`, vendor_name: cap.vendor_name, volume_backend_name: cap.volume_backend_name, pool_name: null,
        driver_version: cap.driver_version, storage_protocol: cap.storage_protocol, display_name: null, description: null, visibility: null, replication_targets: [],
        properties: { thin_provisioning: { title: 'Thin Provisioning', description: 'Sets thin provisioning.', type: 'boolean' } },
      };
    } },
    { method: 'GET', url: `${b}/os-quota-class-sets/:cls`, policy: rule, target: own, handler: async (ctx) => {
      if (ctx.params.cls !== 'default') return { quota_class_set: { id: ctx.params.cls, ...DEFAULT_QUOTAS } };
      return { quota_class_set: { id: 'default', ...(await quotaLimits(c.db, '__default__')) } };
    } },
    { method: 'PUT', url: `${b}/os-quota-class-sets/:cls`, policy: rule, target: own, handler: async (ctx) => {
      const q = member(ctx.body, 'quota_class_set');
      if (ctx.params.cls !== 'default') throw badRequest('Invalid input received: only the default quota class is kept.');
      for (const [k, v] of Object.entries(q)) {
        const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
        if (!(k in DEFAULT_QUOTAS) && !/^(volumes|gigabytes|snapshots)_.+$/.test(k)) throw badRequest(`Bad key(s) in quota set: ${k}`);
        if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) throw badRequest(`Invalid input received: Quota limit ${String(v)} for ${k} must be an integer >= -1.`);
        await c.db.deleteFrom('quota').where('project_id', '=', '__default__').where('resource', '=', k).execute();
        await c.db.insertInto('quota').values({ project_id: '__default__', resource: k, hard_limit: n }).execute();
      }
      return { quota_class_set: await quotaLimits(c.db, '__default__') };
    } },
  ];
}
