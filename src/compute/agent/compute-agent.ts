import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BusArgs, Subscription } from '../../core/bus/bus.js';
import { nowIso } from '../../core/ids.js';
import { GuestNotFound, type AttachedVolume, type ComputeDriver, type GuestInfo, type InstanceSpec, type MigrationSource, type Vif } from '../drivers/driver.js';
import type { InstanceRow } from '../db/schema.js';
import { AGENT_TOPIC, callAgent } from '../rpc/topics.js';
import { setMigration } from '../service/live-migration.js';
import { fromJson, toJson, type ComputeContext } from '../service/context.js';
import { withEvent } from '../service/instance-actions.js';
import { completeVolumeMappings, releaseVolumes } from '../service/volumes.js';
import { COMPUTE_BINARY, heartbeat, registerService } from '../service/hosts.js';
import { createSnapshotImage, rotateBackups } from '../service/snapshots.js';
import { flavorOf } from '../service/servers.js';
import { POWER, powerStateOf, TASK, VM } from '../service/states.js';
import type { ImageCache } from './image-cache.js';
import { instanceSpec } from './instance-spec.js';

/** A cold migration's hand-over (the destination moves the disk in and boots the guest). */
const MOVE_TIMEOUT_MS = 300_000;

export interface AgentOptions {
  /** this agent's files (config drives, snapshots in flight) */
  stateDir: string;
  images?: ImageCache;
  /** Where a guest's metadata requests go (the signed metadata URL of the instance). */
  metadataUrl?: (uuid: string) => string;
  heartbeatMs?: number;
  powerSyncMs?: number;
}

/**
 * The compute agent of one host (nova-compute): registers the host with placement, serves
 * `compute.<host>` on the bus, drives the hypervisor driver through each task and records
 * the states; on start it reconciles what the driver runs with what the database says.
 */
export class ComputeAgent {
  private sub?: Subscription;
  private timers: NodeJS.Timeout[] = [];
  nodeUuid = '';

  constructor(private readonly c: ComputeContext, readonly host: string, readonly driver: ComputeDriver, private readonly opts: AgentOptions) {}

