import type { Vif } from '../drivers/driver.js';
import type { SecurityGroupCaller, SecurityGroupStore } from './security-groups.js';

/** A network the create request asked for: a network uuid, a port, and/or a fixed IP. */
export interface RequestedNetwork { uuid?: string; port?: string; fixed_ip?: string; tag?: string }

/** What compute keeps per interface (Nova's network info cache), and shows in `addresses`. */
export interface NetworkInfoItem {
  port_id: string;
  network_id: string;
  network_name: string;
  mac: string;
  ips: { address: string; version: 4 | 6; type: 'fixed' | 'floating'; cidr: string; gateway?: string }[];
  /** How the hypervisor plugs it (Nova's VIF type and details); absent: QEMU user-mode (the built-in network). */
  vif?: { kind: 'tap'; tapName: string; netns?: string; mtu?: number };
  /** The device tag given at os-interface attach (2.49), shown from 2.70. */
  tag?: string;
}

/**
 * What a create asked for: 'auto' (2.37: the project's network, else one made for it — Neutron's
 * auto-allocated topology), 'default' (no `networks` before 2.37: the project's one network, or
 * none), 'none', or explicit networks/ports.
 */
export type NetworkRequest = 'auto' | 'default' | 'none' | RequestedNetwork[];

export interface InstanceRef { uuid: string; projectId: string; userId: string; host: string; hostname: string }

/**
 * The boundary between compute and the network service, as Nova's network API towards
 * Neutron: check a request, create and bind ports for a server on its host, and free them.
 * The built-in implementation serves until the network service exists; then the network
 * service's client implements this.
 */
export interface NetworkApi {
  /** Throws HttpError 400 for unknown networks/ports/addresses. */
  validate(projectId: string, requested: NetworkRequest): Promise<void>;
  /** Creates (or binds) the ports of an instance on its host; returns the interfaces for the driver. */
  allocate(instance: InstanceRef, requested: NetworkRequest, securityGroups: string[]): Promise<{ info: NetworkInfoItem[]; vifs: Vif[] }>;
  /** Frees everything allocate made for the instance; idempotent. */
  deallocate(instanceUuid: string): Promise<void>;
  /** Names of the security groups a project may use (validation of the create request). */
  securityGroupExists(projectId: string, nameOrId: string): Promise<boolean>;

  // What the network service adds (Nova with Neutron); absent for the built-in network.
  /** os-security-groups and os-security-group-rules proxied to the network service. */
  securityGroups?: SecurityGroupStore;
  /** add/removeSecurityGroup: changes the groups of every port of the instance (HttpError 400/404/409 as Nova). */
  addSecurityGroup?(projectId: string, instanceUuid: string, nameOrId: string): Promise<void>;
  removeSecurityGroup?(projectId: string, instanceUuid: string, nameOrId: string): Promise<void>;
  /** The instance's ports as os-interface shows them. */
  interfaces?(instanceUuid: string): Promise<InterfaceAttachment[]>;
  /** Creates (or binds the given) port for an instance on its host (os-interface attach). */
  attachInterface?(instance: InstanceRef, req: AttachRequest): Promise<{ info: NetworkInfoItem; vif: Vif }>;
  /** Frees one port of an instance as deallocate does (compute-made: deleted; the user's: unbound). */
  detachInterface?(instanceUuid: string, portId: string): Promise<void>;
  /** addFixedIp (multinic, before 2.44), as Nova with Neutron: one more address from the network on the
   *  server's port there; null when the server has no port on it. HttpError 400 when no address is free. */
  addFixedIp?(instanceUuid: string, networkId: string): Promise<NetworkInfoItem | null>;
  /** removeFixedIp: drops the address from the server's port that holds it (`info` null: it was the
   *  port's only address, nothing changed); null when no port of the server holds it. */
  removeFixedIp?(instanceUuid: string, address: string): Promise<{ portId: string; info: NetworkInfoItem | null } | null>;
  /** Floating IPs associated with these ports, by port id (the `addresses` of server views). */
  floatingIps?(portIds: string[]): Promise<Map<string, { address: string; version: 4 | 6 }[]>>;
  /** Networks the caller may see (Nova's os-networks / os-tenant-networks proxies). */
  networks?(caller: SecurityGroupCaller): Promise<ProxiedNetwork[]>;
  /** os-floating-ips, os-floating-ip-pools and add/removeFloatingIp proxied to the network service. */
  floatingIpProxy?: FloatingIpProxy;
}

/** A floating IP as Nova's os-floating-ips shows it. */
export interface FloatingIpView { id: string; ip: string; pool: string; fixed_ip: string | null; instance_id: string | null }

/** Errors are HttpErrors as Nova answers them (404 unknown pool/IP, 400 refused association, 409 not on this server). */
export interface FloatingIpProxy {
  list(caller: SecurityGroupCaller): Promise<FloatingIpView[]>;
  get(caller: SecurityGroupCaller, id: string): Promise<FloatingIpView>;
  /** From the pool (an external network's name or id), or the default external network. */
  allocate(caller: SecurityGroupCaller, pool?: string): Promise<FloatingIpView>;
  release(caller: SecurityGroupCaller, id: string): Promise<void>;
  /** Names of the external networks. */
  pools(): Promise<string[]>;
  associate(projectId: string, instanceUuid: string, address: string, fixedAddress: string): Promise<void>;
  disassociate(projectId: string, instanceUuid: string, address: string): Promise<void>;
}

/** os-interface POST: a network (optionally with one fixed IP), a port, or neither (auto). */
export interface AttachRequest { netId?: string; portId?: string; fixedIp?: string; tag?: string; /** the server's groups, for a port compute creates */ securityGroups?: string[] }

/** One interfaceAttachment (Nova's view of a port). */
export interface InterfaceAttachment {
  port_state: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  port_id: string;
  net_id: string;
  mac_addr: string;
}

/** A network as the os-networks proxy shows it: Neutron knows no nova-network fields. */
export interface ProxiedNetwork { id: string; name: string; /** its first subnet's */ cidr: string | null; project_id: string; mtu: number }
