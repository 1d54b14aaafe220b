/**
 * Reads the database into what one host's dataplane must carry (drivers/driver.ts): the
 * instance ports bound to it with their firewall rules, the networks they need with their
 * VXLAN peers, and — on the network node — every DHCP server and router.
 */
import type { Kysely } from 'kysely';
import { fromJson } from '../../core/db/database.js';
import type { NetworkDB, PortRow, SubnetRow } from '../db/schema.js';
import type { DhcpServer, HostDataplane, IpOnSubnet, L2Network, Router, VmPort } from '../drivers/driver.js';
import { tapName } from '../drivers/driver.js';
import { rulesForPorts } from '../service/firewall-rules.js';
import { cidrContains, parseCidr, parseIp } from '../service/ip-math.js';
import { GW_OWNER, IF_OWNERS } from '../service/routers.js';
import { DHCP_OWNER } from '../service/subnets.js';

/** The agent types each host registers; DHCP and L3 only on the network node. */
export const AGENT_TYPES = {
  l2: { type: 'Linux bridge agent', binary: 'nubo-linuxbridge-agent', topic: 'N/A' },
  dhcp: { type: 'DHCP agent', binary: 'nubo-dhcp-agent', topic: 'dhcp_agent' },
  l3: { type: 'L3 agent', binary: 'nubo-l3-agent', topic: 'l3_agent' },
  metadata: { type: 'Metadata agent', binary: 'nubo-metadata-agent', topic: 'N/A' },
} as const;

const isInstancePort = (p: PortRow) => p.device_owner.startsWith('compute:');

const prefixOf = (cidr: string) => Number(cidr.split('/')[1]);
const ipVersion = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

/**
 * `hosts`: the hosts one agent serves (several local hosts of one process share one dataplane:
 * same kernel, same bridges).
 */
export async function desiredState(db: Kysely<NetworkDB>, hosts: string[]): Promise<HostDataplane> {
  const here = new Set(hosts);
  const agents = await db.selectFrom('agent').select(['host', 'agent_type', 'tunnel_ip']).execute();
  const networkNode = agents.find((a) => a.agent_type === AGENT_TYPES.dhcp.type)?.host;
  const isNetworkNode = networkNode !== undefined && here.has(networkNode);
  const tunnelIp = new Map(agents.filter((a) => a.agent_type === AGENT_TYPES.l2.type && a.tunnel_ip).map((a) => [a.host, a.tunnel_ip!]));

  // Which host carries which network: hosts with instance ports on it, and the network node for DHCP and router legs.
  const bound = await db.selectFrom('port').select(['network_id', 'binding_host_id']).where('binding_host_id', '!=', '').where('device_owner', 'like', 'compute:%').execute();
  const service = await db.selectFrom('port').select('network_id').where('device_owner', 'in', [DHCP_OWNER, GW_OWNER, ...IF_OWNERS]).execute();
  const hostsOf = new Map<string, Set<string>>();
  const carry = (net: string, h: string) => hostsOf.set(net, (hostsOf.get(net) ?? new Set()).add(h));
  for (const p of bound) carry(p.network_id, p.binding_host_id);
  if (networkNode) for (const p of service) carry(p.network_id, networkNode);

  const netIds = [...hostsOf].filter(([, hs]) => [...hs].some((h) => here.has(h))).map(([id]) => id);
  const nets = netIds.length ? await db.selectFrom('network').selectAll().where('id', 'in', netIds).execute() : [];
  const networks: L2Network[] = nets.map((n) => ({
    id: n.id,
    vni: n.provider_network_type === 'vxlan' && !n.external ? n.provider_segmentation_id : null,
    mtu: n.mtu,
    external: !!n.external,
    peers: [...new Set([...(hostsOf.get(n.id) ?? [])].filter((h) => !here.has(h)).map((h) => tunnelIp.get(h)).filter((x): x is string => !!x))].sort(),
  }));

  const ports = netIds.length ? await db.selectFrom('port').selectAll().where('network_id', 'in', netIds).execute() : [];
  const allocs = netIds.length ? await db.selectFrom('ip_allocation').selectAll().where('network_id', 'in', netIds).execute() : [];
  const subnets = netIds.length ? await db.selectFrom('subnet').selectAll().where('network_id', 'in', netIds).execute() : [];
  const subnetById = new Map(subnets.map((s) => [s.id, s]));
  const ipsOf = new Map<string, { ip: string; subnet: SubnetRow }[]>();
  for (const a of allocs) {
    const s = subnetById.get(a.subnet_id);
    if (s) ipsOf.set(a.port_id, [...(ipsOf.get(a.port_id) ?? []), { ip: a.ip_address, subnet: s }]);
  }
  const legIps = (portId: string): IpOnSubnet[] =>
    (ipsOf.get(portId) ?? []).map(({ ip, subnet }) => ({ address: ip, prefixlen: prefixOf(subnet.cidr), version: ipVersion(ip) }));

  const mine = ports.filter((p) => isInstancePort(p) && here.has(p.binding_host_id));
  const firewalls = await rulesForPorts(db, mine.filter((p) => p.port_security_enabled).map((p) => p.id));
  const vmPorts: VmPort[] = mine.map((p) => {
    const fw = firewalls.get(p.id);
    return {
      id: p.id, networkId: p.network_id, mac: p.mac_address, tap: tapName(p.id),
      ips: (ipsOf.get(p.id) ?? []).map((x) => x.ip), adminUp: !!p.admin_state_up,
      security: p.port_security_enabled && fw ? {
        allowedPairs: fromJson<{ ip_address: string; mac_address?: string }[]>(p.allowed_address_pairs, [])
          .map((a) => ({ ip: a.ip_address, mac: a.mac_address ?? p.mac_address })),
        rules: fw.rules.map((r) => ({
          direction: r.direction, ethertype: r.ethertype, protocol: r.protocol === null ? null : String(r.protocol),
          portMin: r.portRangeMin, portMax: r.portRangeMax, remote: r.remote,
        })),
        stateful: fw.stateful,
      } : null,
    };
  });

  const dhcp: DhcpServer[] = [];
  const routers: Router[] = [];
  if (isNetworkNode) {
    const routed = new Set(ports.filter((p) => IF_OWNERS.includes(p.device_owner)).map((p) => p.network_id));
    for (const n of nets) {
      const dp = ports.find((p) => p.network_id === n.id && p.device_owner === DHCP_OWNER);
      const dsubs = subnets.filter((s) => s.network_id === n.id && s.enable_dhcp);
      if (!dp || dsubs.length === 0) continue;
      const inDhcp = new Set(dsubs.map((s) => s.id));
      dhcp.push({
        networkId: n.id, mtu: n.mtu,
        port: { id: dp.id, mac: dp.mac_address, ips: legIps(dp.id) },
        subnets: dsubs.map((s) => ({
          id: s.id, cidr: s.cidr, version: s.ip_version as 4 | 6, gateway: s.gateway_ip,
          dnsNameservers: fromJson<string[]>(s.dns_nameservers, []), hostRoutes: fromJson(s.host_routes, []), ipv6AddressMode: s.ipv6_address_mode,
        })),
        hosts: ports.filter((p) => p.network_id === n.id && p.id !== dp.id).flatMap((p) => (ipsOf.get(p.id) ?? [])
          .filter((x) => inDhcp.has(x.subnet.id))
          .map((x) => ({ mac: p.mac_address, ip: x.ip, hostname: p.dns_name || `host-${x.ip.replace(/[.:]/g, '-')}`, subnetId: x.subnet.id }))),
        domain: 'openstacklocal',
        metadata: !routed.has(n.id),
      });
    }
    routers.push(...await routersState(db, ports, legIps, subnetById));
  }
  return { networks, ports: vmPorts, dhcp, routers };
}

