import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync } from 'node:fs';
import { cpus, networkInterfaces, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { detectAccel } from '../../../core/host/accel.js';
import { GuestNotFound, type ComputeDriver, type GuestInfo, type HostResources, type InstanceSpec, type LocalImage, type MigrationSource, type PowerState } from '../driver.js';
import { qemuArgs, shellQuote } from './cmdline.js';
import { createOverlay, flattenToQcow2 } from './disk.js';
import { guestPaths, loadRuntime, loadSpec, saveRuntime, saveSpec, type GuestPaths } from './guest-dir.js';
import { installForwarder } from './metadata-forward.js';
import { freePort, pidAlive, portFree, readPid, runDaemonizing, runTool, sleep, waitGone } from './proc.js';
import { QmpClient, qmpExecute } from './qmp.js';

/**
 * The real compute driver: one daemonized qemu-system-x86_64 per guest, driven over QMP.
 * All of a guest's state is in <stateDir>/<uuid>/ (see guest-dir.ts), and qemu outlives the
 * agent, so a restarted agent finds its guests by listing that directory.
 */

export interface DriverLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface QemuDriverOptions {
  stateDir: string;
  logger?: DriverLogger;
  /** Skip the accelerator probe (otherwise detectAccel decides, verdict cached in cacheDir). */
  accel?: 'kvm' | 'tcg';
  cacheDir?: string;
}

const QEMU = 'qemu-system-x86_64';
/** How long a soft reboot waits for the guest to power itself off before a hard stop (nova: 60 s). */
const SOFT_REBOOT_TIMEOUT_MS = 60_000;

/** QMP run states -> nova power states. */
function powerStateOf(status: string): PowerState {
  switch (status) {
    case 'running': return 'running';
    case 'shutdown': return 'shutdown';
    case 'internal-error': case 'io-error': case 'guest-panicked': return 'crashed';
    default: return 'paused'; // paused, suspended (guest S3), prelaunch, inmigrate, postmigrate, ...
  }
}

const noLog: DriverLogger = { info() {}, warn() {}, error() {}, debug() {} };

export function createQemuDriver(opts: QemuDriverOptions): ComputeDriver {
  return new QemuDriver(opts);
}

export class QemuDriver implements ComputeDriver {
  readonly type = 'QEMU';
  private readonly stateDir: string;
  private readonly log: DriverLogger;
  private readonly forwarder: string;
  private readonly locks = new Map<string, Promise<unknown>>();
  private accelChoice?: Promise<'kvm' | 'tcg'>;
  private version?: Promise<number>;

  constructor(private readonly opts: QemuDriverOptions) {
    // absolute: qemu -daemonize does chdir("/")
    this.stateDir = resolve(opts.stateDir);
    this.log = opts.logger ?? noLog;
    mkdirSync(this.stateDir, { recursive: true });
    this.forwarder = installForwarder(this.stateDir);
  }

  async hostResources(): Promise<HostResources> {
    const fs = statfsSync(this.stateDir);
    const cpu = cpus();
    return {
      vcpus: cpu.length,
      memoryMb: Math.floor(totalmem() / 2 ** 20),
      diskGb: Math.floor((fs.bavail * fs.bsize) / 2 ** 30),
      hypervisorType: 'QEMU',
      hypervisorVersion: await (this.version ??= qemuVersion()),
      cpuInfo: {
        arch: 'x86_64', model: cpu[0]?.model ?? 'unknown', vendor: /AMD/i.test(cpu[0]?.model ?? '') ? 'AMD' : 'Intel',
        topology: { sockets: 1, cores: cpu.length, threads: 1 }, features: [],
      },
      hostIp: hostIp(),
    };
  }

  spawn(spec: InstanceSpec): Promise<GuestInfo> {
    return this.locked(spec.uuid, async () => {
      const p = this.paths(spec.uuid);
      mkdirSync(p.dir, { recursive: true });
      saveSpec(p, spec);
      if (spec.root && !existsSync(p.disk)) {
        // built aside and renamed, so a repeated spawn never sees half a disk
        rmSync(`${p.disk}.tmp`, { force: true });
        await createOverlay(`${p.disk}.tmp`, spec.root, spec.rootGb);
        renameSync(`${p.disk}.tmp`, p.disk);
      }
      return this.start(spec, p);
    });
  }

  destroy(uuid: string): Promise<void> {
    return this.locked(uuid, async () => {
      const p = this.paths(uuid);
      if (!existsSync(p.dir)) return;
      await this.hardStop(p);
      rmSync(p.dir, { recursive: true, force: true });
      this.log.info({ uuid }, 'qemu guest destroyed');
    });
  }

  powerOff(uuid: string, timeoutS: number): Promise<void> {
    return this.locked(uuid, async () => {
      const p = this.existing(uuid);
      const pid = readPid(p.pid);
      if (!pidAlive(pid, p.dir)) return;
      if (timeoutS > 0 && (await this.status(p).catch(() => '')) === 'running') {
        try {
          await qmpExecute(p.qmp, 'system_powerdown');
          if (await waitGone(pid!, p.dir, timeoutS * 1000)) return;
          this.log.warn({ uuid, timeoutS }, 'guest ignored the ACPI power button; stopping it');
        } catch (e) {
          this.log.warn({ uuid, err: String(e) }, 'system_powerdown failed; stopping the guest');
        }
      }
      await this.hardStop(p);
    });
  }

  powerOn(spec: InstanceSpec): Promise<GuestInfo> {
    return this.locked(spec.uuid, async () => {
      const p = this.existing(spec.uuid);
      saveSpec(p, spec);
      return this.start(spec, p);
    });
  }

  /** Soft: ACPI power-off, then start again (hard stop after 60 s). Hard: stop at once and
   *  start from the given spec (like nova's hard reboot, picks up a changed spec). */
  reboot(spec: InstanceSpec, hard: boolean): Promise<GuestInfo> {
    return this.locked(spec.uuid, async () => {
      const p = this.existing(spec.uuid);
      saveSpec(p, spec);
      const pid = readPid(p.pid);
      if (!hard && pidAlive(pid, p.dir) && (await this.status(p).catch(() => '')) === 'running') {
        try {
          await qmpExecute(p.qmp, 'system_powerdown');
          if (!(await waitGone(pid!, p.dir, SOFT_REBOOT_TIMEOUT_MS))) this.log.warn({ uuid: spec.uuid }, 'soft reboot timed out; hard stop');
        } catch (e) {
          this.log.warn({ uuid: spec.uuid, err: String(e) }, 'system_powerdown failed; hard stop');
        }
      }
      await this.hardStop(p);
      return this.start(spec, p);
    });
  }

  pause(uuid: string): Promise<void> {
    return this.locked(uuid, async () => { await qmpExecute(this.running(uuid).qmp, 'stop'); });
  }

  unpause(uuid: string): Promise<void> {
    return this.locked(uuid, async () => { await qmpExecute(this.running(uuid).qmp, 'cont'); });
  }

  /** Saves memory and device state to <dir>/state (QMP migrate to "exec:cat"), then quits. */
  suspend(uuid: string): Promise<void> {
    return this.locked(uuid, async () => {
      const p = this.existing(uuid);
      const pid = readPid(p.pid);
      if (!pidAlive(pid, p.dir)) {
        if (existsSync(p.state)) return;
        throw new Error(`guest ${uuid} is not running`);
      }
      rmSync(p.state, { force: true });
      const c = await QmpClient.connect(p.qmp);
      try {
        await c.execute('stop');
        await c.execute('migrate-set-parameters', { 'max-bandwidth': 10 * 2 ** 30 });
        // the state file appears only once cat has written all of it
        const tmp = shellQuote(`${p.state}.tmp`);
        await c.execute('migrate', { uri: `exec:cat > ${tmp} && mv ${tmp} ${shellQuote(p.state)}` });
        for (const deadline = Date.now() + 120_000; ;) {
          const m = await c.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
          if (m.status === 'completed') break;
          if (m.status === 'failed' || m.status === 'cancelled' || Date.now() > deadline) {
            await c.execute('cont').catch(() => undefined);
            throw new Error(`suspend of ${uuid}: migration ${m.status}${m['error-desc'] ? `: ${m['error-desc']}` : ''}`);
          }
          await sleep(100);
        }
      } finally {
        c.close();
      }
      for (const deadline = Date.now() + 30_000; !existsSync(p.state); await sleep(100)) {
        if (Date.now() > deadline) throw new Error(`suspend of ${uuid}: the state file was not written`);
      }
      await this.hardStop(p);
      this.log.info({ uuid }, 'qemu guest suspended');
    });
  }

  resume(spec: InstanceSpec): Promise<GuestInfo> {
    return this.locked(spec.uuid, async () => this.start(spec, this.existing(spec.uuid)));
  }

  async info(uuid: string): Promise<GuestInfo> {
    const p = this.existing(uuid);
    const rt = loadRuntime(p);
    let powerState: PowerState;
    if (pidAlive(readPid(p.pid), p.dir)) {
      const s = await this.status(p).catch(() => undefined);
      powerState = s ? powerStateOf(s) : 'nostate';
    } else {
      powerState = existsSync(p.state) ? 'suspended' : 'shutdown';
    }
    return { powerState, ...(rt.sshPort ? { sshPort: rt.sshPort } : {}) };
  }

  async listGuests(): Promise<string[]> {
    return readdirSync(this.stateDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(this.stateDir, d.name, 'spec.json')))
      .map((d) => d.name);
  }

  async consoleOutput(uuid: string, lines?: number): Promise<string> {
    const p = this.existing(uuid);
    const text = existsSync(p.console) ? readFileSync(p.console, 'utf8') : '';
    if (!lines || lines <= 0) return text;
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-lines).join('\n');
  }

  /**
   * A flattened qcow2 of the root disk. A running guest is paused for the copy: QMP stop
   * drains and flushes its disks, so `qemu-img convert -U` reads a consistent image.
   */
  snapshot(uuid: string, destDir: string): Promise<LocalImage> {
    return this.locked(uuid, async () => {
      const p = this.existing(uuid);
      if (!existsSync(p.disk)) throw new Error(`guest ${uuid} has no root disk to snapshot`);
      mkdirSync(destDir, { recursive: true });
      const dest = join(resolve(destDir), `${uuid}-${Date.now()}.qcow2`);
      const wasRunning = pidAlive(readPid(p.pid), p.dir) && (await this.status(p).catch(() => '')) === 'running';
      if (wasRunning) await qmpExecute(p.qmp, 'stop');
      try {
        await flattenToQcow2(p.disk, dest);
      } finally {
        if (wasRunning) await qmpExecute(p.qmp, 'cont');
      }
      return { path: dest, format: 'qcow2' };
    });
  }

  // Live migration: being written (placeholders so the tree builds).
  async prepareIncoming(): Promise<{ uri: string }> { throw new Error('live migration is not implemented in the qemu driver yet'); }
  async migrateOut(): Promise<void> { throw new Error('live migration is not implemented in the qemu driver yet'); }
  async finishIncoming(): Promise<GuestInfo> { throw new Error('live migration is not implemented in the qemu driver yet'); }
  async abortIncoming(): Promise<void> {}
  async migrationSource(): Promise<MigrationSource> { throw new Error('live migration is not implemented in the qemu driver yet'); }

  async close(): Promise<void> {
    // guests keep running: the next agent finds them in stateDir
    await Promise.allSettled([...this.locks.values()]);
  }

  // --- internals

  private paths(uuid: string): GuestPaths {
    if (!/^[A-Za-z0-9._-]+$/.test(uuid) || uuid.startsWith('.')) throw new GuestNotFound(uuid);
    return guestPaths(this.stateDir, uuid);
  }

  private existing(uuid: string): GuestPaths {
    const p = this.paths(uuid);
    if (!existsSync(p.spec)) throw new GuestNotFound(uuid);
    return p;
  }

  private running(uuid: string): GuestPaths {
    const p = this.existing(uuid);
    if (!pidAlive(readPid(p.pid), p.dir)) throw new Error(`guest ${uuid} is not running`);
    return p;
  }

  /** One operation at a time per guest (QMP serves one client; start/stop must not interleave). */
  private locked<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uuid) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.locks.set(uuid, tail);
    void tail.then(() => { if (this.locks.get(uuid) === tail) this.locks.delete(uuid); });
    return next;
  }

  private async status(p: GuestPaths): Promise<string> {
    return (await qmpExecute<{ status: string }>(p.qmp, 'query-status', undefined, 5000)).status;
  }

  private accelFor(spec: InstanceSpec): Promise<'kvm' | 'tcg'> {
    if (this.opts.accel) return Promise.resolve(this.opts.accel);
    // the probe boots a UEC kernel under KVM; without one, KVM stays unverified (TCG)
    const probe = spec.kernel && spec.ramdisk
      ? { kernel: spec.kernel, initrd: spec.ramdisk, ...(this.opts.cacheDir ? { cacheFile: join(this.opts.cacheDir, 'accel.json') } : {}) }
      : undefined;
    const choice = detectAccel(probe).then((v) => {
      this.log.info({ accel: v.accel, reason: v.reason }, 'qemu accelerator');
      return v.accel;
    });
    if (probe) this.accelChoice ??= choice;
    return this.accelChoice ?? choice;
  }

  /** Starts the guest when it is not running: from its state file after a suspend, else a fresh boot. */
  private async start(spec: InstanceSpec, p: GuestPaths): Promise<GuestInfo> {
    if (pidAlive(readPid(p.pid), p.dir)) return this.info(spec.uuid);
    const rt = loadRuntime(p);
    const incoming = existsSync(p.state) ? p.state : undefined;
    // a saved state must come back under the accelerator it was saved with
    const accel = (incoming && rt.accel) || (await this.accelFor(spec));
    const wantsSsh = spec.vifs.some((v) => v.kind === 'user');
    for (let attempt = 0; ; attempt++) {
      // keep the forwarded SSH port across restarts while it is free
      const sshPort = !wantsSsh ? undefined
        : rt.sshPort && attempt === 0 && (await portFree(rt.sshPort)) ? rt.sshPort : await freePort();
      for (const f of [p.qmp, p.serial, p.pid]) rmSync(f, { force: true });
      const args = qemuArgs(spec, p, { accel, sshPort, forwarder: this.forwarder, incoming });
      this.log.debug({ uuid: spec.uuid, args }, 'starting qemu');
      try {
        await runDaemonizing(QEMU, args);
      } catch (e) {
        // another process took the port between the check and qemu's bind
        if (sshPort && attempt < 3 && /host forwarding/i.test(String(e))) continue;
        throw e;
      }
      saveRuntime(p, { ...(sshPort ? { sshPort } : {}), accel });
      break;
    }
    if (incoming) {
      // the state was saved paused; wait for the load to finish, then run
      for (const deadline = Date.now() + 120_000; ;) {
        const s = await this.status(p);
        if (s !== 'inmigrate') break;
        if (Date.now() > deadline) throw new Error(`resume of ${spec.uuid}: state not loaded in 120 s`);
        await sleep(100);
      }
      await qmpExecute(p.qmp, 'cont');
      rmSync(p.state, { force: true });
    }
    this.log.info({ uuid: spec.uuid, accel, resumed: Boolean(incoming) }, 'qemu guest started');
    return this.info(spec.uuid);
  }

  /** QMP quit, then SIGKILL. */
  private async hardStop(p: GuestPaths): Promise<void> {
    const pid = readPid(p.pid);
    if (!pidAlive(pid, p.dir)) return;
    try {
      await qmpExecute(p.qmp, 'quit', undefined, 3000);
      if (await waitGone(pid!, p.dir, 5000)) return;
    } catch { /* kill it */ }
    try {
      process.kill(pid!, 'SIGKILL');
    } catch { /* gone */ }
    if (!(await waitGone(pid!, p.dir, 5000))) throw new Error(`qemu ${pid} for ${p.dir} does not die`);
  }
}

/** `QEMU emulator version 7.2.22 (...)` -> 7002022, as nova encodes it. */
async function qemuVersion(): Promise<number> {
  const out = await runTool(QEMU, ['--version']);
  const m = /version (\d+)\.(\d+)\.(\d+)/.exec(out);
  return m ? Number(m[1]) * 1_000_000 + Number(m[2]) * 1000 + Number(m[3]) : 0;
}

/** The first non-internal IPv4 address, else loopback. */
function hostIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
