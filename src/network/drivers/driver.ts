/**
 * The dataplane driver: makes one host's Linux networking match a desired state computed from
 * the database by the network agent, and removes whatever it created that the state no longer
 * holds. Idempotent: apply(sameState) changes nothing.
 */

export interface IpOnSubnet { address: string; prefixlen: number; version: 4 | 6 }

/** A tenant or external network present on this host. */
export interface L2Network {
  id: string;
  /** VXLAN VNI; null for a flat network (the external one: bridged to the host's uplink). */
  vni: number | null;
  mtu: number;
  external: boolean;
  /** Underlay addresses of the other hosts that carry this network (VXLAN flood list, l2pop style). */
  peers: string[];
}

/** A security-group rule as the firewall needs it (remote groups already expanded to addresses). */
export interface FirewallRule {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** tcp, udp, icmp, ipv6-icmp, sctp, a protocol number as a string, or null for any. */
  protocol: string | null;
  /** Port range (tcp/udp/sctp) or ICMP type (min) and code (max); null for any. */
  portMin: number | null;
  portMax: number | null;
  /** Remote CIDRs (remote_ip_prefix, or the fixed IPs of the remote group's ports); null for any. */
  remote: string[] | null;
}

/** An instance's port on this host: a tap on the network's bridge, filtered by its security groups. */
export interface VmPort {
  id: string;
  networkId: string;
  mac: string;
  /** The tap device (`tap` + the port id's first 11 characters); the hypervisor opens it. */
  tap: string;
  /** Fixed IPs (plain addresses). */
  ips: string[];
  adminUp: boolean;
  /** null when port security is off: no anti-spoofing and no filtering at all. */
  security: {
    /** Extra (ip or CIDR, mac) pairs the port may send from (allowed_address_pairs). */
    allowedPairs: { ip: string; mac: string }[];
    rules: FirewallRule[];
    stateful: boolean;
  } | null;
}

export interface DhcpSubnet {
  id: string;
  cidr: string;
  version: 4 | 6;
  gateway: string | null;
  dnsNameservers: string[];
  hostRoutes: { destination: string; nexthop: string }[];
  /** IPv6: slaac | dhcpv6-stateful | dhcpv6-stateless | null */
  ipv6AddressMode: string | null;
}

/** One dnsmasq (static leases only) in the network's DHCP namespace. */
export interface DhcpServer {
  networkId: string;
  mtu: number;
  /** The DHCP port (device_owner network:dhcp): its MAC and addresses inside the namespace. */
  port: { id: string; mac: string; ips: IpOnSubnet[] };
  subnets: DhcpSubnet[];
  /** One static lease per instance address. */
  hosts: { mac: string; ip: string; hostname: string; subnetId: string }[];
  /** DNS domain for instance names. */
  domain: string;
  /**
   * Serve the metadata service on 169.254.169.254:80 in the DHCP namespace (and push a
   * classless static route to it through the DHCP port), for networks without a router.
   */
  metadata: boolean;
}

export interface Router {
  id: string;
  /** The leg on the external network, or null when the router has no gateway. */
  gateway: {
    networkId: string;
    portId: string;
    mac: string;
    ips: IpOnSubnet[];
    /** The external subnet's gateway: the router's default route. */
    nexthop: string | null;
    /** Source-NAT the tenant networks behind it to the first gateway IP. */
    snat: boolean;
  } | null;
  /** Legs on tenant networks (router interfaces). */
  interfaces: { portId: string; networkId: string; mac: string; ips: IpOnSubnet[] }[];
  /** Extra routes. */
  routes: { destination: string; nexthop: string }[];
  /** 1:1 NAT: floating (on the gateway leg) to fixed (behind an interface). */
  floatingIps: { floating: string; fixed: string }[];
  /** Port forwardings on floating IPs. */
  portForwardings: { floating: string; protocol: 'tcp' | 'udp'; externalPort: number; internal: string; internalPort: number }[];
  /** Redirect 169.254.169.254:80 from its interfaces to the metadata service. */
  metadata: boolean;
}

/** Everything one host must carry. */
export interface HostDataplane {
  networks: L2Network[];
  ports: VmPort[];
  dhcp: DhcpServer[];
  routers: Router[];
}

export interface DataplaneDriver {
  /** Makes the host match `desired` and removes what this driver made that is not in it. */
  apply(desired: HostDataplane): Promise<void>;
  /** The namespace the taps are in (the hypervisor must open them there); null: the root namespace. */
  readonly tapNamespace: string | null;
  /** Removes everything this driver ever created on this host (namespaces, devices, processes, rules). */
  teardown(): Promise<void>;
}

/** Device names: Linux allows 15 characters. */
export const tapName = (portId: string) => `tap${portId.slice(0, 11)}`;