async function routersState(
  db: Kysely<NetworkDB>, ports: PortRow[], legIps: (portId: string) => IpOnSubnet[], subnetById: Map<string, SubnetRow>,
): Promise<Router[]> {
  const rows = await db.selectFrom('router').selectAll().execute();
  if (rows.length === 0) return [];
  const fips = await db.selectFrom('floating_ip').selectAll().where('router_id', 'is not', null).execute();
  const pfs = await db.selectFrom('port_forwarding').innerJoin('floating_ip', 'floating_ip.id', 'port_forwarding.floatingip_id')
    .select(['floating_ip.router_id', 'floating_ip.floating_ip_address', 'port_forwarding.protocol', 'port_forwarding.external_port',
      'port_forwarding.internal_ip_address', 'port_forwarding.internal_port']).execute();
  const out: Router[] = [];
  for (const r of rows) {
    if (!r.admin_state_up) continue;
    const gwPort = ports.find((p) => p.device_id === r.id && p.device_owner === GW_OWNER);
    let gateway: Router['gateway'] = null;
    if (gwPort) {
      const ips = legIps(gwPort.id);
      const firstV4 = ips.find((i) => i.version === 4);
      const alloc = firstV4 && [...subnetById.values()].find((s) => s.network_id === gwPort.network_id && s.ip_version === 4 && s.gateway_ip && sameNet(s.cidr, firstV4.address));
      gateway = { networkId: gwPort.network_id, portId: gwPort.id, mac: gwPort.mac_address, ips, nexthop: alloc ? alloc.gateway_ip : null, snat: !!r.enable_snat };
    }
    out.push({
      id: r.id,
      gateway,
      interfaces: ports.filter((p) => p.device_id === r.id && IF_OWNERS.includes(p.device_owner))
        .map((p) => ({ portId: p.id, networkId: p.network_id, mac: p.mac_address, ips: legIps(p.id) })),
      routes: fromJson<{ destination: string; nexthop: string }[]>(r.routes, []),
      floatingIps: fips.filter((f) => f.router_id === r.id && f.port_id && f.fixed_ip_address)
        .map((f) => ({ floating: f.floating_ip_address, fixed: f.fixed_ip_address! })),
      portForwardings: pfs.filter((p) => p.router_id === r.id).map((p) => ({
        floating: p.floating_ip_address, protocol: p.protocol as 'tcp' | 'udp', externalPort: p.external_port, internal: p.internal_ip_address, internalPort: p.internal_port,
      })),
      metadata: true,
    });
  }
  return out;
}

/** Whether an address is inside a CIDR. */
function sameNet(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  return !!c && !!a && cidrContains(c, a);
}
