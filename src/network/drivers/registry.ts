import { existsSync } from 'node:fs';
import { isRoot, which } from '../../core/host/tools.js';
import type { DataplaneDriver } from './driver.js';
import { createFakeDataplaneDriver } from './fake-driver.js';
import type { LinuxDriverOptions } from './linux/context.js';

export type { LinuxDriverOptions };

/** Host tool → Debian package, for the Linux dataplane. */
const TOOLS: Record<string, string> = {
  ip: 'iproute2', bridge: 'iproute2', nft: 'nftables', dnsmasq: 'dnsmasq-base', haproxy: 'haproxy', conntrack: 'conntrack', sysctl: 'procps',
};

/** Why the Linux dataplane driver cannot run on this machine (empty when it can). */
export function dataplaneProblems(): string[] {
  const p: string[] = [];
  if (!isRoot()) p.push('not root (network namespaces, bridges and nftables need root)');
  const missing = Object.keys(TOOLS).filter((t) => !which(t));
  if (missing.length) p.push(`missing tools: ${missing.join(', ')} (apt-get install ${[...new Set(missing.map((t) => TOOLS[t]))].join(' ')})`);
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    p.push('br_netfilter is not available (modprobe br_netfilter): bridged traffic would bypass the security groups');
  }
  // /proc/sys/net/bridge appears once the bridge code is loaded (or built in); `ip link add type bridge` loads the module.
  if (!existsSync('/sys/module/bridge') && !existsSync('/proc/sys/net/bridge') && !existsSync('/lib/modules')) {
    p.push('the Linux bridge is not available (no bridge module and no module tree to load it from)');
  }
  return p;
}

/** Builds a host's dataplane driver. 'fake' records states and touches nothing. */
export async function createDataplaneDriver(kind: 'linux' | 'fake', opts?: LinuxDriverOptions): Promise<DataplaneDriver> {
  if (kind === 'fake') return createFakeDataplaneDriver();
  if (!opts) throw new Error('the linux dataplane driver needs its options');
  const problems = dataplaneProblems();
  if (problems.length) throw new Error(`the linux dataplane driver cannot run here: ${problems.join('; ')}`);
  const { createLinuxDriver } = await import('./linux/linux-driver.js');
  return createLinuxDriver(opts);
}
