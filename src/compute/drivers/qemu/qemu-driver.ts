import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { detectAccel } from '../../../core/host/accel.js';
import { GuestNotFound, type ComputeDriver, type GuestInfo, type HostResources, type InstanceSpec, type LocalImage, type MigrationSource, type PowerState, type Vif } from '../driver.js';
import { qemuArgs, shellQuote, type LaunchOptions } from './cmdline.js';
import { attachNic, detachNic } from './hotplug.js';
import { createOverlay, flattenToQcow2 } from './disk.js';
import { hostResourcesOf, qemuVersion } from './host-resources.js';
import { guestPaths, loadRuntime, loadSpec, saveRuntime, saveSpec, type GuestPaths, type Runtime } from './guest-dir.js';
import { installForwarder } from './metadata-forward.js';
import { freePort, pidAlive, portFree, readPid, runDaemonizing, sleep, waitGone } from './proc.js';
import { awaitIncoming, listenIncoming, streamOut, type MigrateInfo } from './migration.js';
import { cleanupMigratedOut, removeEmptySourceDir, takeOverConsole, takeOverDisk } from './guest-move.js';
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
  /** The address an incoming live migration listens on (default 127.0.0.1: both agents on one machine). */
  migrationAddress?: string;
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
    return hostResourcesOf(this.stateDir, await (this.version ??= qemuVersion()));
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
      // a disk kept outside the directory is this guest's own, except the source's disk of a
      // migration that has not come in yet
      const rt = loadRuntime(p);
      if (rt.diskPath && !rt.incoming) rmSync(rt.diskPath, { force: true });
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
    return { powerState, ...(rt.sshPort ? { sshPort: rt.sshPort } : {}), ...(powerState === 'running' || powerState === 'paused' ? { vncSocket: p.vnc } : {}) };
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
      const disk = this.diskOf(p);
      if (!existsSync(disk)) throw new Error(`guest ${uuid} has no root disk to snapshot`);
      mkdirSync(destDir, { recursive: true });
      const dest = join(resolve(destDir), `${uuid}-${Date.now()}.qcow2`);
      const wasRunning = pidAlive(readPid(p.pid), p.dir) && (await this.status(p).catch(() => '')) === 'running';
      if (wasRunning) await qmpExecute(p.qmp, 'stop');
      try {
        await flattenToQcow2(disk, dest);
      } finally {
        if (wasRunning) await qmpExecute(p.qmp, 'cont');
      }
      return { path: dest, format: 'qcow2' };
    });
  }

  async injectNmi(uuid: string): Promise<void> {
    await qmpExecute(this.running(uuid).qmp, 'inject-nmi');
  }

  /** Rescue: the guest boots a fresh overlay of `image`, its own disk attached second (/dev/vdb). */
  rescue(spec: InstanceSpec, image: LocalImage): Promise<GuestInfo> {
    return this.locked(spec.uuid, async () => {
      const p = this.existing(spec.uuid);
      await this.hardStop(p);
      const rescueDisk = join(p.dir, 'rescue-disk');
      rmSync(rescueDisk, { force: true });
      await createOverlay(rescueDisk, image, spec.rootGb);
      const rspec: InstanceSpec = { ...spec, root: image, extraDisks: [this.diskOf(p)] };
      await this.launch(rspec, p, { accel: await this.accelFor(spec), diskPath: rescueDisk });
      this.log.info({ uuid: spec.uuid }, 'qemu guest rescued');
      return this.info(spec.uuid);
    });
  }

  unrescue(spec: InstanceSpec): Promise<GuestInfo> {
    return this.locked(spec.uuid, async () => {
      const p = this.existing(spec.uuid);
      await this.hardStop(p);
      rmSync(join(p.dir, 'rescue-disk'), { force: true });
      const rt = loadRuntime(p);
      delete rt.diskPath;
      saveRuntime(p, rt);
      saveSpec(p, spec);
      return this.start(spec, p);
    });
  }

  // --- live migration over shared storage
  //
  // Destination: prepareIncoming starts the same machine (same command-line builder) paused with
  // `-incoming defer` on the SOURCE's disk file, then QMP migrate-incoming tcp:<addr>:0 (the kernel
  // picks the port, so no race) and query-migrate tells the port. Both qemus have the disk open;
  // QEMU's defaults handle that: an incoming qemu keeps its images inactive and takes no write
  // lock until the source has flushed and released them at the switch-over.
  // Source: migrateOut runs QMP migrate, waits for `completed`, quits its qemu and removes its
  // directory except the disk and the console log (the destination takes those over).
  // Destination: finishIncoming waits for the state, resumes the guest if it is paused, renames
  // the disk into its own directory (the running qemu keeps its open file) and appends the source's
  // console log to its own.

  /** Destination: a paused qemu waiting for the guest's state, on the source's disk file. */
  prepareIncoming(spec: InstanceSpec, source: MigrationSource): Promise<{ uri: string }> {
    return this.locked(spec.uuid, async () => {
      const p = this.paths(spec.uuid);
      const src = resolve(source.diskPath);
      if (src === p.disk) throw new Error(`guest ${spec.uuid}: the migration source is this host's own guest directory`);
      let rt = loadRuntime(p);
      if (existsSync(p.spec) && !rt.incoming) throw new Error(`guest ${spec.uuid} is already on this host`);
      if (existsSync(p.disk)) throw new Error(`guest ${spec.uuid}: ${p.disk} exists (a disk this host must not overwrite)`);
      if (!(rt.incoming && pidAlive(readPid(p.pid), p.dir))) {
        // a fresh start (or a repeat whose qemu died: start over)
        if (spec.root && !existsSync(src)) throw new Error(`guest ${spec.uuid}: the source's disk ${src} is not visible on this host`);
        rmSync(p.dir, { recursive: true, force: true });
        mkdirSync(p.dir, { recursive: true });
        saveSpec(p, spec);
        // the console log continues the source's (the rest is appended by finishIncoming)
        const srcConsole = join(dirname(src), 'console.log');
        let consoleOffset = 0;
        if (existsSync(srcConsole)) {
          copyFileSync(srcConsole, p.console);
          consoleOffset = statSync(p.console).size;
        }
        const incoming = { uri: '', sourceDisk: src, consoleOffset };
        // marked incoming before qemu runs: abortIncoming then knows this directory is disposable
        saveRuntime(p, { incoming });
        try {
          const accel = await this.accelFor(spec);
          rt = await this.launch(spec, p, { accel, incomingDefer: true, ...(spec.root ? { diskPath: src } : {}) }, { incoming });
        } catch (e) {
          rmSync(p.dir, { recursive: true, force: true });
          throw e;
        }
      }
      if (rt.incoming!.uri) return { uri: rt.incoming!.uri };
      const c = await QmpClient.connect(p.qmp);
      let uri: string;
      try {
        uri = await listenIncoming(c, spec.uuid, this.opts.migrationAddress ?? '127.0.0.1');
      } finally {
        c.close();
      }
      saveRuntime(p, { ...rt, incoming: { ...rt.incoming!, uri } });
      this.log.info({ uuid: spec.uuid, uri, sourceDisk: src }, 'qemu guest waits for an incoming migration');
      return { uri };
    });
  }

  /** Source: QMP migrate to `uri`, wait for completion, quit, remove the directory except the disk. */
  migrateOut(uuid: string, uri: string): Promise<void> {
    return this.locked(uuid, async () => {
      const p = this.paths(uuid);
      if (!existsSync(p.spec)) {
        // spec.json goes first once migrated: a repeat only finishes the clean-up
        if (!existsSync(p.dir)) throw new GuestNotFound(uuid);
        cleanupMigratedOut(p);
        return;
      }
      const pid = readPid(p.pid);
      if (!pidAlive(pid, p.dir)) throw new Error(`guest ${uuid} is not running`);
      const t0 = Date.now();
      let done: MigrateInfo = {};
      const c = await QmpClient.connect(p.qmp);
      try {
        done = await streamOut(c, uuid, uri);
      } finally {
        c.close();
      }
      await this.hardStop(p);
      rmSync(p.spec, { force: true });
      cleanupMigratedOut(p);
      this.log.info({
        uuid, uri, ms: Date.now() - t0, totalTimeMs: done['total-time'], downtimeMs: done.downtime, setupMs: done['setup-time'],
        transferredBytes: done.ram?.transferred,
      }, 'qemu guest migrated out');
    });
  }

  /** Destination: wait for the state, resume, take the disk (and the console log) over. */
  finishIncoming(uuid: string, source: MigrationSource): Promise<GuestInfo> {
    return this.locked(uuid, async () => {
      const p = this.existing(uuid);
      const rt = loadRuntime(p);
      if (!rt.incoming) return this.info(uuid); // finished already
      const spec = loadSpec(p);
      const pid = readPid(p.pid);
      const gone = () => new Error(`incoming migration of ${uuid} failed: the destination qemu has exited (see the source's error)`);
      if (!pidAlive(pid, p.dir)) throw gone();
      try {
        const c = await QmpClient.connect(p.qmp);
        try {
          await awaitIncoming(c, uuid);
        } finally {
          c.close();
        }
      } catch (e) {
        if (!(await waitGone(pid!, p.dir, 500))) throw e;
        throw gone();
      }
      const src = rt.incoming.sourceDisk || resolve(source.diskPath);
      let diskPath: string | undefined;
      if (spec?.root) {
        if (existsSync(src)) {
          try {
            // same filesystem: the running qemu keeps its open file under the new name
            renameSync(src, p.disk);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
            diskPath = src; // another filesystem: the disk stays where it is, recorded in runtime.json
          }
        } else if (!existsSync(p.disk)) {
          throw new Error(`incoming migration of ${uuid}: the disk ${src} has disappeared`);
        }
      }
      // the console log: the source's lines written since prepareIncoming
      takeOverConsole(dirname(src), p, rt.incoming.consoleOffset);
      removeEmptySourceDir(dirname(src), p, uuid);
      saveRuntime(p, { ...(rt.sshPort ? { sshPort: rt.sshPort } : {}), ...(rt.accel ? { accel: rt.accel } : {}), ...(diskPath ? { diskPath } : {}) });
      this.log.info({ uuid, disk: diskPath ?? p.disk }, 'qemu guest migrated in');
      return this.info(uuid);
    });
  }

  /** Destination: stop the waiting qemu and remove its directory (the source's disk is not in it). */
  abortIncoming(uuid: string): Promise<void> {
    return this.locked(uuid, async () => {
      const p = this.paths(uuid);
      if (!existsSync(p.dir)) return;
      const rt = loadRuntime(p);
      if (!rt.incoming) throw new Error(`guest ${uuid} is not an incoming migration on this host (finished already?); destroy it instead`);
      if (existsSync(p.disk)) throw new Error(`guest ${uuid}: its disk has already moved to this host (${p.disk}); not removing it`);
      await this.hardStop(p);
      rmSync(p.dir, { recursive: true, force: true });
      this.log.info({ uuid }, 'incoming migration aborted');
    });
  }

  /**
   * Cold migration (and resize) between hosts that see the same storage: the guest is stopped on
   * the source; its disk (the qcow2 overlay on the shared base image) and console log are moved
   * into this host's guest directory, so starting it here boots the same disk. Idempotent: a
   * repeat after the disk has moved only rewrites the spec.
   */
  moveIn(spec: InstanceSpec, source: MigrationSource): Promise<void> {
    return this.locked(spec.uuid, async () => {
      const p = this.paths(spec.uuid);
      const src = resolve(source.diskPath);
      if (src === p.disk || src === loadRuntime(p).diskPath) return;
      if (pidAlive(readPid(p.pid), p.dir)) throw new Error(`guest ${spec.uuid} already runs on this host`);
      const srcDir = dirname(src);
      const srcPid = join(srcDir, basename(p.pid));
      if (existsSync(srcPid) && pidAlive(readPid(srcPid), srcDir)) throw new Error(`guest ${spec.uuid} still runs on the source (${srcDir})`);
      mkdirSync(p.dir, { recursive: true });
      if (spec.root) takeOverDisk(spec.uuid, src, p);
      takeOverConsole(srcDir, p);
      saveRuntime(p, {});
      saveSpec(p, spec);
      this.log.info({ uuid: spec.uuid, from: src, disk: p.disk }, 'qemu guest moved in (cold migration)');
    });
  }

  async migrationSource(uuid: string): Promise<MigrationSource> {
    return { diskPath: this.diskOf(this.existing(uuid)) };
  }

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

  /** The root disk's file: <dir>/disk unless runtime.json says otherwise. */
  private diskOf(p: GuestPaths): string {
    return loadRuntime(p).diskPath ?? p.disk;
  }

  /** os-interface hot-plug (hotplug.ts). */
  attachInterface(uuid: string, vif: Vif): Promise<void> {
    return this.locked(uuid, () => attachNic(this.existing(uuid), vif, this.log));
  }
  detachInterface(uuid: string, portId: string): Promise<void> {
    return this.locked(uuid, () => detachNic(this.paths(uuid), portId, this.log));
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
    const rt = loadRuntime(p);
    // a qemu waiting for a migration (or one that died waiting): only finish/abortIncoming know what to do
    if (rt.incoming) throw new Error(`guest ${spec.uuid} is an unfinished incoming migration (finishIncoming or abortIncoming it)`);
    if (pidAlive(readPid(p.pid), p.dir)) return this.info(spec.uuid);
    const incoming = existsSync(p.state) ? p.state : undefined;
    // a saved state must come back under the accelerator it was saved with
    const accel = (incoming && rt.accel) || (await this.accelFor(spec));
    await this.launch(spec, p, { accel, ...(incoming ? { incoming } : {}), ...(rt.diskPath ? { diskPath: rt.diskPath } : {}) });
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

  /**
   * Runs the guest's qemu (daemonized) and records runtime.json: the forwarded SSH port (kept
   * across restarts while it is free), the accelerator, where the disk is, plus `extra`.
   */
  private async launch(spec: InstanceSpec, p: GuestPaths, o: Omit<LaunchOptions, 'sshPort' | 'forwarder'>, extra: Partial<Runtime> = {}): Promise<Runtime> {
    const rt = loadRuntime(p);
    const wantsSsh = spec.vifs.some((v) => v.kind === 'user');
    for (let attempt = 0; ; attempt++) {
      const sshPort = !wantsSsh ? undefined
        : rt.sshPort && attempt === 0 && (await portFree(rt.sshPort)) ? rt.sshPort : await freePort();
      for (const f of [p.qmp, p.serial, p.vnc, p.pid]) rmSync(f, { force: true });
      const args = qemuArgs(spec, p, { ...o, ...(sshPort ? { sshPort } : {}), forwarder: this.forwarder });
      this.log.debug({ uuid: spec.uuid, args }, 'starting qemu');
      try {
        // taps can only be opened from their own namespace; QEMU's sockets are files, reachable from anywhere
        const netns = spec.vifs.find((v) => v.netns)?.netns;
        if (netns) await runDaemonizing('ip', ['netns', 'exec', netns, QEMU, ...args]);
        else await runDaemonizing(QEMU, args);
      } catch (e) {
        // another process took the port between the check and qemu's bind
        if (sshPort && attempt < 3 && /host forwarding/i.test(String(e))) continue;
        throw e;
      }
      const next: Runtime = { ...(sshPort ? { sshPort } : {}), accel: o.accel, ...(o.diskPath ? { diskPath: o.diskPath } : {}), ...extra };
      saveRuntime(p, next);
      return next;
    }
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
