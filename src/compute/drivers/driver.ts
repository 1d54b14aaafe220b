/**
 * The hypervisor boundary: what a compute agent asks of the thing that runs guests on its
 * host. `qemu` runs real guests; `fake` simulates them (scale tests; hypervisor_type 'fake').
 * Every call is idempotent on the instance uuid: the agent may repeat it after a restart.
 */

export type PowerState = 'nostate' | 'running' | 'paused' | 'shutdown' | 'crashed' | 'suspended';

/** What a host offers, reported to placement and os-hypervisors. */
export interface HostResources {
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  hypervisorType: string;
  hypervisorVersion: number;
  cpuInfo: Record<string, unknown>;
  hostIp: string;
}

/** One network interface of a guest, as the network side hands it over. */
export interface Vif {
  portId: string;
  mac: string;
  /** fixed addresses, for the guest's config drive / network_data.json */
  ips: { address: string; version: 4 | 6; cidr: string; gateway?: string }[];
  /** 'tap': a tap the network side created (plugged into its bridge); 'user': QEMU user-mode networking
   *  (the built-in network until the network service lands: DHCP from QEMU, SSH forwarded to `sshPort`). */
  kind: 'tap' | 'user';
  tapName?: string;
  /** The network namespace the tap lives in (the network service's host namespace); QEMU is started inside it. */
  netns?: string;
  mtu?: number;
}

/** A local file the agent fetched from the image service (cached per host, shared between guests). */
export interface LocalImage { path: string; format: 'qcow2' | 'raw' }

export interface InstanceSpec {
  uuid: string;
  name: string;
  vcpus: number;
  memoryMb: number;
  rootGb: number;
  /** Whole-disk boot: `root` is the disk. UEC boot: `kernel` (+ `ramdisk`), `root` optional (ami). */
  root?: LocalImage;
  kernel?: string;
  ramdisk?: string;
  /** Kernel command line (UEC boot); the driver adds the console. */
  cmdline?: string;
  /** ISO 9660 config drive (label config-2), when requested. */
  configDrive?: string;
  /** More disks after the root (rescue attaches the server's own disk here). */
  extraDisks?: string[];
  vifs: Vif[];
  /** Volumes attached (after the root disk and config drive, in attach order). */
  volumes?: AttachedVolume[];
  /** Guest reaches the metadata service at 169.254.169.254:80 through this host URL (user-mode networking). */
  metadataUrl?: string;
}

/** A volume as this host opens it (the volume service's connection info). */
export interface AttachedVolume {
  volumeId: string;
  path: string;
  format: 'raw' | 'qcow2';
  /** the device name the API reported (/dev/vdb); the guest names it in its own order */
  device: string;
  readonly?: boolean;
}

export interface GuestInfo {
  powerState: PowerState;
  /** host port forwarded to the guest's port 22 (user-mode networking), for SSH in tests and tools */
  sshPort?: number;
  /** where the guest's VNC server listens on this host (a unix socket) */
  vncSocket?: string;
}

export interface ComputeDriver {
  /** 'QEMU' or 'fake' (os-hypervisors hypervisor_type). */
  readonly type: string;
  hostResources(): Promise<HostResources>;
  /** Creates the disks and starts the guest (running when it resolves). */
  spawn(spec: InstanceSpec): Promise<GuestInfo>;
  /** Stops the guest and removes everything it had on this host (process, disks, sockets). */
  destroy(uuid: string): Promise<void>;
  /** ACPI power-off, then a hard stop after `timeoutS` (0 = hard stop at once). */
  powerOff(uuid: string, timeoutS: number): Promise<void>;
  /** Starts a stopped guest again from its existing disk. */
  powerOn(spec: InstanceSpec): Promise<GuestInfo>;
  reboot(spec: InstanceSpec, hard: boolean): Promise<GuestInfo>;
  pause(uuid: string): Promise<void>;
  unpause(uuid: string): Promise<void>;
  suspend(uuid: string): Promise<void>;
  resume(spec: InstanceSpec): Promise<GuestInfo>;
  info(uuid: string): Promise<GuestInfo>;
  /** Uuids of the guests this driver knows on the host (running or not), for reconciliation. */
  listGuests(): Promise<string[]>;
  /** The console log; the last `lines` lines when given. */
  consoleOutput(uuid: string, lines?: number): Promise<string>;
  /** Sends the guest a non-maskable interrupt (trigger_crash_dump: a Linux guest set up for kdump dumps). */
  injectNmi(uuid: string): Promise<void>;
  /** Boots the guest from `image` with its own disk attached second (Nova's rescue); unrescue boots its disk again. */
  rescue(spec: InstanceSpec, image: LocalImage): Promise<GuestInfo>;
  unrescue(spec: InstanceSpec): Promise<GuestInfo>;
  /** A standalone copy of the root disk (qcow2), for createImage; the caller uploads and then deletes it. */
  snapshot(uuid: string, destDir: string): Promise<LocalImage>;

  // Live migration between hosts that share storage (two agents on one machine, or a shared
  // filesystem): the destination starts an empty guest waiting for the state, the source
  // streams memory and device state to it (QMP migrate), then the destination owns the guest.
  /** Destination: start a paused guest that waits for incoming state; its disk is the source's disk file. */
  prepareIncoming(spec: InstanceSpec, source: MigrationSource): Promise<{ uri: string }>;
  /** Source: stream the running guest to `uri`; resolves once the destination has it and the local qemu has exited. */
  migrateOut(uuid: string, uri: string): Promise<void>;
  /** Destination: after migrateOut, take the guest over (move its disk under this host, resume it). */
  finishIncoming(uuid: string, source: MigrationSource): Promise<GuestInfo>;
  /** Destination: give up an incoming guest (the migration failed); the source guest keeps running. */
  abortIncoming(uuid: string): Promise<void>;
  /** Source: what the destination needs to reach this guest's disk. */
  migrationSource(uuid: string): Promise<MigrationSource>;
  /** Cold migration and resize to another host: take a STOPPED guest over from `source` (its disk and
   *  console log move under this host); the caller starts it, and destroys what the source has left. */
  moveIn(spec: InstanceSpec, source: MigrationSource): Promise<void>;
  // Interface hot-plug (os-interface). Optional: a driver without them cannot attach to a running guest.
  /** Plugs one more interface into the guest (a no-op when it is not running: the next start has it). */
  attachInterface?(uuid: string, vif: Vif): Promise<void>;
  /** Unplugs the interface of a port (a no-op when the guest is not running or has no such interface). */
  detachInterface?(uuid: string, portId: string): Promise<void>;
  // Volume hot-plug (os-volume_attachments). Optional, like interfaces.
  /** Plugs a volume into the guest (recorded for its next start when it is not running). */
  attachVolume?(uuid: string, volume: AttachedVolume): Promise<void>;
  /** Unplugs a volume (a no-op when the guest does not have it). */
  detachVolume?(uuid: string, volumeId: string): Promise<void>;
  close(): Promise<void>;
}

/** Where a migrating guest's disk is (a path on storage both hosts see) and how it is backed. */
export interface MigrationSource { diskPath: string }

export class GuestNotFound extends Error {
  override name = 'GuestNotFound';
  constructor(uuid: string) {
    super(`guest ${uuid} is not on this host`);
  }
}
