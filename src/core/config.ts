import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Every service Nubo knows, in the order used for --base-port offsets. */
export const SERVICE_NAMES = [
  'identity', 'compute', 'placement', 'image', 'network', 'volume', 'object', 'orchestration', 'dashboard',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** OpenStack's default ports. */
export const DEFAULT_PORTS: Record<ServiceName, number> = {
  identity: 5000, compute: 8774, placement: 8778, image: 9292, network: 9696,
  volume: 8776, object: 8080, orchestration: 8004, dashboard: 8000,
};

/** Services that exist in this build (others are accepted in config but not started yet). */
export const IMPLEMENTED_SERVICES: readonly ServiceName[] = ['identity', 'compute', 'image', 'placement', 'network', 'volume', 'object'];

export interface IdentityConfig {
  /** Admin password; generated and printed once at first start when unset. */
  adminPassword?: string;
  /** Token lifetime in seconds (Keystone [token] expiration). */
  tokenExpiration: number;
  /** Lockout after this many consecutive failed logins (0 = off), for lockoutDuration seconds. */
  lockoutFailureAttempts: number;
  lockoutDuration: number;
  /** A new password may not equal any of the user's last N (Keystone unique_last_password_count). */
  uniqueLastPasswordCount: number;
  /** Days a password must be kept before the user may change it again (0 = off). */
  minimumPasswordAge: number;
  /** scrypt cost parameter N (a power of two); lower only for tests. */
  passwordHashCost: number;
  /** YAML/JSON file of policy rule overrides, as oslo.policy reads. */
  policyFile?: string;
  region: string;
}

/** Image service (Glance) settings. */
export interface ImageConfig {
  /**
   * The web-download import method is offered only when this is non-empty, and only for URLs
   * that start with one of these prefixes (e.g. 'https://cloud-images.example.org/').
   */
  webDownloadAllowedPrefixes: string[];
  /** Default unified limits registered for the image service (-1 = unlimited; sizes in MiB, as Glance). */
  defaultLimits: { image_count_total: number; image_count_uploading: number; image_size_total: number; image_stage_total: number };
  /** Largest image accepted, in bytes (Glance image_size_cap). */
  maxImageSize: number;
  /** Where image data lives: 'file' (<dataDir>/images) or 'fake' (memory; tests only, labelled as such). */
  store: 'file' | 'fake';
  /**
   * Build the tiny guest image (tinyos) in the background after the first `nubo up` and
   * register it (`nubo image build-tiny`); never blocks startup. Off in tests (they never go
   * through `nubo up`); NUBO_BUILD_TINY_GUEST=0 turns it off.
   */
  buildTinyGuest: boolean;
}

/** Compute service (Nova) settings. */
export interface ComputeConfig {
  /** 'qemu' runs real guests; 'fake' simulates them (scale tests; reported as hypervisor_type fake). 'auto': qemu when qemu-system-x86_64 is installed. */
  driver: 'auto' | 'qemu' | 'fake';
  /** Name of this host's compute agent (Nova's [DEFAULT] host). */
  host: string;
  /** With the fake driver: how many simulated hosts run in this process (host, host-2, ...). */
  fakeHosts: number;
  /** With the qemu driver: how many agents (hosts) run in this process, each its own host (host, host-2, ...) on this machine's storage; two allow live migration on one machine. */
  localHosts: number;
  /** What one fake host offers. */
  fakeHostResources: { vcpus: number; memoryMb: number; diskGb: number };
  /** Nova's initial allocation ratios and reserved host memory. */
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  reservedHostMemoryMb: number;
  /** Nova's shelved_offload_time: 0 frees the host at once when a server is shelved; -1 keeps it there (other values act as -1 here). */
  shelvedOffloadTime: number;
  /** Nova's ram_weight_multiplier: positive spreads servers over hosts (default 1.0), negative stacks them. */
  ramWeightMultiplier: number;
  /** Default availability zone of hosts and servers. */
  defaultAvailabilityZone: string;
}

/** Volume service (Cinder) settings. */
export interface VolumeConfig {
  /** 'file': raw sparse files under <dataDir>/volumes; 'fake': records only (labelled); 'auto': fake when compute.driver is fake, else file. */
  driver: 'auto' | 'file' | 'fake';
}

/** Network service (Neutron) settings. */
export interface NetworkConfig {
  /** 'linux' builds real bridges, namespaces, dnsmasq and nftables (root); 'fake' records the state only; 'auto': linux when root and the tools are there. */
  driver: 'auto' | 'linux' | 'fake';
  /** The external network created on first start (`public`): its CIDR, and the address the host itself takes on it (also its gateway). */
  externalCidr: string;
  externalHostAddress: string;
  /** The demo project's `private` network. */
  privateCidr: string;
  /** Prefix of every namespace and device name the dataplane makes (several clouds on one machine stay apart). */
  namespacePrefix: string;
  /** Create `public`, `private` and the demo router on first start. */
  bootstrap: boolean;
  /**
   * Several local hosts (compute.localHosts > 1): give each its own namespace and agent, joined
   * by a simulated underlay, so tenant networks run over VXLAN between them as between machines.
   * Off: the local hosts share one namespace (one kernel, one set of bridges).
   */
  separateHosts: boolean;
}

export interface NuboConfig {
  dataDir: string;
  /** Address the listeners bind to. */
  host: string;
  /** Host name put in catalog URLs (defaults to host). */
  publicHost: string;
  /** When set, service N listens on basePort + its index in SERVICE_NAMES. */
  basePort?: number;
  ports: Record<ServiceName, number>;
  services: ServiceName[];
  /** sqlite file path or postgres:// URL; default: SQLite files in dataDir. */
  database?: string;
  /** inprocess:// (default) or amqp:// URL. */
  transport?: string;
  logLevel: string;
  /** Largest request body accepted by JSON APIs, in bytes. */
  bodyLimit: number;
  identity: IdentityConfig;
  image: ImageConfig;
  compute: ComputeConfig;
  network: NetworkConfig;
  volume: VolumeConfig;
}

export type ConfigOverrides = Partial<Omit<NuboConfig, 'identity' | 'image' | 'compute' | 'network' | 'volume'>> & {
  network?: Partial<NetworkConfig>;
  volume?: Partial<VolumeConfig>;
  identity?: Partial<IdentityConfig>;
  image?: Partial<ImageConfig>;
  compute?: Partial<ComputeConfig>;
  configFile?: string;
};

/** The names of the compute hosts one process runs: `host`, `host-2`, `host-3`, ... */
export const localHostNames = (host: string, count: number): string[] =>
  Array.from({ length: Math.max(1, count) }, (_, i) => (i === 0 ? host : `${host}-${i + 1}`));

export function defaultConfig(): NuboConfig {
  return {
    dataDir: resolve('.nubo'),
    host: '127.0.0.1',
    publicHost: '127.0.0.1',
    ports: { ...DEFAULT_PORTS },
    services: [...IMPLEMENTED_SERVICES],
    logLevel: 'info',
    bodyLimit: 1024 * 1024,
    identity: {
      tokenExpiration: 3600,
      lockoutFailureAttempts: 0,
      lockoutDuration: 1800,
      uniqueLastPasswordCount: 0,
      minimumPasswordAge: 0,
      passwordHashCost: 16384,
      region: 'RegionOne',
    },
    image: {
      webDownloadAllowedPrefixes: [],
      defaultLimits: { image_count_total: -1, image_count_uploading: -1, image_size_total: -1, image_stage_total: -1 },
      maxImageSize: 1024 ** 4,
      store: 'file',
      buildTinyGuest: true,
    },
    compute: {
      driver: 'auto',
      host: hostname(),
      fakeHosts: 1,
      localHosts: 1,
      fakeHostResources: { vcpus: 64, memoryMb: 262144, diskGb: 4096 },
      cpuAllocationRatio: 16,
      ramAllocationRatio: 1.5,
      diskAllocationRatio: 1,
      reservedHostMemoryMb: 512,
      ramWeightMultiplier: 1,
      shelvedOffloadTime: 0,
      defaultAvailabilityZone: 'nova',
    },
    network: {
      driver: 'auto',
      externalCidr: '172.24.4.0/24',
      externalHostAddress: '172.24.4.1',
      privateCidr: '10.0.0.0/24',
      namespacePrefix: 'nubo-',
      bootstrap: true,
      separateHosts: false,
    },
    volume: { driver: 'auto' },
  };
}

/** Environment variables, documented in the README. */
function fromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const o: ConfigOverrides = { identity: {} };
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  if (env.NUBO_DATA_DIR) o.dataDir = env.NUBO_DATA_DIR;
  if (env.NUBO_HOST) o.host = env.NUBO_HOST;
  if (env.NUBO_PUBLIC_HOST) o.publicHost = env.NUBO_PUBLIC_HOST;
  if (env.NUBO_BASE_PORT) o.basePort = num(env.NUBO_BASE_PORT);
  if (env.NUBO_DATABASE_URL) o.database = env.NUBO_DATABASE_URL;
  if (env.NUBO_TRANSPORT_URL) o.transport = env.NUBO_TRANSPORT_URL;
  if (env.NUBO_LOG_LEVEL) o.logLevel = env.NUBO_LOG_LEVEL;
  if (env.NUBO_SERVICES) o.services = env.NUBO_SERVICES.split(',').map((s) => s.trim()) as ServiceName[];
  if (env.NUBO_ADMIN_PASSWORD) o.identity!.adminPassword = env.NUBO_ADMIN_PASSWORD;
  if (env.NUBO_LOCKOUT_ATTEMPTS) o.identity!.lockoutFailureAttempts = num(env.NUBO_LOCKOUT_ATTEMPTS);
  if (env.NUBO_LOCKOUT_DURATION) o.identity!.lockoutDuration = num(env.NUBO_LOCKOUT_DURATION);
  if (env.NUBO_UNIQUE_LAST_PASSWORDS) o.identity!.uniqueLastPasswordCount = num(env.NUBO_UNIQUE_LAST_PASSWORDS);
  if (env.NUBO_TOKEN_EXPIRATION) o.identity!.tokenExpiration = num(env.NUBO_TOKEN_EXPIRATION);
  if (env.NUBO_IMAGE_WEB_DOWNLOAD_PREFIXES) {
    o.image = { webDownloadAllowedPrefixes: env.NUBO_IMAGE_WEB_DOWNLOAD_PREFIXES.split(',').map((s) => s.trim()).filter(Boolean) };
  }
  if (env.NUBO_BUILD_TINY_GUEST) (o.image ??= {}).buildTinyGuest = !/^(0|false|no|off)$/i.test(env.NUBO_BUILD_TINY_GUEST.trim());
  const c: Partial<ComputeConfig> = {};
  if (env.NUBO_COMPUTE_DRIVER) c.driver = env.NUBO_COMPUTE_DRIVER as ComputeConfig['driver'];
  if (env.NUBO_COMPUTE_HOST) c.host = env.NUBO_COMPUTE_HOST;
  if (env.NUBO_COMPUTE_FAKE_HOSTS) c.fakeHosts = num(env.NUBO_COMPUTE_FAKE_HOSTS);
  if (Object.keys(c).length) o.compute = c;
  const n: Partial<NetworkConfig> = {};
  if (env.NUBO_NETWORK_DRIVER) n.driver = env.NUBO_NETWORK_DRIVER as NetworkConfig['driver'];
  if (env.NUBO_NETWORK_PREFIX) n.namespacePrefix = env.NUBO_NETWORK_PREFIX;
  if (Object.keys(n).length) o.network = n;
  if (env.NUBO_VOLUME_DRIVER) o.volume = { driver: env.NUBO_VOLUME_DRIVER as VolumeConfig['driver'] };
  return o;
}

