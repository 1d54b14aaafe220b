/**
 * What compute uses of the network service (Nova's network API towards Neutron): check a
 * server's requested networks, create and bind its ports on its host, wait until the host's
 * dataplane has plugged them, and free them. In-process; the scale-out form calls the same
 * functions over REST later.
 */
import type { Kysely } from 'kysely';
import { fromJson, toJson } from '../core/db/database.js';
import { badRequest, conflict, HttpError, notFound } from '../core/errors.js';
import type { NetworkApi, NetworkInfoItem, NetworkRequest, RequestedNetwork, InstanceRef, AttachRequest, Vif } from '../compute/client.js';
import type { NetworkDB, NetworkRow, PortRow } from './db/schema.js';
import type { NetworkAgent } from './agent/network-agent.js';
import { tapName } from './drivers/driver.js';
import type { Caller, NetworkContext } from './service/context.js';
import { canSeeNetwork } from './service/networks.js';
import { createPortInternal, deletePortInternal, bindingOf, updatePort } from './service/ports.js';
import { ensureDefaultSecurityGroup } from './service/security-groups.js';
import { parseCidr, parseIp, cidrContains } from './service/ip-math.js';
import { computeSecurityGroups } from './compute-security-groups.js';
import { computeProxy } from './compute-proxy.js';
import { computeFloatingIps } from './compute-floating-ips.js';
import { NeutronError } from './service/errors.js';
import { autoAllocate, checkAutoAllocation } from './service/auto-allocate.js';

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

  const check = async (projectId: string, requested: NetworkRequest) => {
    if (requested === 'default') {
      // Nova before 2.37: with no network the project may use, the server boots without one (only several are an error)
      await autoNetwork(projectId);
      return;
    }
    if (requested === 'auto') {
      // 2.37 'auto': without a usable network, one is made (Neutron's auto-allocated topology), if it can be
      if (await autoNetwork(projectId)) return;
      try {
        await checkAutoAllocation(c);
      } catch {
        throw badRequest(`Unable to automatically allocate a network for project ${projectId}`);
      }
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

  /** A project's security group by id or name (Nova names them either way). */
  const findGroup = (d: Kysely<NetworkDB>, projectId: string, nameOrId: string) =>
    d.selectFrom('security_group').select('id').where('project_id', '=', projectId)
      .where((eb) => eb.or([eb('id', '=', nameOrId), eb('name', '=', nameOrId)])).executeTakeFirst();

  const groupIds = async (trx: Kysely<NetworkDB>, projectId: string, names: string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const name of names.length ? names : ['default']) {
      if (name === 'default') { out.push(await ensureDefaultSecurityGroup(c, trx, projectId)); continue; }
      const g = await findGroup(trx, projectId, name);
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

  /** A port compute made is deleted; one the user gave is only unbound. */
  const free = async (trx: Kysely<NetworkDB>, p: PortRow) => {
    if (fromJson<Record<string, unknown>>(p.binding_profile, {})[CREATED]) await deletePortInternal(c, trx, p.id);
    else {
      await trx.updateTable('port').set({
        device_id: '', device_owner: '', binding_host_id: '', binding_vif_type: 'unbound', binding_vif_details: '{}', status: 'DOWN',
      }).where('id', '=', p.id).execute();
    }
  };

  /** Nova's allocate_port_for_instance, with the errors its os-interface API maps (404 / 409 / 400). */
  const attachPort = async (trx: Kysely<NetworkDB>, instance: InstanceRef, req: AttachRequest & { securityGroups?: string[] }): Promise<PortRow> => {
    const b = bindingOf(instance.host);
    if (req.portId) {
      const p = await trx.selectFrom('port').selectAll().where('id', '=', req.portId).executeTakeFirst();
      if (!p || !(p.project_id === instance.projectId)) throw notFound(`Port ${req.portId} could not be found.`);
      if (p.device_id) throw conflict(`Port ${req.portId} is still in use.`);
      await trx.updateTable('port').set({
        device_id: instance.uuid, device_owner: 'compute:nova', binding_host_id: instance.host, status: 'ACTIVE',
        binding_vif_type: b.vif_type, binding_vif_details: toJson(b.vif_details),
      }).where('id', '=', p.id).execute();
      return trx.selectFrom('port').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
    }
    let netId = req.netId;
    if (netId) {
      const n = await trx.selectFrom('network').selectAll().where('id', '=', netId).executeTakeFirst();
      if (!n || !(await canSeeNetwork(trx, member(instance.projectId), n))) throw notFound(`Network ${netId} could not be found.`);
    } else {
      let n: NetworkRow | undefined;
      try {
        n = await autoNetwork(instance.projectId);
      } catch (e) {
        if (e instanceof HttpError) throw badRequest(e.message);
        throw e;
      }
      if (!n) throw badRequest(`No network available to attach an interface to instance ${instance.uuid}.`);
      netId = n.id;
    }
    const net = await trx.selectFrom('network').select('port_security_enabled').where('id', '=', netId).executeTakeFirstOrThrow();
    try {
      const created = await createPortInternal(c, trx, {
        projectId: instance.projectId, networkId: netId, deviceId: instance.uuid, deviceOwner: 'compute:nova',
        bindingHostId: instance.host, bindingProfile: { [CREATED]: true }, dnsName: instance.hostname,
        fixedIps: req.fixedIp ? [{ ipAddress: req.fixedIp }] : undefined,
        securityGroups: net.port_security_enabled ? await groupIds(trx, instance.projectId, req.securityGroups ?? []) : undefined,
        quota: true,
      });
      return created.port;
    } catch (e) {
      if (e instanceof NeutronError && /IpAddress/.test(e.type)) throw conflict(`Fixed IP address ${req.fixedIp} is already in use on instance ${instance.uuid}.`);
      if (e instanceof NeutronError && e.type === 'OverQuota') throw new HttpError(403, 'Maximum number of ports exceeded');
      if (e instanceof HttpError && e.status === 400) throw badRequest(e.message);
      throw e;
    }
  };

  return {
    securityGroups: computeSecurityGroups(c),
    floatingIpProxy: computeFloatingIps(c),
    ...computeProxy(c),
    validate: check,

    async allocate(instance: InstanceRef, requested, securityGroups) {
      await check(instance.projectId, requested);
      if (requested === 'none') return { info: [], vifs: [] };
      let wanted: RequestedNetwork[];
      if (requested === 'auto' || requested === 'default') {
        const net = (await autoNetwork(instance.projectId))?.id ?? (requested === 'auto' ? await autoAllocate(c, instance.projectId) : undefined);
        if (!net) return { info: [], vifs: [] };
        wanted = [{ uuid: net }];
      } else wanted = requested;
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
        for (const p of ports) await free(trx, p);
      });
      c.notifyChanged('instance-ports-freed');
    },

    async attachInterface(instance, req) {
      const port = await db.transaction().execute((trx) => attachPort(trx, instance, req));
      c.notifyChanged('instance-port-attached');
      const agent = agentFor(instance.host);
      if (agent) await agent.syncNow();
      return describe(port, agent?.driver.tapNamespace ?? null);
    },

    async detachInterface(instanceUuid, portId) {
      await db.transaction().execute(async (trx) => {
        const p = await trx.selectFrom('port').selectAll().where('id', '=', portId).where('device_id', '=', instanceUuid).executeTakeFirst();
        if (!p) throw notFound(`Port ${portId} is not attached`);
        await free(trx, p);
      });
      c.notifyChanged('instance-port-detached');
    },

    // multinic (addFixedIp / removeFixedIp), as Nova's neutron API: the address goes on (or off) the server's port
    async addFixedIp(instanceUuid, networkId) {
      const p = await db.selectFrom('port').selectAll().where('device_id', '=', instanceUuid).where('device_owner', 'like', 'compute:%')
        .where('network_id', '=', networkId).orderBy('created_at').executeTakeFirst();
      if (!p) return null;
      const keep = (await db.selectFrom('ip_allocation').select(['subnet_id', 'ip_address']).where('port_id', '=', p.id).execute())
        .map((a) => ({ subnetId: a.subnet_id, ipAddress: a.ip_address }));
      for (const sub of await db.selectFrom('subnet').select('id').where('network_id', '=', networkId).orderBy('created_at').execute()) {
        try {
          await updatePort(c, { projectId: p.project_id, userId: '', isAdmin: true }, p.id, { fixedIps: [...keep, { subnetId: sub.id }] });
          return (await describe(p, agentFor(p.binding_host_id)?.driver.tapNamespace ?? null)).info;
        } catch (e) {
          if (!(e instanceof NeutronError)) throw e; // this subnet is full: Nova tries the next
        }
      }
      throw badRequest(`Zero fixed IPs available on network ${networkId}.`);
    },

    async removeFixedIp(instanceUuid, address) {
      const ports = await db.selectFrom('port').selectAll().where('device_id', '=', instanceUuid).where('device_owner', 'like', 'compute:%').orderBy('created_at').execute();
      for (const p of ports) {
        const ips = await db.selectFrom('ip_allocation').select(['subnet_id', 'ip_address']).where('port_id', '=', p.id).execute();
        if (!ips.some((a) => a.ip_address === address)) continue;
        if (ips.length === 1) return { portId: p.id, info: null };
        const rest = ips.filter((a) => a.ip_address !== address).map((a) => ({ subnetId: a.subnet_id, ipAddress: a.ip_address }));
        await updatePort(c, { projectId: p.project_id, userId: '', isAdmin: true }, p.id, { fixedIps: rest });
        return { portId: p.id, info: (await describe(p, agentFor(p.binding_host_id)?.driver.tapNamespace ?? null)).info };
      }
      return null;
    },

    async securityGroupExists(projectId, nameOrId) {
      if (nameOrId === 'default') return true;
      return !!(await findGroup(db, projectId, nameOrId));
    },
  };
}
