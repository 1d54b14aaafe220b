/**
 * What compute uses of the network service (Nova's network API towards Neutron): check a
 * server's requested networks, create and bind its ports on its host, wait until the host's
 * dataplane has plugged them, and free them. In-process; the scale-out form calls the same
 * functions over REST later.
 */
import type { Kysely } from 'kysely';
import { fromJson, toJson } from '../core/db/database.js';
import { badRequest, conflict, HttpError } from '../core/errors.js';
import type { NetworkApi, NetworkInfoItem, RequestedNetwork, InstanceRef } from '../compute/network/network-api.js';
import type { Vif } from '../compute/drivers/driver.js';
import type { NetworkDB, NetworkRow, PortRow } from './db/schema.js';
import type { NetworkAgent } from './agent/network-agent.js';
import { tapName } from './drivers/driver.js';
import type { Caller, NetworkContext } from './service/context.js';
import { canSeeNetwork } from './service/networks.js';
import { createPortInternal, deletePortInternal, bindingOf } from './service/ports.js';
import { ensureDefaultSecurityGroup } from './service/security-groups.js';
import { parseCidr, parseIp, cidrContains } from './service/ip-math.js';

/** binding:profile mark of the ports compute made itself (deleted with the server; ports the user gave are only unbound). */
const CREATED = 'nubo_created_by_compute';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function networkApiFor(c: NetworkContext, agentFor: (host: string) => NetworkAgent | undefined): NetworkApi {
  const db = c.db;
  const member = (projectId: string): Caller => ({ projectId, userId: '', isAdmin: false });

  /** Nova's "auto": the one network the project may use (its own or shared, not external). */
  const autoNetwork = async (projectId: string): Promise<NetworkRow | undefined> => {
    const rows = await db.selectFrom('network').selectAll().where('external', '=', 0).execute();
    const usable: NetworkRow[] = [];
    for (const n of rows) if (n.project_id === projectId || (await canSeeNetwork(db, member(projectId), n))) usable.push(n);
    const own = usable.filter((n) => n.project_id === projectId);
    const pick = own.length ? own : usable;
    if (pick.length > 1) throw conflict('Multiple possible networks found, use a Network ID to be more specific.');
    return pick[0];
  };

  const check = async (projectId: string, requested: 'auto' | 'none' | RequestedNetwork[]) => {
    if (requested === 'auto') {
      if (!(await autoNetwork(projectId))) throw badRequest('Unable to automatically allocate a network for project ' + projectId);
      return;
    }
    if (requested === 'none') return;
    for (const r of requested) {
      if (r.port) {
        const p = await db.selectFrom('port').selectAll().where('id', '=', r.port).executeTakeFirst();
        if (!p || (p.project_id !== projectId)) throw new HttpError(400, `Port ${r.port} could not be found.`);
        if (p.device_id) throw conflict(`Port ${r.port} is still in use.`);
        continue;
      }
      if (!r.uuid) continue;
      if (!UUID_RE.test(r.uuid)) throw badRequest(`Bad networks format: network uuid is not in proper format (${r.uuid})`);
      const n = await db.selectFrom('network').selectAll().where('id', '=', r.uuid).executeTakeFirst();
      if (!n || !(await canSeeNetwork(db, member(projectId), n))) throw badRequest(`Network ${r.uuid} could not be found.`);
      if (r.fixed_ip) {
        const ip = parseIp(r.fixed_ip);
        const subnets = await db.selectFrom('subnet').select('cidr').where('network_id', '=', n.id).execute();
        if (!ip || !subnets.some((s) => { const cidr = parseCidr(s.cidr); return !!cidr && cidrContains(cidr, ip); })) {
          throw badRequest(`Fixed IP address ${r.fixed_ip} is not in the network's subnets.`);
        }
      }
    }
  };

  const groupIds = async (trx: Kysely<NetworkDB>, projectId: string, names: string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const name of names.length ? names : ['default']) {
      if (name === 'default') { out.push(await ensureDefaultSecurityGroup(c, trx, projectId)); continue; }
      const g = await trx.selectFrom('security_group').select('id').where('project_id', '=', projectId)
        .where((eb) => eb.or([eb('id', '=', name), eb('name', '=', name)])).executeTakeFirst();
      if (!g) throw badRequest(`Security group ${name} not found for project ${projectId}.`);
      out.push(g.id);
    }
    return [...new Set(out)];
  };

  /** Interface info and vif of a port, as compute keeps and the driver needs them. */
  const describe = async (p: PortRow, netns: string | null): Promise<{ info: NetworkInfoItem; vif: Vif }> => {
    const net = await db.selectFrom('network').select(['name', 'mtu']).where('id', '=', p.network_id).executeTakeFirstOrThrow();
    const allocs = await db.selectFrom('ip_allocation').innerJoin('subnet', 'subnet.id', 'ip_allocation.subnet_id')
      .select(['ip_allocation.ip_address', 'subnet.cidr', 'subnet.gateway_ip', 'subnet.ip_version'])
      .where('ip_allocation.port_id', '=', p.id).execute();
    const ips = allocs.map((a) => ({ address: a.ip_address, version: a.ip_version as 4 | 6, cidr: a.cidr, gateway: a.gateway_ip ?? undefined }));
    const plug = { kind: 'tap' as const, tapName: tapName(p.id), ...(netns ? { netns } : {}), mtu: net.mtu };
    return {
      info: { port_id: p.id, network_id: p.network_id, network_name: net.name, mac: p.mac_address, ips: ips.map((i) => ({ ...i, type: 'fixed' as const })), vif: plug },
      vif: { portId: p.id, mac: p.mac_address, ips, ...plug },
    };
  };

  return {
    validate: check,

    async allocate(instance: InstanceRef, requested, securityGroups) {
      await check(instance.projectId, requested);
      if (requested === 'none') return { info: [], vifs: [] };
      const wanted: RequestedNetwork[] = requested === 'auto' ? [{ uuid: (await autoNetwork(instance.projectId))!.id }] : requested;
      const b = bindingOf(instance.host);
      const ports = await db.transaction().execute(async (trx) => {
        const out: PortRow[] = [];
        for (const r of wanted) {
          if (r.port) {
            await trx.updateTable('port').set({
              device_id: instance.uuid, device_owner: 'compute:nova', binding_host_id: instance.host,
              binding_vif_type: b.vif_type, binding_vif_details: toJson(b.vif_details),
            }).where('id', '=', r.port).execute();
            out.push(await trx.selectFrom('port').selectAll().where('id', '=', r.port).executeTakeFirstOrThrow());
            continue;
          }
          const net = await trx.selectFrom('network').select('port_security_enabled').where('id', '=', r.uuid!).executeTakeFirstOrThrow();
          const created = await createPortInternal(c, trx, {
            projectId: instance.projectId, networkId: r.uuid!, deviceId: instance.uuid, deviceOwner: 'compute:nova',
            bindingHostId: instance.host, bindingProfile: { [CREATED]: true }, dnsName: instance.hostname,
            fixedIps: r.fixed_ip ? [{ ipAddress: r.fixed_ip }] : undefined,
            securityGroups: net.port_security_enabled ? await groupIds(trx, instance.projectId, securityGroups) : undefined,
            quota: true,
          });
          out.push(created.port);
        }
        return out;
      });
      c.notifyChanged('instance-ports-bound');
      // the tap must exist before the hypervisor opens it
      const agent = agentFor(instance.host);
      if (agent) await agent.syncNow();
      const described = await Promise.all(ports.map((p) => describe(p, agent?.driver.tapNamespace ?? null)));
      return { info: described.map((d) => d.info), vifs: described.map((d) => d.vif) };
    },

    async deallocate(instanceUuid) {
      await db.transaction().execute(async (trx) => {
        const ports = await trx.selectFrom('port').selectAll().where('device_id', '=', instanceUuid).where('device_owner', 'like', 'compute:%').execute();
        for (const p of ports) {
          if (fromJson<Record<string, unknown>>(p.binding_profile, {})[CREATED]) await deletePortInternal(c, trx, p.id);
          else {
            await trx.updateTable('port').set({
              device_id: '', device_owner: '', binding_host_id: '', binding_vif_type: 'unbound', binding_vif_details: '{}', status: 'DOWN',
            }).where('id', '=', p.id).execute();
          }
        }
      });
      c.notifyChanged('instance-ports-freed');
    },

    async securityGroupExists(projectId, nameOrId) {
      if (nameOrId === 'default') return true;
      const g = await db.selectFrom('security_group').select('id').where('project_id', '=', projectId)
        .where((eb) => eb.or([eb('id', '=', nameOrId), eb('name', '=', nameOrId)])).executeTakeFirst();
      return !!g;
    },
  };
}