  async start(): Promise<void> {
    mkdirSync(this.opts.stateDir, { recursive: true });
    await this.register();
    await this.reconcile();
    this.sub = await this.c.bus.serve({ topic: AGENT_TOPIC, server: this.host }, this.handlers());
    const every = (ms: number, f: () => Promise<void>) => {
      const t = setInterval(() => void f().catch((e) => this.c.logger.warn({ err: e, host: this.host }, 'periodic task failed')), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.heartbeatMs ?? 10_000, () => this.heartbeat());
    every(this.opts.powerSyncMs ?? 60_000, () => this.syncPowerStates());
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.sub?.close();
  }

  // ---- registration

  private async register(): Promise<void> {
    const { db, config } = this.c;
    const res = await this.driver.hostResources();
    const now = nowIso();
    await registerService(this.c, { host: this.host, binary: COMPUTE_BINARY, topic: AGENT_TOPIC, zone: config.compute.defaultAvailabilityZone });
    const node = await db.selectFrom('compute_node').select('uuid').where('hypervisor_hostname', '=', this.host).executeTakeFirst();
    const values = {
      host: this.host, hypervisor_type: res.hypervisorType, hypervisor_version: res.hypervisorVersion,
      vcpus: res.vcpus, memory_mb: res.memoryMb, local_gb: res.diskGb, host_ip: res.hostIp, cpu_info: toJson(res.cpuInfo), updated_at: now,
    };
    if (node) {
      this.nodeUuid = node.uuid;
      await db.updateTable('compute_node').set(values).where('uuid', '=', node.uuid).execute();
    } else {
      this.nodeUuid = randomUUID();
      await db.transaction().execute(async (trx) => {
        const max = await trx.selectFrom('compute_node').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
        await trx.insertInto('compute_node').values({ uuid: this.nodeUuid, id: Number(max?.m ?? 0) + 1, hypervisor_hostname: this.host, created_at: now, ...values }).execute();
      });
    }
    const cc = config.compute;
    await this.c.placement.ensureProvider(this.nodeUuid, this.host);
    await this.c.placement.setInventory(this.nodeUuid, {
      VCPU: { total: res.vcpus, allocation_ratio: cc.cpuAllocationRatio, max_unit: res.vcpus },
      MEMORY_MB: { total: res.memoryMb, reserved: Math.min(cc.reservedHostMemoryMb, res.memoryMb - 1), allocation_ratio: cc.ramAllocationRatio, max_unit: res.memoryMb },
      DISK_GB: { total: Math.max(1, res.diskGb), allocation_ratio: cc.diskAllocationRatio, max_unit: Math.max(1, res.diskGb) },
    });
  }

  private heartbeat(): Promise<void> {
    return heartbeat(this.c, this.host, COMPUTE_BINARY);
  }

  // ---- state helpers

  private async row(uuid: string): Promise<InstanceRow | undefined> {
    return this.c.db.selectFrom('instance').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  private async set(uuid: string, values: Partial<InstanceRow>): Promise<void> {
    await this.c.db.updateTable('instance').set({ ...values, updated_at: nowIso() }).where('uuid', '=', uuid).execute();
  }

  private guestValues(info: GuestInfo, row: InstanceRow): Partial<InstanceRow> {
    const driverInfo = { ...fromJson<Record<string, unknown>>(row.driver_info, {}), ssh_port: info.sshPort, vnc_socket: info.vncSocket };
    return { power_state: powerStateOf(info.powerState), driver_info: toJson(driverInfo) };
  }

  private spec(row: InstanceRow): Promise<InstanceSpec> {
    return instanceSpec(this.c, row, { driver: this.driver, images: this.opts.images, stateDir: this.opts.stateDir, metadataUrl: this.opts.metadataUrl });
  }

  private async fail(row: InstanceRow, e: unknown, vmState: string = VM.ERROR): Promise<void> {
    this.c.logger.error({ err: e, instance: row.uuid, host: this.host }, 'instance task failed');
    await this.set(row.uuid, { vm_state: vmState, task_state: null, fault: toJson({ code: 500, message: (e as Error).message, details: String((e as Error).stack ?? ''), created: nowIso() }) });
  }

  /** Runs one task of an instance as an action event; on failure the instance goes to ERROR (or back to `onError`). */
  private async task(args: BusArgs, event: string, work: (row: InstanceRow) => Promise<void>, onError?: string): Promise<void> {
    const uuid = String(args.uuid);
    const row = await this.row(uuid);
    if (!row || row.deleted) return;
    try {
      await withEvent(this.c, uuid, String(args.requestId ?? ''), event, this.host, () => work(row));
    } catch (e) {
      await this.fail(row, e, onError ?? VM.ERROR);
    }
  }

  // ---- bus handlers

  private handlers() {
    const d = this.driver;
    return {
      build_and_run_instance: (a: BusArgs) => this.task(a, 'compute__do_build_and_run_instance', async (row) => {
        await this.set(row.uuid, { task_state: TASK.NETWORKING });
        try {
          const nets = await this.c.network.allocate(
            { uuid: row.uuid, projectId: row.project_id, userId: row.user_id, host: this.host, hostname: row.hostname },
            fromJson(row.requested_networks, 'auto'), fromJson(row.security_groups, ['default']),
          );
          await this.set(row.uuid, { task_state: TASK.SPAWNING, network_info: toJson(nets.info) });
          const fresh = (await this.row(row.uuid))!;
          if (fresh.task_state === TASK.DELETING || fresh.deleted) {
            // deleted while its ports were made: the terminate may already have freed "nothing"
            await this.c.network.deallocate(row.uuid);
            return;
          }
          const info = await d.spawn(await this.spec(fresh));
          await completeVolumeMappings(this.c, fresh, this.host);
          const now = nowIso();
          await this.set(row.uuid, { vm_state: VM.ACTIVE, task_state: null, launched_at: now, ...this.guestValues(info, fresh) });
        } catch (e) {
          // Nova's _cleanup_allocated_networks: a failed build gives its ports back (the server goes to ERROR)
          await d.destroy(row.uuid).catch(() => undefined);
          await this.c.network.deallocate(row.uuid).catch((err: unknown) => this.c.logger.warn({ err, instance: row.uuid }, 'could not free the ports of a failed build'));
          await this.set(row.uuid, { network_info: '[]' });
          throw e;
        }
      }),
      terminate_instance: (a: BusArgs) => this.task(a, 'compute_terminate_instance', (row) => this.terminate(row)),
      stop_instance: (a: BusArgs) => this.task(a, 'compute_stop_instance', async (row) => {
        await d.powerOff(row.uuid, Number(a.timeoutS ?? 60));
        await this.set(row.uuid, { vm_state: VM.STOPPED, task_state: null, power_state: POWER.SHUTDOWN });
      }),
      start_instance: (a: BusArgs) => this.task(a, 'compute_start_instance', async (row) => {
        const info = await d.powerOn(await this.spec(row));
        await this.set(row.uuid, { vm_state: VM.ACTIVE, task_state: null, ...this.guestValues(info, row) });
      }, VM.STOPPED),
      reboot_instance: (a: BusArgs) => this.task(a, 'compute_reboot_instance', async (row) => {
        const info = await d.reboot(await this.spec(row), a.type === 'HARD');
        await this.set(row.uuid, { vm_state: VM.ACTIVE, task_state: null, ...this.guestValues(info, row) });
      }),
      pause_instance: (a: BusArgs) => this.task(a, 'compute_pause_instance', async (row) => {
        await d.pause(row.uuid);
        await this.set(row.uuid, { vm_state: VM.PAUSED, task_state: null, power_state: POWER.PAUSED });
      }, VM.ACTIVE),
      unpause_instance: (a: BusArgs) => this.task(a, 'compute_unpause_instance', async (row) => {
        await d.unpause(row.uuid);
        await this.set(row.uuid, { vm_state: VM.ACTIVE, task_state: null, power_state: POWER.RUNNING });
      }, VM.PAUSED),
      suspend_instance: (a: BusArgs) => this.task(a, 'compute_suspend_instance', async (row) => {
        await d.suspend(row.uuid);
        await this.set(row.uuid, { vm_state: VM.SUSPENDED, task_state: null, power_state: POWER.SUSPENDED });
      }, VM.ACTIVE),
      resume_instance: (a: BusArgs) => this.task(a, 'compute_resume_instance', async (row) => {
        const info = await d.resume(await this.spec(row));
        await this.set(row.uuid, { vm_state: VM.ACTIVE, task_state: null, ...this.guestValues(info, row) });
      }, VM.SUSPENDED),
      rebuild_instance: (a: BusArgs) => this.task(a, 'compute_rebuild_instance', async (row) => {
        const wasStopped = row.vm_state === VM.STOPPED;
        await d.destroy(row.uuid).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
        await this.set(row.uuid, { task_state: TASK.REBUILD_SPAWNING });
        const info = await d.spawn(await this.spec((await this.row(row.uuid))!));
        if (wasStopped) await d.powerOff(row.uuid, 0);
        await this.set(row.uuid, { vm_state: wasStopped ? VM.STOPPED : VM.ACTIVE, task_state: null, launched_at: nowIso(), ...this.guestValues(info, row), ...(wasStopped ? { power_state: POWER.SHUTDOWN } : {}) });
      }),
      // Cold migration and resize (service/cold-migration.ts scheduled it and moved the claims).
      // Same host: the guest restarts with the new flavor. Another host: the source stops the
      // guest and the destination takes its disk over and starts it (finish_resize).
      resize_instance: (a: BusArgs) => this.moveTask(a, 'compute_resize_instance', async (row) => {
        const wasStopped = row.vm_state === VM.STOPPED;
        const dest = (a.dest ?? { host: this.host, node: row.node }) as { host: string; node: string };
        const migrationId = a.migrationId === undefined ? undefined : Number(a.migrationId);
        await this.set(row.uuid, { task_state: TASK.RESIZE_MIGRATING });
        if (migrationId !== undefined) await setMigration(this.c, migrationId, { status: 'migrating' });
        await d.powerOff(row.uuid, 0).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
        if (dest.host === this.host) {
          const next = { ...row, flavor: row.new_flavor ?? row.flavor };
          await this.set(row.uuid, { task_state: TASK.RESIZE_FINISH });
          const info = wasStopped ? { powerState: 'shutdown' as const } : await d.powerOn(await this.spec(next));
          await this.set(row.uuid, { vm_state: VM.RESIZED, task_state: null, ...this.guestValues(info, row) });
          if (migrationId !== undefined) await setMigration(this.c, migrationId, { status: 'finished' });
          return;
        }
        const source = await d.migrationSource(row.uuid);
        await this.set(row.uuid, { task_state: TASK.RESIZE_MIGRATED });
        if (migrationId !== undefined) await setMigration(this.c, migrationId, { status: 'post-migrating' });
        await callAgent(this.c.bus, dest.host, 'finish_resize', { uuid: row.uuid, requestId: String(a.requestId ?? ''), source: source as never, node: dest.node, wasStopped, migrationId }, String(a.requestId ?? ''), MOVE_TIMEOUT_MS);
        // the guest is the destination's now: what is left of it here goes
        await d.destroy(row.uuid).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
        rmSync(join(this.opts.stateDir, 'config-drives', `${row.uuid}.iso`), { force: true });
      }),
      finish_resize: async (a: BusArgs) => {
        const row = (await this.row(String(a.uuid)))!;
        await withEvent(this.c, row.uuid, String(a.requestId ?? ''), 'compute_finish_resize', this.host, async () => {
          await this.set(row.uuid, { task_state: TASK.RESIZE_FINISH });
          const next = { ...row, flavor: row.new_flavor ?? row.flavor };
          await d.moveIn(await this.spec(next), a.source as MigrationSource);
          await this.set(row.uuid, { host: this.host, node: String(a.node ?? this.host) });
          const info = a.wasStopped ? { powerState: 'shutdown' as const } : await d.powerOn(await this.spec(next));
          await this.set(row.uuid, { vm_state: VM.RESIZED, task_state: null, ...this.guestValues(info, row), ...(a.wasStopped ? { power_state: POWER.SHUTDOWN } : {}) });
          if (a.migrationId !== undefined) await setMigration(this.c, Number(a.migrationId), { status: 'finished' });
        });
      },
      // revert across hosts: the destination stops the guest and gives its disk back to the source
      revert_resize: (a: BusArgs) => this.moveTask(a, 'compute_revert_resize', async (row) => {
        const running = row.power_state === POWER.RUNNING;
        const back = a.source as { host: string; node: string };
        await d.powerOff(row.uuid, 0).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
        const source = await d.migrationSource(row.uuid);
        await callAgent(this.c.bus, back.host, 'finish_revert_resize', { uuid: row.uuid, requestId: String(a.requestId ?? ''), source: source as never, node: back.node, running, migrationId: a.migrationId }, String(a.requestId ?? ''), MOVE_TIMEOUT_MS);
        await d.destroy(row.uuid).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
        rmSync(join(this.opts.stateDir, 'config-drives', `${row.uuid}.iso`), { force: true });
      }),
      finish_revert_resize: (a: BusArgs) => this.moveTask(a, 'compute_finish_revert_resize', async (row) => {
        const running = a.running === undefined ? row.power_state === POWER.RUNNING : Boolean(a.running);
        const old = { ...row, new_flavor: null };
        if (a.source) {
          await d.moveIn(await this.spec(old), a.source as MigrationSource);
          await this.set(row.uuid, { host: this.host, node: String(a.node ?? this.host) });
        } else {
          await d.powerOff(row.uuid, 0).catch(() => undefined);
        }
        const info = running ? await d.powerOn(await this.spec(old)) : { powerState: 'shutdown' as const };
        await this.set(row.uuid, { vm_state: running ? VM.ACTIVE : VM.STOPPED, task_state: null, new_flavor: null, ...this.guestValues(info, row), ...(running ? {} : { power_state: POWER.SHUTDOWN }) });
        if (a.migrationId !== undefined) await setMigration(this.c, Number(a.migrationId), { status: 'reverted' });
      }),
      snapshot_instance: (a: BusArgs) => this.task(a, 'compute_snapshot_instance', async (row) => {
        await this.snapshot(row, String(a.imageId));
        // createBackup: Nova's backup_instance rotates the older backups out once this one is uploaded
        if (typeof a.backupType === 'string') await rotateBackups(this.c, row, a.backupType, Number(a.rotation ?? 0), row.user_id);
      }, row0State(a)),
      shelve_instance: (a: BusArgs) => this.task(a, 'compute_shelve_instance', async (row) => {
        // Nova's shelve: stop the guest and keep its disk as an image; offloading then frees the host.
        await d.powerOff(row.uuid, Number(a.timeoutS ?? 60)).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
        await this.set(row.uuid, { power_state: POWER.SHUTDOWN, task_state: TASK.SHELVING_IMAGE_UPLOADING });
        const image = await createSnapshotImage(this.c, row, `${row.name}-shelved`, row.user_id, { shelved: 'true' });
        await this.snapshot(row, String(image.id), false);
        const info = fromJson<Record<string, unknown>>(row.driver_info, {});
        await this.set(row.uuid, { vm_state: VM.SHELVED, task_state: null, driver_info: toJson({ ...info, shelved_image_id: image.id }) });
        if (this.c.config.compute.shelvedOffloadTime === 0) await this.offload((await this.row(row.uuid))!);
      }),
      shelve_offload_instance: (a: BusArgs) => this.task(a, 'compute_shelve_offload_instance', (row) => this.offload(row)),
      unshelve_instance: (a: BusArgs) => this.task(a, 'compute_unshelve_instance', async (row) => {
        const shelved = fromJson<{ shelved_image_id?: string }>(row.driver_info, {}).shelved_image_id;
        let info: GuestInfo;
        if (a.fromImage && shelved) {
          // offloaded: build the guest again from the shelved image, on this (newly chosen) host
          info = await d.spawn(await this.spec({ ...row, image_ref: shelved }));
        } else {
          info = await d.powerOn(await this.spec(row));
        }
        const rest = fromJson<Record<string, unknown>>(row.driver_info, {});
        delete rest.shelved_image_id;
        await this.set(row.uuid, { vm_state: VM.ACTIVE, task_state: null, ...this.guestValues(info, { ...row, driver_info: toJson(rest) }) });
        if (shelved) await this.c.image.deleteImage(shelved, { projectId: row.project_id, isAdmin: false, userId: row.user_id });
      }),
      trigger_crash_dump: (a: BusArgs) => this.task(a, 'compute_trigger_crash_dump', (row) => d.injectNmi(row.uuid), VM.ACTIVE),
      rescue_instance: (a: BusArgs) => this.task(a, 'compute_rescue_instance', async (row) => {
        const spec = await this.spec(row);
        const ref = typeof a.imageRef === 'string' ? a.imageRef : row.image_ref;
        // the rescue image (the server's own by default), fetched like a boot image
        const image = this.opts.images && ref
          ? (await this.spec({ ...row, image_ref: ref })).root ?? { path: '', format: 'raw' as const }
          : { path: '', format: 'raw' as const };
        const info = await d.rescue(spec, image);
        await this.set(row.uuid, { vm_state: VM.RESCUED, task_state: null, ...this.guestValues(info, row) });
      }, row0State(a)),
      unrescue_instance: (a: BusArgs) => this.task(a, 'compute_unrescue_instance', async (row) => {
        const info = await d.unrescue(await this.spec(row));
        await this.set(row.uuid, { vm_state: VM.ACTIVE, task_state: null, ...this.guestValues(info, row) });
      }),
      // live migration (the conductor drives it: service/live-migration.ts)
      migration_source: async (a: BusArgs) => d.migrationSource(String(a.uuid)),
      pre_live_migration: async (a: BusArgs) => {
        const row = (await this.row(String(a.uuid)))!;
        return withEvent(this.c, row.uuid, String(a.requestId ?? ''), 'compute_pre_live_migration', this.host, async () =>
          d.prepareIncoming(await this.spec(row), a.source as MigrationSource));
      },
      live_migration: async (a: BusArgs) => {
        await withEvent(this.c, String(a.uuid), String(a.requestId ?? ''), 'compute_live_migration', this.host, () => d.migrateOut(String(a.uuid), String(a.uri)));
        rmSync(join(this.opts.stateDir, 'config-drives', `${String(a.uuid)}.iso`), { force: true });
      },
      post_live_migration_at_destination: async (a: BusArgs) => {
        const row = (await this.row(String(a.uuid)))!;
        await withEvent(this.c, row.uuid, String(a.requestId ?? ''), 'compute_post_live_migration_at_destination', this.host, async () => {
          const info = await d.finishIncoming(row.uuid, a.source as MigrationSource);
          await this.set(row.uuid, { host: this.host, node: String(a.node ?? this.host), task_state: null, ...this.guestValues(info, row) });
        });
      },
      rollback_live_migration_at_destination: async (a: BusArgs) => d.abortIncoming(String(a.uuid)),
      get_console_output: async (a: BusArgs) => {
        try {
          return await d.consoleOutput(String(a.uuid), a.length === undefined || a.length === null ? undefined : Number(a.length));
        } catch (e) {
          if (e instanceof GuestNotFound) return '';
          throw e;
        }
      },
      // os-interface: the API made (or freed) the port; the agent plugs it into the running guest
      attach_interface: async (a: BusArgs) => {
        const uuid = String(a.uuid);
        await withEvent(this.c, uuid, String(a.requestId ?? ''), 'compute_attach_interface', this.host, async () => {
          if (!d.attachInterface) throw new Error(`the ${d.type} driver cannot hot-plug interfaces`);
          await d.attachInterface(uuid, a.vif as Vif);
        });
      },
      detach_interface: async (a: BusArgs) => {
        const uuid = String(a.uuid);
        await withEvent(this.c, uuid, String(a.requestId ?? ''), 'compute_detach_interface', this.host, async () => {
          await d.detachInterface?.(uuid, String(a.portId));
        });
      },
      // os-volume_attachments: the volume service reserved it; the agent plugs it into the guest
      attach_volume: async (a: BusArgs) => {
        const uuid = String(a.uuid);
        await withEvent(this.c, uuid, String(a.requestId ?? ''), 'compute_attach_volume', this.host, async () => {
          if (!d.attachVolume) throw new Error(`the ${d.type} driver cannot attach volumes`);
          await d.attachVolume(uuid, a.volume as AttachedVolume);
        });
      },
      detach_volume: async (a: BusArgs) => {
        const uuid = String(a.uuid);
        await withEvent(this.c, uuid, String(a.requestId ?? ''), 'compute_detach_volume', this.host, async () => {
          await d.detachVolume?.(uuid, String(a.volumeId));
        });
      },
      get_guest_info: async (a: BusArgs) => d.info(String(a.uuid)).catch(() => ({ powerState: 'nostate' })),
    };
  }

  /** A resize/migration step: a failure puts the server in ERROR (as Nova) and the migration in error. */
  private moveTask(args: BusArgs, event: string, work: (row: InstanceRow) => Promise<void>): Promise<void> {
    return this.task(args, event, async (row) => {
      try {
        await work(row);
      } catch (e) {
        if (args.migrationId !== undefined) await setMigration(this.c, Number(args.migrationId), { status: 'error' }).catch(() => undefined);
        throw e;
      }
    });
  }

  private async terminate(row: InstanceRow): Promise<void> {
    await this.driver.destroy(row.uuid).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
    rmSync(join(this.opts.stateDir, 'config-drives', `${row.uuid}.iso`), { force: true });
    await this.c.network.deallocate(row.uuid);
    await releaseVolumes(this.c, row);
    await this.c.placement.release(row.uuid);
    // a server deleted while it waited for confirm or revert: its migration's claim on the source goes too
    for (const m of await this.c.db.selectFrom('migration').select(['id', 'uuid']).where('instance_uuid', '=', row.uuid).where('status', '=', 'finished').execute()) {
      await this.c.placement.release(m.uuid);
      await setMigration(this.c, m.id, { status: 'confirmed' });
    }
    const now = nowIso();
    await this.set(row.uuid, { vm_state: VM.DELETED, task_state: null, power_state: POWER.NOSTATE, deleted: 1, deleted_at: now, terminated_at: now });
  }

  /** Copies the guest's disk into a queued image; `release` frees the server (task_state) once the copy is taken. */
  private async snapshot(row: InstanceRow, imageId: string, release = true): Promise<void> {
    const viewer = { projectId: row.project_id, isAdmin: false, userId: row.user_id };
    const dir = join(this.opts.stateDir, 'snapshots');
    mkdirSync(dir, { recursive: true });
    if (release) await this.set(row.uuid, { task_state: TASK.IMAGE_PENDING_UPLOAD });
    try {
      const file = await this.driver.snapshot(row.uuid, dir);
      // The disk is copied: the server is free again while the copy uploads (so a client that
      // waits for the image to go active finds the server ready for the next action).
      if (release) await this.set(row.uuid, { task_state: null });
      const { createReadStream } = await import('node:fs');
      const data = createReadStream(file.path);
      // an upload refused before it reads (the image was deleted meanwhile) must not leave the
      // stream to fail unheard once the file is removed
      data.on('error', () => undefined);
      try {
        await this.c.image.upload(imageId, data, viewer);
      } finally {
        data.destroy();
        rmSync(file.path, { force: true });
      }
    } catch (e) {
      if (release) await this.set(row.uuid, { task_state: null });
      // the image was deleted while the snapshot was taken (Nova's ImageNotFound): nothing to keep
      if ((e as { status?: number }).status === 404) {
        this.c.logger.warn({ instance: row.uuid, image: imageId }, 'the snapshot image was deleted during the snapshot');
        return;
      }
      await this.c.image.deleteImage(imageId, viewer);
      throw e;
    }
  }

  /** Shelve offload: the guest and its claim leave this host; the shelved image keeps the disk. */
  private async offload(row: InstanceRow): Promise<void> {
    await this.driver.destroy(row.uuid).catch((e) => { if (!(e instanceof GuestNotFound)) throw e; });
    rmSync(join(this.opts.stateDir, 'config-drives', `${row.uuid}.iso`), { force: true });
    await this.c.placement.release(row.uuid);
    await this.set(row.uuid, { vm_state: VM.SHELVED_OFFLOADED, task_state: null, power_state: POWER.SHUTDOWN, host: null, node: null });
  }

  // ---- reconciliation and power sync

  /** After a restart: finish deletes, clear interrupted tasks, fail interrupted builds, and remove guests nobody owns. */
  async reconcile(): Promise<void> {
    const rows = await this.c.db.selectFrom('instance').selectAll().where('host', '=', this.host).where('deleted', '=', 0).execute();
    const known = new Set(rows.map((r) => r.uuid));
    for (const row of rows) {
      if (row.task_state === TASK.DELETING) {
        await this.terminate(row).catch((e) => this.c.logger.warn({ err: e, instance: row.uuid }, 'reconcile: delete failed'));
      } else if (row.vm_state === VM.BUILDING) {
        await this.fail(row, new Error('Build interrupted: the compute agent restarted while the server was being built'));
      } else if (row.task_state !== null) {
        await this.set(row.uuid, { task_state: null });
      }
    }
    for (const uuid of await this.driver.listGuests()) {
      if (!known.has(uuid)) {
        this.c.logger.warn({ instance: uuid, host: this.host }, 'reconcile: removing a guest no server owns');
        await this.driver.destroy(uuid).catch(() => undefined);
      }
    }
    await this.syncPowerStates();
  }

  /** Nova's _sync_power_states: records what the hypervisor says; an ACTIVE server whose guest stopped becomes SHUTOFF. */
  async syncPowerStates(): Promise<void> {
    const rows = await this.c.db.selectFrom('instance').select(['uuid', 'vm_state', 'task_state', 'power_state']).where('host', '=', this.host).where('deleted', '=', 0).execute();
    for (const r of rows) {
      if (r.task_state !== null || r.vm_state === VM.BUILDING) continue;
      const info = await this.driver.info(r.uuid).catch(() => ({ powerState: 'shutdown' as const }));
      const ps = powerStateOf(info.powerState);
      if (ps === r.power_state) continue;
      const values: Partial<InstanceRow> = { power_state: ps };
      if (r.vm_state === VM.ACTIVE && (ps === POWER.SHUTDOWN || ps === POWER.CRASHED)) values.vm_state = VM.STOPPED;
      await this.c.db.updateTable('instance').set({ ...values, updated_at: nowIso() }).where('uuid', '=', r.uuid).where('task_state', 'is', null).execute();
    }
  }
}

/** A failed snapshot leaves the server as it was (ACTIVE or SHUTOFF), with the error in the action events. */
const row0State = (a: BusArgs) => String(a.vmState ?? VM.ACTIVE);
