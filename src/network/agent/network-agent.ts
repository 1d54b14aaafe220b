/**
 * The dataplane agent of one process: registers its hosts (Neutron's agent rows, with
 * heartbeats), and whenever the API says something changed — and periodically, and once at
 * start — reads the desired state of its hosts and has the driver make Linux match it.
 * Starting over from the database is what makes a restarted agent reconcile.
 */
import { randomUUID } from 'node:crypto';
import type { Subscription } from '../../core/bus/bus.js';
import { toJson } from '../../core/db/database.js';
import type { DataplaneDriver } from '../drivers/driver.js';
import { neutronNow, type NetworkContext } from '../service/context.js';
import { AGENT_TYPES, desiredState } from './desired-state.js';

export const NETWORK_AGENT_TOPIC = 'network-agent';
const HEARTBEAT_MS = 30_000;
const RESYNC_MS = 60_000;
/** Changes arrive in bursts (a server's port, its binding, its group): one apply covers them. */
const DEBOUNCE_MS = 50;

export interface NetworkAgentOptions {
  /** The hosts this agent serves; the first is where DHCP and routers run when `networkNode`. */
  hosts: string[];
  networkNode: boolean;
  /** Underlay address for VXLAN (multi-host). */
  tunnelIp?: string;
}

export class NetworkAgent {
  private sub?: Subscription;
  private timers: NodeJS.Timeout[] = [];
  private debounce?: NodeJS.Timeout;
  private running?: Promise<void>;
  private dirty = false;
  private stopped = false;
  /** Resolved after each completed apply (waiters for "the dataplane has my port"). */
  private applied: (() => void)[] = [];
  /** Errors of the last apply, for logs and tests. */
  lastError?: unknown;

  constructor(private readonly c: NetworkContext, readonly driver: DataplaneDriver, readonly opts: NetworkAgentOptions) {}

  async start(): Promise<void> {
    await this.register();
    this.sub = await this.c.bus.serve({ topic: NETWORK_AGENT_TOPIC, server: this.opts.hosts[0] }, {
      changed: () => { this.schedule(); },
    });
    await this.syncNow();
    this.timers.push(setInterval(() => { this.beat().catch((e: unknown) => this.c.logger.warn({ err: e }, 'network agent heartbeat failed')); }, HEARTBEAT_MS));
    this.timers.push(setInterval(() => this.schedule(), RESYNC_MS));
    for (const t of this.timers) t.unref();
  }

  /** Agent rows per host (Neutron's agents API lists them); DHCP/L3/metadata only on the network node. */
  private async register(): Promise<void> {
    const now = neutronNow();
    for (const [i, host] of this.opts.hosts.entries()) {
      const kinds = [AGENT_TYPES.l2, ...(this.opts.networkNode && i === 0 ? [AGENT_TYPES.dhcp, AGENT_TYPES.l3, AGENT_TYPES.metadata] : [])];
      for (const k of kinds) {
        const configurations = toJson(k === AGENT_TYPES.l2 ? { tunnel_types: ['vxlan'], tunneling_ip: this.opts.tunnelIp ?? null, driver: this.driver.constructor.name } : {});
        const existing = await this.c.db.selectFrom('agent').select('id').where('agent_type', '=', k.type).where('host', '=', host).executeTakeFirst();
        if (existing) {
          await this.c.db.updateTable('agent').set({ started_at: now, heartbeat_timestamp: now, configurations, tunnel_ip: this.opts.tunnelIp ?? null })
            .where('id', '=', existing.id).execute();
        } else {
          await this.c.db.insertInto('agent').values({
            id: randomUUID(), agent_type: k.type, binary: k.binary, host, topic: k.topic, availability_zone: k === AGENT_TYPES.l2 ? null : 'nova',
            admin_state_up: 1, configurations, description: null, created_at: now, started_at: now, heartbeat_timestamp: now, tunnel_ip: this.opts.tunnelIp ?? null,
          }).execute();
        }
      }
    }
  }

  private async beat(): Promise<void> {
    await this.c.db.updateTable('agent').set({ heartbeat_timestamp: neutronNow() }).where('host', 'in', this.opts.hosts).execute();
  }

  /** Asks for an apply soon; bursts of changes coalesce into one. */
  schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => { void this.syncNow().catch(() => undefined); }, DEBOUNCE_MS);
  }

  /** Applies the desired state now (or right after the apply in progress); resolves when done. */
  async syncNow(): Promise<void> {
    if (this.running) {
      this.dirty = true;
      return new Promise<void>((resolve) => this.applied.push(resolve));
    }
    this.running = (async () => {
      do {
        this.dirty = false;
        const waiters = this.applied.splice(0);
        try {
          const state = await desiredState(this.c.db, this.opts.hosts);
          await this.driver.apply(state);
          await this.markActive(state.ports.map((p) => p.id));
          this.lastError = undefined;
        } catch (e) {
          this.lastError = e;
          this.c.logger.error({ err: e }, 'dataplane apply failed; retrying on the next change or resync');
        }
        for (const w of waiters) w();
      } while (this.dirty && !this.stopped);
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /** Ports wired on this host become ACTIVE (Neutron: the L2 agent reports the device up). */
  private async markActive(portIds: string[]): Promise<void> {
    for (let i = 0; i < portIds.length; i += 500) {
      await this.c.db.updateTable('port').set({ status: 'ACTIVE' }).where('id', 'in', portIds.slice(i, i + 500)).where('status', '!=', 'ACTIVE').execute();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.debounce);
    for (const t of this.timers) clearInterval(t);
    await this.sub?.close();
    await this.running;
  }
}
