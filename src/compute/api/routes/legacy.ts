/**
 * The small legacy Nova v2.1 APIs: os-hosts (gone at 2.43), the extension list, the
 * nova-network-era proxies os-networks and os-tenant-networks (gone at 2.36) and
 * os-instance_usage_audit_log.
 */
import type { ProxiedNetwork } from '../../network/network-api.js';
import { badRequest, HttpError, notFound } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { SLIRP_NET } from '../../drivers/qemu/metadata-forward.js';
import { BUILTIN_NETWORK } from '../../network/builtin-network.js';
import { fromJson, type ComputeContext } from '../../service/context.js';
import { COMPUTE_BINARY, listHypervisors, listServices } from '../../service/hosts.js';
import { at, callerOf, isObj, q1 } from '../common.js';

const P = 'os_compute_api:';
export const legacyPolicy: Record<string, string> = {
  [`${P}os-hosts:list`]: 'rule:admin_api',
  [`${P}os-hosts:show`]: 'rule:admin_api',
  [`${P}os-hosts:update`]: 'rule:admin_api',
  [`${P}os-hosts:reboot`]: 'rule:admin_api',
  [`${P}os-hosts:shutdown`]: 'rule:admin_api',
  [`${P}os-hosts:start`]: 'rule:admin_api',
  [`${P}extensions`]: '@',
  [`${P}os-networks:list`]: 'rule:project_reader_or_admin',
  [`${P}os-networks:show`]: 'rule:project_reader_or_admin',
  [`${P}os-tenant-networks:list`]: 'rule:project_reader_or_admin',
  [`${P}os-tenant-networks:show`]: 'rule:project_reader_or_admin',
  [`${P}os-instance-usage-audit-log:list`]: 'rule:admin_api',
  [`${P}os-instance-usage-audit-log:show`]: 'rule:admin_api',
};

const gone = () => notFound('The resource could not be found.');
/** Nova's removed nova-network operations: 410 at every microversion. */
const removed = () => new HttpError(410, 'This resource is no longer available. No forwarding address is given.');
const notSupported = () => new HttpError(501, 'The requested functionality is not supported.');

/** Routes that exist only before a microversion: 404 from `until` on (before the policy check, as Nova routes). */
const before = (until: string, project = false) => (ctx: RequestCtx) => {
  if (at(ctx, until)) throw gone();
  return project ? { project_id: ctx.auth.projectId ?? '' } : {};
};

// ---- os-hosts

const API_BINARIES = new Set(['nova-osapi_compute', 'nova-metadata']);
const ENABLE = ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE'];
const show = (v: unknown) => (v === null ? 'None' : typeof v === 'string' ? v : JSON.stringify(v));

