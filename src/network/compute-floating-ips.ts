/**
 * Nova's floating IP proxies over the network service (os-floating-ips, os-floating-ip-pools,
 * and the addFloatingIp / removeFloatingIp server actions): Neutron floating IPs in Nova's
 * format, with Nova's error mapping (a pool that is no external network: 404; an association
 * Neutron refuses: 400; removing one from a server it is not on: 409).
 */
import { HttpError, badRequest, conflict, notFound } from '../core/errors.js';
import type { FloatingIpProxy, FloatingIpView, SecurityGroupCaller } from '../compute/client.js';
import type { FloatingIpRow } from './db/schema.js';
import type { Caller, NetworkContext } from './service/context.js';
import { NeutronError } from './service/errors.js';
import { createFloatingIp, deleteFloatingIp, getFloatingIp, listFloatingIps, updateFloatingIp } from './service/floating-ips.js';

const callerOf = (c: SecurityGroupCaller): Caller => ({ projectId: c.projectId, userId: '', isAdmin: c.isAdmin });
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function computeFloatingIps(c: NetworkContext): FloatingIpProxy {
  const db = c.db;

  /** Nova's _translate_floating_ip_view: pool is the external network's name, instance the port's device. */
  const views = async (rows: FloatingIpRow[]): Promise<FloatingIpView[]> => {
    if (rows.length === 0) return [];
    const nets = new Map((await db.selectFrom('network').select(['id', 'name']).where('id', 'in', [...new Set(rows.map((r) => r.floating_network_id))]).execute()).map((n) => [n.id, n.name]));
    const portIds = rows.map((r) => r.port_id).filter((x): x is string => !!x);
    const devices = new Map(portIds.length ? (await db.selectFrom('port').select(['id', 'device_id']).where('id', 'in', portIds).execute()).map((p) => [p.id, p.device_id]) : []);
    return rows.map((r) => ({
      id: r.id, ip: r.floating_ip_address, pool: nets.get(r.floating_network_id) || r.floating_network_id,
      fixed_ip: r.fixed_ip_address, instance_id: (r.port_id && devices.get(r.port_id)) || null,
    }));
  };

  const byAddress = async (projectId: string, address: string): Promise<FloatingIpRow> => {
    const f = await db.selectFrom('floating_ip').selectAll().where('floating_ip_address', '=', address).where('project_id', '=', projectId).executeTakeFirst();
    if (!f) throw notFound(`Floating IP not found for address ${address}.`);
    return f;
  };

  const mapped = async <T>(work: () => Promise<T>, onConflict: (m: string) => Error = badRequest): Promise<T> => {
    try {
      return await work();
    } catch (e) {
      if (e instanceof NeutronError && e.type === 'OverQuota') throw new HttpError(403, 'Maximum number of floating IPs exceeded');
      if (e instanceof HttpError && e.status === 409) throw onConflict(e.message);
      if (e instanceof HttpError && e.status === 404) throw notFound(e.message);
      throw e;
    }
  };

  return {
    async list(caller) {
      const rows = await listFloatingIps(c, callerOf(caller));
      return views(caller.isAdmin ? rows.filter((r) => r.project_id === caller.projectId) : rows);
    },

    async get(caller, id) {
      if (!UUID_RE.test(id)) throw notFound(`Floating IP not found for ID ${id}`);
      const f = await mapped(() => getFloatingIp(c, callerOf(caller), id));
      if (f.project_id !== caller.projectId && !caller.isAdmin) throw notFound(`Floating IP not found for ID ${id}`);
      return (await views([f]))[0];
    },

    async allocate(caller, pool) {
      const ext = await db.selectFrom('network').select(['id', 'name', 'is_default']).where('external', '=', 1).execute();
      const net = pool === undefined ? (ext.find((n) => n.is_default) ?? ext[0]) : ext.find((n) => n.id === pool || n.name === pool);
      if (!net) throw notFound(`Floating IP pool not found.`);
      const f = await mapped(() => createFloatingIp(c, { ...callerOf(caller), isAdmin: true }, { projectId: caller.projectId, floatingNetworkId: net.id, description: '' }),
        (m) => notFound(`No more floating IPs in pool ${net.name}. ${m}`));
      return (await views([f]))[0];
    },

    async release(caller, id) {
      if (!UUID_RE.test(id)) throw notFound(`Floating IP not found for ID ${id}`);
      await mapped(() => deleteFloatingIp(c, callerOf(caller), id));
    },

    async pools() {
      const rows = await db.selectFrom('network').select('name').where('external', '=', 1).orderBy('created_at').execute();
      return rows.map((r) => r.name);
    },

    async associate(projectId, instanceUuid, address, fixedAddress) {
      const f = await byAddress(projectId, address);
      const ports = await db.selectFrom('port').innerJoin('ip_allocation', 'ip_allocation.port_id', 'port.id')
        .select(['port.id', 'ip_allocation.ip_address']).where('port.device_id', '=', instanceUuid).where('ip_allocation.ip_address', '=', fixedAddress).execute();
      if (ports.length === 0) throw badRequest(`Fixed IP ${fixedAddress} is not on a port of instance ${instanceUuid}`);
      // Neutron moves an associated floating IP to the new port (Nova allows re-association)
      await mapped(() => updateFloatingIp(c, { projectId, userId: '', isAdmin: true }, f.id, { portId: ports[0].id, fixedIpAddress: fixedAddress }));
    },

    async disassociate(projectId, instanceUuid, address) {
      const f = await byAddress(projectId, address);
      const owner = f.port_id ? await db.selectFrom('port').select('device_id').where('id', '=', f.port_id).executeTakeFirst() : undefined;
      if (!owner || owner.device_id !== instanceUuid) throw conflict(`Floating IP ${address} is not associated with instance ${instanceUuid}.`);
      await mapped(() => updateFloatingIp(c, { projectId, userId: '', isAdmin: true }, f.id, { portId: null }));
    },
  };
}