function merge(base: NuboConfig, o: ConfigOverrides): NuboConfig {
  const defined = <T extends object>(x: T) => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
  const { identity, image, compute, network, volume, ports, configFile: _cf, ...rest } = o;
  // Nested maps merge key by key: `ports: {identity: 5001}` keeps every other default port.
  return {
    ...base,
    ...defined(rest),
    ports: { ...base.ports, ...defined(ports ?? {}) },
    identity: { ...base.identity, ...defined(identity ?? {}) },
    image: {
      ...base.image,
      ...defined(image ?? {}),
      defaultLimits: { ...base.image.defaultLimits, ...defined(image?.defaultLimits ?? {}) },
    },
    compute: {
      ...base.compute,
      ...defined(compute ?? {}),
      fakeHostResources: { ...base.compute.fakeHostResources, ...defined(compute?.fakeHostResources ?? {}) },
    },
    network: { ...base.network, ...defined(network ?? {}) },
    volume: { ...base.volume, ...defined(volume ?? {}) },
  } as NuboConfig;
}

/**
 * Builds the effective configuration: defaults < config file < environment < flags.
 * The file is `--config PATH`, else `$NUBO_CONFIG`, else `nubo.yaml` in the data directory.
 */
export function loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): NuboConfig {
  const envO = fromEnv(env);
  const dataDir = resolve(flags.dataDir ?? envO.dataDir ?? defaultConfig().dataDir);
  const file = flags.configFile ?? env.NUBO_CONFIG ?? resolve(dataDir, 'nubo.yaml');
  let fileO: ConfigOverrides = {};
  if (existsSync(file)) {
    fileO = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as ConfigOverrides;
  } else if (flags.configFile ?? env.NUBO_CONFIG) {
    throw new Error(`config file not found: ${file}`);
  }
  let cfg = merge(merge(merge(defaultConfig(), fileO), envO), flags);
  cfg.dataDir = resolve(cfg.dataDir);
  if (!flags.publicHost && !envO.publicHost && !fileO.publicHost) cfg.publicHost = cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
  if (cfg.basePort !== undefined) {
    const bp = cfg.basePort;
    cfg = { ...cfg, ports: Object.fromEntries(SERVICE_NAMES.map((s, i) => [s, bp + i])) as Record<ServiceName, number> };
  }
  if (!['auto', 'linux', 'fake'].includes(cfg.network.driver)) throw new Error(`unknown network driver '${cfg.network.driver}' (linux, fake or auto)`);
  if (!['auto', 'file', 'fake'].includes(cfg.volume.driver)) throw new Error(`unknown volume driver '${cfg.volume.driver}' (file, fake or auto)`);
  if (!['auto', 'qemu', 'fake'].includes(cfg.compute.driver)) throw new Error(`unknown compute driver '${cfg.compute.driver}' (qemu, fake or auto)`);
  for (const s of cfg.services) {
    if (!SERVICE_NAMES.includes(s)) throw new Error(`unknown service '${s}' (known: ${SERVICE_NAMES.join(', ')})`);
  }
  return cfg;
}
