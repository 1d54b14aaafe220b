/**
 * A simulated underlay for several "hosts" on one machine (each host is a network namespace):
 * one namespace holding a bridge, and a veth from it into each host namespace with the host's
 * tunnel address. VXLAN between the hosts then runs over it exactly as between machines.
 * Idempotent: it only adds what is missing.
 */
import { deleteNamespace, ensureNamespace, ip, links, tryIp } from './exec.js';

const BRIDGE = 'br-underlay';
/** The underlay device inside each host namespace (the driver's `underlay.device`). */
export const UNDERLAY_DEVICE = 'ul0';

export async function ensureSimulatedUnderlay(namespace: string, hosts: { ns: string; ip: string; prefixlen: number }[]): Promise<void> {
  await ensureNamespace(namespace);
  let have = await links(namespace);
  if (!have.has(BRIDGE)) await ip(namespace, 'link', 'add', BRIDGE, 'type', 'bridge');
  await ip(namespace, 'link', 'set', BRIDGE, 'up');
  for (const [i, h] of hosts.entries()) {
    await ensureNamespace(h.ns);
    const outer = `ul-h${i + 1}`;
    have = await links(namespace);
    const inner = await links(h.ns);
    if (!have.has(outer) || !inner.has(UNDERLAY_DEVICE)) {
      await tryIp(namespace, 'link', 'del', outer);
      await tryIp(h.ns, 'link', 'del', UNDERLAY_DEVICE);
      await ip(namespace, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', UNDERLAY_DEVICE, 'netns', h.ns);
    }
    await ip(namespace, 'link', 'set', outer, 'master', BRIDGE, 'up');
    await tryIp(h.ns, 'addr', 'add', `${h.ip}/${h.prefixlen}`, 'dev', UNDERLAY_DEVICE);
    await ip(h.ns, 'link', 'set', UNDERLAY_DEVICE, 'up');
  }
}

export const removeSimulatedUnderlay = (namespace: string) => deleteNamespace(namespace);
