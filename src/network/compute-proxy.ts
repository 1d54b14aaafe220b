/**
 * The parts of Nova's network API towards Neutron that only read or re-label ports: a server's
 * interfaces (os-interface), the floating IPs of its ports (server `addresses`), the networks a
 * project sees (os-networks proxies) and add/removeSecurityGroup (Nova's
 * security_group_api.add_to_instance / remove_from_instance: every port of the server).
 */
import { HttpError, badRequest, conflict, notFound } from '../core/errors.js';
import type { NetworkApi } from '../compute/client.js';
import type { SecurityGroupRow } from './db/schema.js';
import type { Caller, NetworkContext } from './service/context.js';
import { listNetworks } from './service/networks.js';
import { portGroups, portIps, updatePort } from './service/ports.js';
import { ensureDefaultSecurityGroup } from './service/security-groups.js';

const ADMIN: Caller = { projectId: '', userId: '', isAdmin: true };
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Proxy = Required<Pick<NetworkApi, 'interfaces' | 'floatingIps' | 'networks' | 'addSecurityGroup' | 'removeSecurityGroup'>>;

export function computeProxy(c: NetworkContext): Proxy {
  const db = c.db;
  const instancePorts = (uuid: string) =>
    db.selectFrom('port').selectAll().where('device_id', '=', uuid).where('device_owner', 'like', 'compute:%').orderBy('created_at').orderBy('id').execute();

  /** Nova's find_resourceid_by_name_or_id in the project: 404 when none, 409 when the name is ambiguous. */
  const groupOf = async (projectId: string, nameOrId: string): Promise<SecurityGroupRow> => {
    if (nameOrId === 'default') await ensureDefaultSecurityGroup(c, db, projectId);
    const rows = await db.selectFrom('security_group').selectAll().where('project_id', '=', projectId)
      .where((e) => (UUID_RE.test(nameOrId) ? e.or([e('id', '=', nameOrId), e('name', '=', nameOrId)]) : e('name', '=', nameOrId))).execute();
    const byId = rows.find((r) => r.id === nameOrId);
    if (byId) return byId;
    if (rows.length === 0) throw notFound(`Security group ${nameOrId} not found for project ${projectId}.`);
    if (rows.length > 1) throw conflict(`Multiple security group matches found for name '${nameOrId}', use an ID to be more specific.`);
    return rows[0];
  };

  const setGroups = async (portId: string, groups: string[]) => {
    try {
      await updatePort(c, ADMIN, portId, { securityGroups: groups });
    } catch (e) {
      if (e instanceof HttpError && e.status < 500) throw badRequest(e.message);
      throw e;
    }
  };

  return {
    async interfaces(uuid) {
      const ports = await instancePorts(uuid);
      const ips = await portIps(db, ports.map((p) => p.id));
      return ports.map((p) => ({ port_state: p.status, fixed_ips: ips.get(p.id) ?? [], port_id: p.id, net_id: p.network_id, mac_addr: p.mac_address }));
    },

    async floatingIps(portIds) {
      const out = new Map<string, { address: string; version: 4 | 6 }[]>();
      for (let i = 0; i < portIds.length; i += 500) {
        const rows = await db.selectFrom('floating_ip').select(['port_id', 'floating_ip_address']).where('port_id', 'in', portIds.slice(i, i + 500))
          .orderBy('floating_ip_address').execute();
        for (const r of rows) {
          if (!r.port_id) continue;
          out.set(r.port_id, [...(out.get(r.port_id) ?? []), { address: r.floating_ip_address, version: r.floating_ip_address.includes(':') ? 6 : 4 }]);
        }
      }
      return out;
    },

    async networks(caller) {
      const rows = await listNetworks(c, { projectId: caller.projectId, userId: '', isAdmin: caller.isAdmin });
      const subnets = rows.length ? await db.selectFrom('subnet').select(['network_id', 'cidr']).where('network_id', 'in', rows.map((n) => n.id))
        .orderBy('ip_version').orderBy('created_at').execute() : [];
      const cidr = new Map<string, string>();
      for (const s of subnets) if (!cidr.has(s.network_id)) cidr.set(s.network_id, s.cidr);
      return rows.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1))
        .map((n) => ({ id: n.id, name: n.name, cidr: cidr.get(n.id) ?? null, project_id: n.project_id, mtu: n.mtu }));
    },

    async addSecurityGroup(projectId, uuid, nameOrId) {
      const g = await groupOf(projectId, nameOrId);
      const ports = await instancePorts(uuid);
      if (ports.length === 0) throw notFound(`instance_id ${uuid} could not be found as device id on any ports`);
      const ips = await portIps(db, ports.map((p) => p.id));
      for (const p of ports) {
        // Nova's _has_security_group_requirements
        if (!p.port_security_enabled || !(ips.get(p.id) ?? []).length) {
          throw badRequest('Network requires port_security_enabled and subnet associated in order to apply security groups.');
        }
      }
      for (const p of ports) {
        const groups = portGroups(p);
        if (!groups.includes(g.id)) await setGroups(p.id, [...groups, g.id]);
      }
    },

    async removeSecurityGroup(projectId, uuid, nameOrId) {
      const g = await groupOf(projectId, nameOrId);
      let found = false;
      for (const p of await instancePorts(uuid)) {
        const groups = portGroups(p);
        if (!groups.includes(g.id)) continue;
        await setGroups(p.id, groups.filter((x) => x !== g.id));
        found = true;
      }
      if (!found) throw badRequest(`Security group ${nameOrId} not associated with the instance ${uuid}`);
    },
  };
}
