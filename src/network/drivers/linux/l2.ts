import type { HostDataplane, L2Network } from '../driver.js';
import type { Ctx } from './context.js';
import { ensureNamespace, inNs, ip, isAddr, isCidr, links, sh, trySh, tryIp, type Link } from './exec.js';

/** The host namespace: bridges (one per network), VXLAN devices with their flood lists, instance taps, the external uplink. */

export async function ensureHostNamespace(c: Ctx): Promise<void> {
  await ensureNamespace(c.hostNs);
  // Bridged traffic must pass the inet forward hook for the stateful security-group rules (per netns sysctl).
  for (const k of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables']) {
    await inNs(c.hostNs, 'sysctl', ['-qw', `net.bridge.${k}=1`]).catch((e) => c.log.warn({ err: String(e) }, `sysctl ${k} failed`));
  }
}

async function setPortOnBridge(c: Ctx, dev: string, bridge: string, mtu: number, up: boolean, have?: Link): Promise<void> {
  if (!have || have.master !== bridge) await ip(c.hostNs, 'link', 'set', dev, 'master', bridge);
  if (!have || have.mtu !== mtu) await tryIp(c.hostNs, 'link', 'set', dev, 'mtu', String(mtu));
  if (!have || have.up !== up) await ip(c.hostNs, 'link', 'set', dev, up ? 'up' : 'down');
}

export async function syncNetworks(c: Ctx, d: HostDataplane, hostLinks: Map<string, Link>): Promise<Set<string>> {
  const keep = new Set<string>();
  for (const net of d.networks) {
    const br = c.n.bridge(net.id);
    keep.add(br);
    if (!hostLinks.has(br)) {
      await ip(c.hostNs, 'link', 'add', br, 'type', 'bridge');
      await ip(c.hostNs, 'link', 'set', br, 'up');
    } else if (!hostLinks.get(br)!.up) await ip(c.hostNs, 'link', 'set', br, 'up');
    if (net.vni !== null && c.o.underlay) keep.add(await syncVxlan(c, net, br, hostLinks));
    if (net.external && c.o.external) keep.add(await syncExternal(c, br, hostLinks));
  }
  return keep;
}

async function syncVxlan(c: Ctx, net: L2Network, br: string, hostLinks: Map<string, Link>): Promise<string> {
  const dev = c.n.vxlan(net.vni!);
  const u = c.o.underlay!;
  if (!hostLinks.has(dev)) {
    await ip(c.hostNs, 'link', 'add', dev, 'type', 'vxlan', 'id', String(net.vni), 'local', u.localIp,
      ...(u.device ? ['dev', u.device] : []), 'dstport', '4789');
  }
  await setPortOnBridge(c, dev, br, net.mtu, true, hostLinks.get(dev));
  // Flood list (l2pop style): one all-zero fdb entry per peer; MACs are learned.
  const fdb = JSON.parse((await sh('bridge', ['-n', c.hostNs, '-j', 'fdb', 'show', 'dev', dev])) || '[]') as Array<Record<string, any>>;
  const have = new Set(fdb.filter((e) => e.mac === '00:00:00:00:00:00' && e.dst).map((e) => e.dst as string));
  const want = new Set(net.peers.filter(isAddr));
  for (const p of have) if (!want.has(p)) await trySh('bridge', ['-n', c.hostNs, 'fdb', 'del', '00:00:00:00:00:00', 'dev', dev, 'dst', p]);
  for (const p of want) if (!have.has(p)) await sh('bridge', ['-n', c.hostNs, 'fdb', 'append', '00:00:00:00:00:00', 'dev', dev, 'dst', p]);
  return dev;
}

async function syncExternal(c: Ctx, br: string, hostLinks: Map<string, Link>): Promise<string> {
  const ext = c.o.external!;
  const root = c.n.extRoot();
  const peer = c.n.extPeer;
  const rootLinks = await links(null);
  if (!hostLinks.has(peer) || !rootLinks.has(root)) {
    await tryIp(null, 'link', 'del', root);
    await tryIp(c.hostNs, 'link', 'del', peer);
    await ip(null, 'link', 'add', root, 'type', 'veth', 'peer', 'name', peer, 'netns', c.hostNs);
  }
  await setPortOnBridge(c, peer, br, hostLinks.get(peer)?.mtu ?? 1500, true, hostLinks.get(peer));
  const addr = ext.hostAddress.includes('/') ? ext.hostAddress : `${ext.hostAddress}/${ext.cidr.split('/')[1]}`;
  if (!isCidr(addr)) throw new Error(`external.hostAddress ${ext.hostAddress} is not an address`);
  const out = JSON.parse((await ip(null, '-j', 'addr', 'show', 'dev', root)) || '[]') as Array<Record<string, any>>;
  const have = (out[0]?.addr_info ?? []).filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`);
  if (!have.includes(addr)) await ip(null, 'addr', 'add', addr, 'dev', root);
  await ip(null, 'link', 'set', root, 'up');
  return peer;
}

/** Removes the root-namespace end of the external veth (its peer goes with it). */
export async function removeExternal(c: Ctx): Promise<void> {
  if ((await links(null)).has(c.n.extRoot())) await tryIp(null, 'link', 'del', c.n.extRoot());
}

/**
 * Instance taps: created when missing (QEMU opens them by name later); an existing interface of that
 * name (a tap QEMU holds, or a veth a test made) is only put on the bridge and brought up.
 */
export async function syncPorts(c: Ctx, d: HostDataplane, hostLinks: Map<string, Link>): Promise<Set<string>> {
  const keep = new Set<string>();
  const mtu = new Map(d.networks.map((n) => [n.id, n.mtu]));
  for (const p of d.ports) {
    if (!mtu.has(p.networkId)) { c.log.warn({ port: p.id, network: p.networkId }, 'port on a network this host does not carry: skipped'); continue; }
    keep.add(p.tap);
    if (!hostLinks.has(p.tap)) await ip(c.hostNs, 'tuntap', 'add', 'dev', p.tap, 'mode', 'tap');
    await setPortOnBridge(c, p.tap, c.n.bridge(p.networkId), mtu.get(p.networkId)!, p.adminUp, hostLinks.get(p.tap));
  }
  return keep;
}

/** Host-namespace devices this driver manages by name pattern; any not in `keep` is stale. */
export async function removeStaleHostLinks(c: Ctx, keep: Set<string>): Promise<void> {
  for (const [name, l] of await links(c.hostNs)) {
    const ours = (name.startsWith('brq') && l.kind === 'bridge') || (name.startsWith('vxlan-') && l.kind === 'vxlan')
      || (name.startsWith('tap') && (l.kind === 'tun' || l.kind === 'veth')) || name === c.n.extPeer;
    if (ours && !keep.has(name)) {
      c.log.info({ dev: name }, 'removing stale device');
      await tryIp(c.hostNs, 'link', 'del', name);
    }
  }
}