/** The update body as Nova's schema takes it: status and/or maintenance_mode, each enable/disable. */
function hostUpdateBody(body: unknown): { status?: boolean; maintenance?: boolean } {
  if (!isObj(body)) throw badRequest(`Invalid input for field/attribute host. Value: ${show(body)}. ${show(body)} is not of type 'object'`);
  const extra = Object.keys(body).filter((k) => k !== 'status' && k !== 'maintenance_mode');
  if (extra.length) throw badRequest(`Invalid input for field/attribute host. Value: ${JSON.stringify(body)}. Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
  const out: { status?: boolean; maintenance?: boolean } = {};
  for (const field of ['status', 'maintenance_mode'] as const) {
    if (!(field in body)) continue;
    const v = body[field];
    if (typeof v !== 'string') throw badRequest(`Invalid input for field/attribute ${field}. Value: ${show(v)}. ${show(v)} is not of type 'string'`);
    if (!ENABLE.includes(v)) throw badRequest(`Invalid input for field/attribute ${field}. Value: ${v}. '${v}' is not one of ['${ENABLE.join("', '")}']`);
    out[field === 'status' ? 'status' : 'maintenance'] = v.toLowerCase() === 'enable';
  }
  if (out.status === undefined && out.maintenance === undefined) {
    throw badRequest(`Invalid input for field/attribute host. Value: ${JSON.stringify(body)}. ${JSON.stringify(body)} is not valid under any of the given schemas`);
  }
  return out;
}

/**
 * The compute host's driver for the host operations (Nova's HostAPI: 404 for a host without a
 * compute service). The fake driver answers them as Nova's fake driver does; the qemu driver, as
 * libvirt, does not implement them (501).
 */
async function hostDriver(c: ComputeContext, host: string): Promise<'fake' | 'other'> {
  const svc = await c.db.selectFrom('service').select('id').where('host', '=', host).where('binary', '=', COMPUTE_BINARY).executeTakeFirst();
  if (!svc) throw notFound(`Host ${host} could not be found.`);
  const node = await c.db.selectFrom('compute_node').select('hypervisor_type').where('host', '=', host).orderBy('id').executeTakeFirst();
  return node?.hypervisor_type === 'fake' ? 'fake' : 'other';
}

async function listHosts(c: ComputeContext, ctx: RequestCtx) {
  const zone = q1(ctx, 'zone');
  const services = (await listServices(c)).filter((s) => !s.disabled && !API_BINARIES.has(s.binary) && (!zone || s.availabilityZone === zone));
  return { hosts: services.map((s) => ({ host_name: s.host, service: s.topic, zone: s.availabilityZone })) };
}

async function showHost(c: ComputeContext, host: string) {
  const hv = (await listHypervisors(c)).filter((h) => h.node.host === host);
  if (!hv.length) {
    const svc = await c.db.selectFrom('service').select('id').where('host', '=', host).where('binary', '=', COMPUTE_BINARY).executeTakeFirst();
    throw notFound(svc ? `Compute host ${host} could not be found.` : `Host '${host}' is not mapped to any cell`);
  }
  const first = hv[0]; // Nova's get_first_node_by_host_for_old_compat: the lowest id
  const instances = await c.db.selectFrom('instance').select(['project_id', 'flavor', 'created_at', 'uuid'])
    .where('host', '=', host).where('deleted', '=', 0).orderBy('created_at').orderBy('uuid').execute();
  const res = (project: string, cpu: number, memory_mb: number, disk_gb: number) => ({ resource: { host, project, cpu, memory_mb, disk_gb } });
  const max = { cpu: 0, mem: 0, disk: 0 };
  const byProject = new Map<string, typeof max>();
  for (const i of instances) {
    const f = fromJson<{ vcpus?: number; memory_mb?: number; root_gb?: number; ephemeral_gb?: number }>(i.flavor, {});
    const p = byProject.get(i.project_id) ?? { cpu: 0, mem: 0, disk: 0 };
    byProject.set(i.project_id, p);
    for (const acc of [max, p]) {
      acc.cpu += f.vcpus ?? 0;
      acc.mem += f.memory_mb ?? 0;
      acc.disk += (f.root_gb ?? 0) + (f.ephemeral_gb ?? 0);
    }
  }
  return {
    host: [
      res('(total)', first.node.vcpus, first.node.memory_mb, first.node.local_gb),
      res('(used_now)', first.vcpusUsed, first.memoryMbUsed, first.localGbUsed),
      res('(used_max)', max.cpu, max.mem, max.disk),
      ...[...byProject].map(([project, u]) => res(project, u.cpu, u.mem, u.disk)),
    ],
  };
}

async function updateHost(c: ComputeContext, host: string, body: unknown) {
  const want = hostUpdateBody(body);
  const result: Record<string, string> = { host };
  if (want.status !== undefined) {
    if ((await hostDriver(c, host)) !== 'fake') throw notSupported();
    result.status = want.status ? 'enabled' : 'disabled';
  }
  if (want.maintenance !== undefined) {
    if ((await hostDriver(c, host)) !== 'fake') throw notSupported();
    result.maintenance_mode = want.maintenance ? 'on_maintenance' : 'off_maintenance';
  }
  return result;
}

async function powerAction(c: ComputeContext, host: string, action: 'startup' | 'shutdown' | 'reboot') {
  if ((await hostDriver(c, host)) !== 'fake') throw notSupported();
  return { host, power_action: action };
}

// ---- extensions: Nova v2.1's fixed list (alias, name, description), in alias order

const NAMESPACE = 'http://docs.openstack.org/compute/ext/fake_xml';
const EXTENSIONS: [string, string, string][] = [
  ["NMN", "Multinic", "Multiple network support."],
  ["OS-DCF", "DiskConfig", "Disk Management Extension."],
  ["OS-EXT-AZ", "ExtendedAvailabilityZone", "Extended Availability Zone support."],
  ["OS-EXT-IMG-SIZE", "ImageSize", "Adds image size to image listings."],
  ["OS-EXT-IPS", "ExtendedIps", "Adds type parameter to the ip list."],
  ["OS-EXT-IPS-MAC", "ExtendedIpsMac", "Adds mac address parameter to the ip list."],
  ["OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Extended Server Attributes support."],
  ["OS-EXT-STS", "ExtendedStatus", "Extended Status support."],
  ["OS-FLV-DISABLED", "FlavorDisabled", "Support to show the disabled status of a flavor."],
  ["OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors."],
  ["OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler."],
  ["OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers."],
  ["os-access-ips", "AccessIPs", "Access IPs support."],
  ["os-admin-actions", "AdminActions", "Enable admin-only server actions\n\n    Actions include: resetNetwork, injectNetworkInfo, os-resetState\n    "],
  ["os-admin-password", "AdminPassword", "Admin password management support."],
  ["os-agents", "Agents", "Agents support."],
  ["os-aggregates", "Aggregates", "Admin-only aggregate administration."],
  ["os-assisted-volume-snapshots", "AssistedVolumeSnapshots", "Assisted volume snapshots."],
  ["os-attach-interfaces", "AttachInterfaces", "Attach interface support."],
  ["os-availability-zone", "AvailabilityZone", "1. Add availability_zone to the Create Server API.\n       2. Add availability zones describing.\n    "],
  ["os-baremetal-ext-status", "BareMetalExtStatus", "Add extended status in Baremetal Nodes v2 API."],
  ["os-baremetal-nodes", "BareMetalNodes", "Admin-only bare-metal node administration."],
  ["os-block-device-mapping", "BlockDeviceMapping", "Block device mapping boot support."],
  ["os-block-device-mapping-v2-boot", "BlockDeviceMappingV2Boot", "Allow boot with the new BDM data format."],
  ["os-cell-capacities", "CellCapacities", "Adding functionality to get cell capacities."],
  ["os-cells", "Cells", "Enables cells-related functionality such as adding neighbor cells,\n    listing neighbor cells, and getting the capabilities of the local cell.\n    "],
  ["os-certificates", "Certificates", "Certificates support."],
  ["os-cloudpipe", "Cloudpipe", "Adds actions to create cloudpipe instances.\n\n    When running with the Vlan network mode, you need a mechanism to route\n    from the public Internet to your vlans.  This mechanism is known as a\n    cloudpipe.\n\n    At the time of creating this class, only OpenVPN is supported.  Support for\n    a SSH Bastion host is forthcoming.\n    "],
  ["os-cloudpipe-update", "CloudpipeUpdate", "Adds the ability to set the vpn ip/port for cloudpipe instances."],
  ["os-config-drive", "ConfigDrive", "Config Drive Extension."],
  ["os-console-auth-tokens", "ConsoleAuthTokens", "Console token authentication support."],
  ["os-console-output", "ConsoleOutput", "Console log output support, with tailing ability."],
  ["os-consoles", "Consoles", "Interactive Console support."],
  ["os-create-backup", "CreateBackup", "Create a backup of a server."],
  ["os-create-server-ext", "Createserverext", "Extended support to the Create Server v1.1 API."],
  ["os-deferred-delete", "DeferredDelete", "Instance deferred delete."],
  ["os-evacuate", "Evacuate", "Enables server evacuation."],
  ["os-extended-evacuate-find-host", "ExtendedEvacuateFindHost", "Enables server evacuation without target host. Scheduler will select one to target."],
  ["os-extended-floating-ips", "ExtendedFloatingIps", "Adds optional fixed_address to the add floating IP command."],
  ["os-extended-hypervisors", "ExtendedHypervisors", "Extended hypervisors support."],
  ["os-extended-networks", "ExtendedNetworks", "Adds additional fields to networks."],
  ["os-extended-quotas", "ExtendedQuotas", "Adds ability for admins to delete quota and optionally force the update Quota command."],
  ["os-extended-rescue-with-image", "ExtendedRescueWithImage", "Allow the user to specify the image to use for rescue."],
  ["os-extended-services", "ExtendedServices", "Extended services support."],
  ["os-extended-services-delete", "ExtendedServicesDelete", "Extended services deletion support."],
  ["os-extended-status", "ExtendedStatus", "Extended Status support."],
  ["os-extended-volumes", "ExtendedVolumes", "Extended Volumes support."],
  ["os-fixed-ips", "FixedIPs", "Fixed IPs support."],
  ["os-flavor-access", "FlavorAccess", "Flavor access support."],
  ["os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support."],
  ["os-flavor-manage", "FlavorManage", "Flavor create/delete API support."],
  ["os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor."],
  ["os-flavor-swap", "FlavorSwap", "Support to show the swap status of a flavor."],
  ["os-floating-ip-dns", "FloatingIpDns", "Floating IP DNS support."],
  ["os-floating-ip-pools", "FloatingIpPools", "Floating IPs support."],
  ["os-floating-ips", "FloatingIps", "Floating IPs support."],
  ["os-floating-ips-bulk", "FloatingIpsBulk", "Bulk handling of Floating IPs."],
  ["os-fping", "Fping", "Fping Management Extension."],
  ["os-hide-server-addresses", "HideServerAddresses", "Support hiding server addresses in certain states."],
  ["os-hosts", "Hosts", "Admin-only host administration."],
  ["os-hypervisor-status", "HypervisorStatus", "Show hypervisor status."],
  ["os-hypervisors", "Hypervisors", "Admin-only hypervisor administration."],
  ["os-instance-actions", "InstanceActions", "View a log of actions and events taken on an instance."],
  ["os-instance_usage_audit_log", "OSInstanceUsageAuditLog", "Admin-only Task Log Monitoring."],
  ["os-keypairs", "Keypairs", "Keypair Support."],
  ["os-lock-server", "LockServer", "Enable lock/unlock server actions."],
  ["os-migrate-server", "MigrateServer", "Enable migrate and live-migrate server actions."],
  ["os-migrations", "Migrations", "Provide data on migrations."],
  ["os-multiple-create", "MultipleCreate", "Allow multiple create in the Create Server v2.1 API."],
  ["os-networks", "Networks", "Admin-only Network Management Extension."],
  ["os-networks-associate", "NetworkAssociationSupport", "Network association support."],
  ["os-pause-server", "PauseServer", "Enable pause/unpause server actions."],
  ["os-personality", "Personality", "Personality support."],
  ["os-preserve-ephemeral-rebuild", "PreserveEphemeralOnRebuild", "Allow preservation of the ephemeral partition on rebuild."],
  ["os-quota-class-sets", "QuotaClasses", "Quota classes management support."],
  ["os-quota-sets", "Quotas", "Quotas management support."],
  ["os-rescue", "Rescue", "Instance rescue mode."],
  ["os-security-group-default-rules", "SecurityGroupDefaultRules", "Default rules for security group support."],
  ["os-security-groups", "SecurityGroups", "Security group support."],
  ["os-server-diagnostics", "ServerDiagnostics", "Allow Admins to view server diagnostics through server action."],
  ["os-server-external-events", "ServerExternalEvents", "Server External Event Triggers."],
  ["os-server-group-quotas", "ServerGroupQuotas", "Adds quota support to server groups."],
  ["os-server-groups", "ServerGroups", "Server group support."],
  ["os-server-list-multi-status", "ServerListMultiStatus", "Allow to filter the servers by a set of status values."],
  ["os-server-password", "ServerPassword", "Server password support."],
  ["os-server-sort-keys", "ServerSortKeys", "Add sorting support in get Server v2 API."],
  ["os-server-start-stop", "ServerStartStop", "Start/Stop instance compute API support."],
  ["os-services", "Services", "Services support."],
  ["os-shelve", "Shelve", "Instance shelve mode."],
  ["os-simple-tenant-usage", "SimpleTenantUsage", "Simple tenant usage extension."],
  ["os-suspend-server", "SuspendServer", "Enable suspend/resume server actions."],
  ["os-tenant-networks", "OSTenantNetworks", "Tenant-based Network Management Extension."],
  ["os-used-limits", "UsedLimits", "Provide data on limited resources that are being used."],
  ["os-used-limits-for-admin", "UsedLimitsForAdmin", "Provide data to admin on limited resources used by other tenants."],
  ["os-user-data", "UserData", "Add user_data to the Create Server API."],
  ["os-user-quotas", "UserQuotas", "Project user quota support."],
  ["os-virtual-interfaces", "VirtualInterfaces", "Virtual interface support."],
  ["os-volume-attachment-update", "VolumeAttachmentUpdate", "Support for updating a volume attachment."],
  ["os-volumes", "Volumes", "Volumes support."],
];
const extensionView = ([alias, name, description]: [string, string, string]) => ({ alias, description, links: [], name, namespace: NAMESPACE, updated: '2014-12-03T00:00:00Z' });

// ---- os-networks, os-tenant-networks: the built-in network

function ipv4(s: string): number {
  return s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
const dotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** os-networks' view (Nova's network_dict): the operator fields only for admins. */
function networkView(admin: boolean) {
  const [net, bits] = BUILTIN_NETWORK.cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const base = ipv4(net) - (ipv4(net) % size);
  const view: Record<string, unknown> = {
    id: BUILTIN_NETWORK.id, cidr: BUILTIN_NETWORK.cidr, netmask: dotted(2 ** 32 - size), gateway: BUILTIN_NETWORK.gateway,
    broadcast: dotted(base + size - 1), dns1: SLIRP_NET.dns, dns2: null, cidr_v6: null, gateway_v6: null, label: BUILTIN_NETWORK.name, netmask_v6: null,
  };
  if (admin) {
    Object.assign(view, {
      created_at: null, updated_at: null, deleted_at: null, deleted: null, injected: null, bridge: null, vlan: null,
      vpn_public_address: null, vpn_public_port: null, vpn_private_address: null, dhcp_start: BUILTIN_NETWORK.address, project_id: null,
      host: null, bridge_interface: null, multi_host: null, priority: null, rxtx_base: null, mtu: null, dhcp_server: BUILTIN_NETWORK.gateway,
      enable_dhcp: true, share_address: null,
    });
  }
  return view;
}
/** Nova's network_dict of a Neutron network: only id, label and cidr are known (admins also see project and MTU). */
function neutronNetworkView(n: ProxiedNetwork, admin: boolean) {
  const view: Record<string, unknown> = {
    id: n.id, cidr: n.cidr, netmask: null, gateway: null, broadcast: null, dns1: null, dns2: null, cidr_v6: null, gateway_v6: null, label: n.name, netmask_v6: null,
  };
  if (admin) {
    for (const k of ['created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan', 'vpn_public_address', 'vpn_public_port', 'vpn_private_address',
      'dhcp_start', 'host', 'bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'dhcp_server', 'enable_dhcp', 'share_address']) view[k] = null;
    view.project_id = n.project_id;
    view.mtu = n.mtu;
  }
  return view;
}
const tenantNetworkView = () => ({ id: BUILTIN_NETWORK.id, cidr: BUILTIN_NETWORK.cidr, label: BUILTIN_NETWORK.name });
function builtinNetwork(id: string) {
  if (id !== BUILTIN_NETWORK.id) throw notFound('Network not found');
}

// ---- os-instance_usage_audit_log

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Python's str(datetime): 2024-05-01 00:00:00 */
const pyTime = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;

/** The `before` timestamp as Nova parses it: "%Y-%m-%d %H:%M:%S", with ".%f" when it has a dot. */
export function parseAuditTimestamp(raw: string): Date {
  const bad = () => badRequest(`Invalid timestamp for date ${raw}`);
  const re = raw.includes('.')
    ? /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d{1,6})$/
    : /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})$/;
  const m = re.exec(raw);
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const ms = m[7] ? Math.floor(Number(m[7].padEnd(6, '0')) / 1000) : 0;
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw bad();
  return t;
}

/** Nova's last_completed_audit_period for the default 'month' unit: the last whole month before `now`. */
export function lastCompletedAuditPeriod(now: Date): { begin: Date; end: Date } {
  let end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  if (end.getTime() >= now.getTime()) end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const begin = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 1, 1));
  return { begin, end };
}

/**
 * The audit of a period as Nova's compute hosts report it. Nova's hosts count, per period, the
 * servers active on them (launched before its end, not terminated before its beginning); the
 * period is over, so each compute host's count follows from the instance table and is DONE.
 */
async function auditLog(c: ComputeContext, at: Date) {
  const { begin, end } = lastCompletedAuditPeriod(at);
  const hosts = [...new Set((await listServices(c, { binary: COMPUTE_BINARY })).map((s) => s.host))];
  const rows = await c.db.selectFrom('instance').select(['host', 'launched_at', 'terminated_at']).where('host', 'is not', null).execute();
  const b = begin.toISOString();
  const e = end.toISOString();
  const log: Record<string, { state: string; instances: number; errors: number; message: string }> = {};
  let total = 0;
  for (const host of hosts) {
    const n = rows.filter((r) => r.host === host && r.launched_at !== null && r.launched_at < e && (r.terminated_at === null || r.terminated_at > b)).length;
    total += n;
    log[host] = { state: 'DONE', instances: n, errors: 0, message: `Instance usage audit ran for host ${host}, ${n} instances in 0 seconds.` };
  }
  return {
    period_beginning: pyTime(begin), period_ending: pyTime(end),
    num_hosts: hosts.length, num_hosts_done: hosts.length, num_hosts_running: 0, num_hosts_not_run: 0, hosts_not_run: [] as string[],
    total_instances: total, total_errors: 0, overall_status: 'ALL hosts done. 0 errors.', log,
  };
}

export function legacyRoutes(c: ComputeContext): Route[] {
  const hosts = before('2.43');
  const networks = before('2.36', true);
  // with the network service: Nova's proxies list the Neutron networks the caller sees
  const proxied = c.network.networks ? (ctx: RequestCtx) => c.network.networks!(callerOf(ctx)) : undefined;
  const proxiedOne = async (ctx: RequestCtx) => {
    const n = (await proxied!(ctx)).find((x) => x.id === ctx.params.id);
    if (!n) throw notFound('Network not found');
    return n;
  };
  return [
    // ---- os-hosts (2.1 – 2.42)
    { method: 'GET', url: '/v2.1/os-hosts', policy: `${P}os-hosts:list`, target: hosts, handler: (ctx) => listHosts(c, ctx) },
    { method: 'GET', url: '/v2.1/os-hosts/:host', policy: `${P}os-hosts:show`, target: hosts, handler: (ctx) => showHost(c, ctx.params.host) },
    { method: 'PUT', url: '/v2.1/os-hosts/:host', policy: `${P}os-hosts:update`, target: hosts, handler: (ctx) => updateHost(c, ctx.params.host, ctx.body) },
    { method: 'GET', url: '/v2.1/os-hosts/:host/startup', policy: `${P}os-hosts:start`, target: hosts, handler: (ctx) => powerAction(c, ctx.params.host, 'startup') },
    { method: 'GET', url: '/v2.1/os-hosts/:host/shutdown', policy: `${P}os-hosts:shutdown`, target: hosts, handler: (ctx) => powerAction(c, ctx.params.host, 'shutdown') },
    { method: 'GET', url: '/v2.1/os-hosts/:host/reboot', policy: `${P}os-hosts:reboot`, target: hosts, handler: (ctx) => powerAction(c, ctx.params.host, 'reboot') },

    // ---- extensions
    { method: 'GET', url: '/v2.1/extensions', policy: `${P}extensions`, target: () => ({}), handler: () => ({ extensions: EXTENSIONS.map(extensionView) }) },
    {
      method: 'GET', url: '/v2.1/extensions/:alias', policy: `${P}extensions`, target: () => ({}),
      handler: (ctx) => {
        const ext = EXTENSIONS.find(([alias]) => alias === ctx.params.alias);
        if (!ext) throw gone();
        return { extension: extensionView(ext) };
      },
    },

    // ---- os-networks (2.1 – 2.35; the nova-network operations are gone: 410)
    {
      method: 'GET', url: '/v2.1/os-networks', policy: `${P}os-networks:list`, target: networks,
      handler: async (ctx) => ({ networks: proxied ? (await proxied(ctx)).map((n) => neutronNetworkView(n, callerOf(ctx).isAdmin)) : [networkView(callerOf(ctx).isAdmin)] }),
    },
    {
      method: 'GET', url: '/v2.1/os-networks/:id', policy: `${P}os-networks:show`, target: networks,
      handler: async (ctx) => {
        if (proxied) return { network: neutronNetworkView(await proxiedOne(ctx), callerOf(ctx).isAdmin) };
        builtinNetwork(ctx.params.id);
        return { network: networkView(callerOf(ctx).isAdmin) };
      },
    },
    { method: 'POST', url: '/v2.1/os-networks', policy: 'authenticated', handler: () => { throw removed(); } },
    { method: 'POST', url: '/v2.1/os-networks/add', policy: 'authenticated', handler: () => { throw removed(); } },
    { method: 'POST', url: '/v2.1/os-networks/:id/action', policy: 'authenticated', handler: () => { throw removed(); } },
    { method: 'DELETE', url: '/v2.1/os-networks/:id', policy: 'authenticated', handler: () => { throw removed(); } },

    // ---- os-tenant-networks (2.1 – 2.35)
    {
      method: 'GET', url: '/v2.1/os-tenant-networks', policy: `${P}os-tenant-networks:list`, target: networks,
      handler: async (ctx) => ({ networks: proxied ? (await proxied(ctx)).map((n) => ({ id: n.id, cidr: n.cidr, label: n.name })) : [tenantNetworkView()] }),
    },
    {
      method: 'GET', url: '/v2.1/os-tenant-networks/:id', policy: `${P}os-tenant-networks:show`, target: networks,
      handler: async (ctx) => {
        if (proxied) {
          const n = await proxiedOne(ctx);
          return { network: { id: n.id, cidr: n.cidr, label: n.name } };
        }
        builtinNetwork(ctx.params.id);
        return { network: tenantNetworkView() };
      },
    },
    { method: 'POST', url: '/v2.1/os-tenant-networks', policy: 'authenticated', handler: () => { throw removed(); } },
    { method: 'DELETE', url: '/v2.1/os-tenant-networks/:id', policy: 'authenticated', handler: () => { throw removed(); } },

    // ---- os-instance_usage_audit_log
    {
      method: 'GET', url: '/v2.1/os-instance_usage_audit_log', policy: `${P}os-instance-usage-audit-log:list`, target: () => ({}),
      handler: async () => ({ instance_usage_audit_logs: await auditLog(c, new Date()) }),
    },
    {
      method: 'GET', url: '/v2.1/os-instance_usage_audit_log/:before', policy: `${P}os-instance-usage-audit-log:show`, target: () => ({}),
      handler: async (ctx) => ({ instance_usage_audit_log: await auditLog(c, parseAuditTimestamp(ctx.params.before)) }),
    },
  ];
}
