import type { Vif } from '../drivers/driver.js';

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
}

export interface InstanceRef { uuid: string; projectId: string; userId: string; host: string; hostname: string }

/**
 * The boundary between compute and the network service, as Nova's network API towards
 * Neutron: check a request, create and bind ports for a server on its host, and free them.
 * The built-in implementation serves until the network service exists; then the network
 * service's client implements this.
 */
export interface NetworkApi {
  /** 'auto' | 'none' | explicit list. Throws HttpError 400 for unknown networks/ports/addresses. */
  validate(projectId: string, requested: 'auto' | 'none' | RequestedNetwork[]): Promise<void>;
  /** Creates (or binds) the ports of an instance on its host; returns the interfaces for the driver. */
  allocate(instance: InstanceRef, requested: 'auto' | 'none' | RequestedNetwork[], securityGroups: string[]): Promise<{ info: NetworkInfoItem[]; vifs: Vif[] }>;
  /** Frees everything allocate made for the instance; idempotent. */
  deallocate(instanceUuid: string): Promise<void>;
  /** Names of the security groups a project may use (validation of the create request). */
  securityGroupExists(projectId: string, nameOrId: string): Promise<boolean>;
}
