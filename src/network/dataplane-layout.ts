/**
 * Where this process's dataplane lives on the machine: one host namespace for all its local
 * compute hosts, or (network.separateHosts with several local hosts) one namespace and agent
 * per host, VXLAN between them over a simulated underlay. The service and `nubo network
 * teardown` both read it, so they agree on what is theirs.
 */
import { join } from 'node:path';
import { localHostNames, type NuboConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { createDataplaneDriver, type LinuxDriverOptions } from './drivers/registry.js';
import { removeSimulatedUnderlay, UNDERLAY_DEVICE } from './drivers/linux/underlay.js';

export interface DataplaneHost {
  /** The compute hosts this agent serves; the first is where DHCP and routers run on the network node. */
  hosts: string[];
  networkNode: boolean;
  /** The Linux driver's options for this host. */
  driver: LinuxDriverOptions;
  /** With separate hosts: the host's address on the simulated underlay (its VXLAN tunnel IP). */
  tunnelIp?: string;
}

export interface DataplaneLayout {
  hosts: DataplaneHost[];
  /** The simulated underlay's namespace and members, with separate hosts. */
  underlay?: { namespace: string; members: { ns: string; ip: string; prefixlen: number }[] };
}

/** The compute hosts this process runs (compute names them host, host-2, ...). */
export function localHosts(cfg: NuboConfig): string[] {
  return localHostNames(cfg.compute.host, Math.max(cfg.compute.fakeHosts, cfg.compute.localHosts));
}

export function networkStateDir(cfg: NuboConfig): string {
  return join(cfg.dataDir, 'network');
}

/** `separate`: whether the hosts may get their own namespaces (only the Linux driver has them). */
export function dataplaneLayout(cfg: NuboConfig, logger: Logger, separate = true): DataplaneLayout {
  const hosts = localHosts(cfg);
  const stateDir = networkStateDir(cfg);
  const p = cfg.network.namespacePrefix;
  const common = { stateDir: join(stateDir, 'dataplane'), metadataSocket: join(stateDir, 'metadata.sock'), logger };
  const external = { cidr: cfg.network.externalCidr, hostAddress: cfg.network.externalHostAddress };
  if (!(separate && cfg.network.separateHosts && hosts.length > 1)) {
    return { hosts: [{ hosts, networkNode: true, driver: { ...common, prefix: p, hostNamespace: `${p}host`, external } }] };
  }
  const layout = hosts.map((host, i) => ({ host, ns: `${p}a${i + 1}-host`, prefix: `${p}a${i + 1}-`, ip: `192.168.254.${i + 1}` }));
  return {
    hosts: layout.map((h, i) => ({
      hosts: [h.host], networkNode: i === 0, tunnelIp: h.ip,
      driver: { ...common, prefix: h.prefix, hostNamespace: h.ns, underlay: { localIp: h.ip, device: UNDERLAY_DEVICE }, ...(i === 0 ? { external } : {}) },
    })),
    underlay: { namespace: `${p}underlay`, members: layout.map((h) => ({ ns: h.ns, ip: h.ip, prefixlen: 24 })) },
  };
}

/**
 * `nubo network teardown`: removes what the Linux dataplane of this configuration made on the
 * machine (namespaces, bridges, taps, dnsmasq/haproxy, nftables, state) — for a cloud that is
 * stopped for good. Returns the host namespaces it went through.
 */
export async function teardownDataplane(cfg: NuboConfig, logger: Logger): Promise<string[]> {
  const layout = dataplaneLayout(cfg, logger);
  for (const h of layout.hosts) await (await createDataplaneDriver('linux', h.driver)).teardown();
  if (layout.underlay) await removeSimulatedUnderlay(layout.underlay.namespace);
  return layout.hosts.map((h) => h.driver.hostNamespace);
}
