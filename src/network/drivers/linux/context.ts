import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../../../core/logger.js';

export interface LinuxDriverOptions {
  /** Every namespace, state file and root-namespace device this driver makes starts with it (e.g. 'nubo-h1-'). */
  prefix: string;
  /** The namespace standing for the host: bridges, vxlan devices and instance taps live there (created if missing). */
  hostNamespace: string;
  /** dnsmasq/haproxy configs, pid files, leases (one directory per server, named with the prefix). */
  stateDir: string;
  /** VXLAN local address (and device), set up by the caller in the host namespace. Without it no vxlan device is made. */
  underlay?: { localIp: string; device?: string };
  /** Only the network node: a veth from the root namespace (gets hostAddress) into the external network's bridge. */
  external?: { cidr: string; hostAddress: string };
  /** Unix socket of the metadata service; the haproxy proxies forward to it. */
  metadataSocket: string;
  logger: Logger;
}

/** Names derived from the options and the ids (Linux device names are at most 15 characters). */
export class Names {
  constructor(readonly o: LinuxDriverOptions) {}
  bridge = (networkId: string) => `brq${networkId.slice(0, 11)}`;
  vxlan = (vni: number) => `vxlan-${vni}`;
  /** Host-side end of a namespace leg (DHCP or router port), like Neutron's linuxbridge agent. */
  outer = (portId: string) => `tap${portId.slice(0, 11)}`;
  dhcpLeg = (portId: string) => `ns-${portId.slice(0, 11)}`;
  qr = (portId: string) => `qr-${portId.slice(0, 11)}`;
  qg = (portId: string) => `qg-${portId.slice(0, 11)}`;
  dhcpNs = (networkId: string) => `${this.o.prefix}qdhcp-${networkId}`;
  routerNs = (routerId: string) => `${this.o.prefix}qrouter-${routerId}`;
  dhcpDir = (networkId: string) => join(this.o.stateDir, `${this.o.prefix}dhcp-${networkId}`);
  mdDir = (kind: 'net' | 'router', id: string) => join(this.o.stateDir, `${this.o.prefix}md-${kind}-${id}`);
  fwStateFile = () => join(this.o.stateDir, `${this.o.prefix}firewall.json`);
  /** Root-namespace end of the external veth: the prefix plus 'ext' when that fits, else a hash of the prefix. */
  extRoot(): string {
    const n = `${this.o.prefix}ext`;
    return n.length <= 15 ? n : `nx${createHash('sha256').update(this.o.prefix).digest('hex').slice(0, 8)}ext`;
  }
  /** Its peer in the host namespace, plugged into the external bridge. */
  readonly extPeer = 'ext-uplink';
}

export interface Ctx {
  o: LinuxDriverOptions; n: Names; log: Logger; hostNs: string;
  /** Failures of single servers/routers during one apply: the rest still converges, then apply() rejects with them. */
  errors: string[];
  /** Per router: floating address → what it last pointed to (to cut flows of changed mappings). */
  nat: Map<string, Map<string, string>>;
  /** What this driver last built per DHCP server / router (see `unchanged`). */
  built: Map<string, { sig: string; at: number }>;
}

/**
 * Each DHCP server and router takes a dozen commands to check; one whose desired state has
 * not changed since this driver built it, whose namespace and host-side legs still exist, is
 * skipped — except every few minutes, when everything is checked again (drift repair). A new
 * driver (an agent restart) checks everything.
 */
const RECHECK_MS = 5 * 60_000;
export function unchanged(c: Ctx, id: string, sig: string, ns: string, hostLegs: string[], hostLinks: Map<string, unknown>, namespaces: Set<string>): boolean {
  const b = c.built.get(id);
  return !!b && b.sig === sig && Date.now() - b.at < RECHECK_MS && namespaces.has(ns) && hostLegs.every((l) => hostLinks.has(l));
}
export const remember = (c: Ctx, id: string, sig: string) => {
  const prev = c.built.get(id);
  c.built.set(id, { sig, at: prev?.sig === sig ? prev.at : Date.now() });
};
