import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DataplaneDriver, HostDataplane } from '../driver.js';
import { Names, type Ctx, type LinuxDriverOptions } from './context.js';
import { removeDhcpDir, syncDhcp } from './dhcp.js';
import { deleteNamespace, links, listNamespaces } from './exec.js';
import { applyFirewall, removeFirewall } from './firewall.js';
import { ensureHostNamespace, removeExternal, removeStaleHostLinks, syncNetworks, syncPorts } from './l2.js';
import { removeMetadataProxy } from './metadata.js';
import { syncRouters } from './router.js';

export type { LinuxDriverOptions };

/**
 * The Linux dataplane (Neutron linuxbridge style): bridges, VXLAN, taps and security groups in the
 * host namespace; dnsmasq + metadata proxy in qdhcp namespaces; routers in qrouter namespaces.
 * apply() reconciles against what exists (namespaces and state directories with the prefix,
 * links in the host namespace, daemons by pid file), so a restarted agent converges too.
 */
export class LinuxDataplaneDriver implements DataplaneDriver {
  readonly tapNamespace: string;
  private readonly c: Ctx;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(o: LinuxDriverOptions) {
    if (!/^[A-Za-z0-9_.-]+$/.test(o.prefix) || !/^[A-Za-z0-9_.-]+$/.test(o.hostNamespace)) throw new Error('prefix and hostNamespace must be plain names');
    this.c = { o, n: new Names(o), log: o.logger, hostNs: o.hostNamespace, errors: [], nat: new Map(), built: new Map() };
    this.tapNamespace = o.hostNamespace;
  }

  /** One operation at a time: applies run in order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  apply(desired: HostDataplane): Promise<void> {
    return this.serial(() => this.reconcile(desired));
  }

  teardown(): Promise<void> {
    return this.serial(() => this.removeAll());
  }

  private stateEntries(): string[] {
    try { return readdirSync(this.c.o.stateDir).filter((f) => f.startsWith(this.c.o.prefix)); } catch { return []; }
  }

  private async reconcile(d: HostDataplane): Promise<void> {
    const c = this.c;
    const t0 = performance.now();
    c.errors = [];
    mkdirSync(c.o.stateDir, { recursive: true });
    await ensureHostNamespace(c);
    // Filter first: a tap must never be up on a bridge before its rules are in place.
    await applyFirewall(c, d);
    let hostLinks = await links(c.hostNs);
    const keep = await syncNetworks(c, d, hostLinks);
    hostLinks = await links(c.hostNs);
    for (const k of await syncPorts(c, d, hostLinks)) keep.add(k);
    const dhcp = await syncDhcp(c, d, hostLinks);
    const routers = await syncRouters(c, d, await links(c.hostNs));
    for (const k of [...dhcp.keepHost, ...routers.keepHost]) keep.add(k);

    // Stale: namespaces, daemons and state directories this driver made that the state no longer holds.
    const keepNs = new Set([...dhcp.keepNs, ...routers.keepNs]);
    const keepDirs = new Set([...dhcp.keepDirs, ...routers.keepDirs, c.n.fwStateFile()]);
    for (const e of this.stateEntries()) {
      const dir = join(c.o.stateDir, e);
      if (keepDirs.has(dir)) continue;
      c.log.info({ dir }, 'removing stale DHCP/metadata server');
      if (e.startsWith(`${c.o.prefix}dhcp-`)) await removeDhcpDir(dir);
      else if (e.startsWith(`${c.o.prefix}md-`)) await removeMetadataProxy(dir);
    }
    for (const ns of listNamespaces()) {
      const mine = ns.startsWith(`${c.o.prefix}qdhcp-`) || ns.startsWith(`${c.o.prefix}qrouter-`);
      if (!mine || keepNs.has(ns)) continue;
      c.log.info({ ns }, 'removing stale namespace');
      await deleteNamespace(ns);
    }
    await removeStaleHostLinks(c, keep);
    if (!d.networks.some((n) => n.external)) await removeExternal(c);
    c.log.debug({ ms: Math.round(performance.now() - t0) }, 'dataplane applied');
    if (c.errors.length) throw new Error(`dataplane partly applied (the next apply retries): ${c.errors.join('; ')}`);
  }

  private async removeAll(): Promise<void> {
    const c = this.c;
    for (const e of this.stateEntries()) {
      const dir = join(c.o.stateDir, e);
      if (e.startsWith(`${c.o.prefix}dhcp-`)) await removeDhcpDir(dir);
      else if (e.startsWith(`${c.o.prefix}md-`)) await removeMetadataProxy(dir);
      else rmSync(dir, { recursive: true, force: true });
    }
    await removeExternal(c);
    if (listNamespaces().includes(c.hostNs)) await removeFirewall(c);
    for (const ns of listNamespaces()) if (ns.startsWith(c.o.prefix) || ns === c.hostNs) await deleteNamespace(ns);
  }
}

export function createLinuxDriver(o: LinuxDriverOptions): LinuxDataplaneDriver {
  return new LinuxDataplaneDriver(o);
}
