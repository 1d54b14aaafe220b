#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type ComputeConfig, type ConfigOverrides, type ServiceName } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { readCloudsYaml } from '../core/clouds-yaml.js';
import { KeyRepository } from '../identity/tokens/key-repository.js';

const HELP = `nubo — an OpenStack-compatible cloud in one process

Usage:
  nubo up [options]        start the cloud in the foreground (Ctrl-C stops it)
  nubo status [options]    show whether the cloud in the data directory is running
  nubo keys rotate         rotate the token (Fernet) keys in the data directory
  nubo network teardown    remove what the Linux dataplane of the (stopped) cloud in the data
                           directory made on this machine: namespaces, bridges, taps, dnsmasq,
                           haproxy, nftables rules (guests are not stopped)
  nubo image build-tiny    build the tiny guest image (tinyos) from Debian packages and
                           register it in the image service (see README "Tiny guest image")
  nubo --help              this text

Options (each also settable in the config file or the environment, see README):
  --config PATH            YAML config file (default: <data-dir>/nubo.yaml)      NUBO_CONFIG
  --data-dir DIR           state directory (default: ./.nubo)                     NUBO_DATA_DIR
  --host ADDR              address to listen on (default: 127.0.0.1)              NUBO_HOST
  --public-host HOST       host name put in catalog URLs (default: --host)        NUBO_PUBLIC_HOST
  --base-port N            service i listens on N+i (identity N, compute N+1, ...) NUBO_BASE_PORT
  --database URL           postgres://... (default: SQLite files in data dir)     NUBO_DATABASE_URL
  --transport URL          amqp://... (default: in-process bus)                   NUBO_TRANSPORT_URL
  --services LIST          comma-separated services to run (default: all built)   NUBO_SERVICES
  --admin-password PW      admin password (default: generated on first start)     NUBO_ADMIN_PASSWORD
  --lockout-attempts N     lock a user after N failed logins (0 = off)            NUBO_LOCKOUT_ATTEMPTS
  --lockout-duration S     ... for S seconds                                      NUBO_LOCKOUT_DURATION
  --unique-last-passwords N  refuse the last N passwords on self-service change   NUBO_UNIQUE_LAST_PASSWORDS
  --log-level LEVEL        trace|debug|info|warn|error (default: info)            NUBO_LOG_LEVEL
  --compute-driver NAME    qemu | fake | auto (qemu when installed; default auto)  NUBO_COMPUTE_DRIVER
  --compute-host NAME      this host's compute agent name (default: hostname)     NUBO_COMPUTE_HOST
  --fake-hosts N           with the fake driver: simulated hosts in this process  NUBO_COMPUTE_FAKE_HOSTS
  --no-clouds-yaml         do not write ~/.config/openstack/clouds.yaml
  (nubo up builds and registers the tiny guest in the background after a first start;
   image.buildTinyGuest in nubo.yaml, or NUBO_BUILD_TINY_GUEST=0, turns that off)

Options of nubo image build-tiny (and --data-dir; the cache is <data-dir>/cache/tiny-guest):
  --register               register the images (default: when the cloud answers)
  --no-register            build only
  --os-cloud NAME          clouds.yaml entry to use (default: nubo, the admin)
  --clouds-yaml PATH       clouds.yaml to read (default: <data-dir>/clouds.yaml)
  --rebuild                build again even when the cache has this build
`;

const options = {
  config: { type: 'string' }, 'data-dir': { type: 'string' }, host: { type: 'string' }, 'public-host': { type: 'string' },
  'base-port': { type: 'string' }, database: { type: 'string' }, transport: { type: 'string' }, services: { type: 'string' },
  'admin-password': { type: 'string' }, 'lockout-attempts': { type: 'string' }, 'lockout-duration': { type: 'string' },
  'unique-last-passwords': { type: 'string' }, 'log-level': { type: 'string' }, 'no-clouds-yaml': { type: 'boolean' },
  register: { type: 'boolean' }, 'no-register': { type: 'boolean' }, 'os-cloud': { type: 'string' }, 'clouds-yaml': { type: 'string' },
  rebuild: { type: 'boolean' }, 'compute-driver': { type: 'string' }, 'compute-host': { type: 'string' }, 'fake-hosts': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function overrides(v: Record<string, string | boolean | undefined>): ConfigOverrides {
  const num = (x: unknown) => (x === undefined ? undefined : Number(x));
  const str = (x: unknown) => x as string | undefined;
  return {
    configFile: str(v.config), dataDir: str(v['data-dir']), host: str(v.host), publicHost: str(v['public-host']),
    basePort: num(v['base-port']), database: str(v.database), transport: str(v.transport), logLevel: str(v['log-level']),
    services: v.services ? (String(v.services).split(',').map((s) => s.trim()) as ServiceName[]) : undefined,
    identity: {
      adminPassword: str(v['admin-password']), lockoutFailureAttempts: num(v['lockout-attempts']),
      lockoutDuration: num(v['lockout-duration']), uniqueLastPasswordCount: num(v['unique-last-passwords']),
    },
    compute: {
      driver: str(v['compute-driver']) as ComputeConfig['driver'] | undefined, host: str(v['compute-host']), fakeHosts: num(v['fake-hosts']),
    },
  };
}

/** A URL without its password, fit for a terminal or a log. */
function redact(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

async function up(values: Record<string, string | boolean | undefined>): Promise<void> {
  const t0 = performance.now();
  const cfg = loadConfig(overrides(values));
  const logger = createLogger(cfg.logLevel);
  const { startCloud } = await import('../all-in-one.js');
  const firstStart = !existsSync(join(cfg.dataDir, 'clouds.yaml'));
  const cloud = await startCloud(cfg, logger, { writeUserCloudsYaml: !values['no-clouds-yaml'] });
  const pidFile = join(cfg.dataDir, 'nubo.pid');
  writeFileSync(pidFile, String(process.pid));
  const lines = [
    `Nubo is up in ${Math.round(performance.now() - t0)} ms (data: ${cfg.dataDir}, database: ${redact(cfg.database) ?? 'sqlite'}, bus: ${redact(cfg.transport) ?? 'in-process'})`,
    ...Object.entries(cloud.endpoints).map(([s, url]) => `  ${s.padEnd(14)} ${url}`),
    `  clouds.yaml    ${cloud.cloudsYamlPath}${values['no-clouds-yaml'] ? '' : ' and ~/.config/openstack/clouds.yaml'} (clouds: nubo = admin, nubo-demo = demo)`,
    firstStart || values['admin-password']
      ? `  admin password ${cloud.admin.password}   demo password ${cloud.demo.password}`
      : `  credentials    in ${cloud.cloudsYamlPath}`,
    `  try:           openstack --os-cloud nubo token issue`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  // First start: build and register the tiny guest image in the background (never blocks or fails startup).
  const background = new AbortController();
  if (firstStart && cfg.image.buildTinyGuest && cfg.services.includes('image')) {
    void import('../image/tiny-guest/cli.js')
      .then((m) => m.startTinyGuestInBackground({ dataDir: cfg.dataDir, logger, signal: background.signal }))
      .catch((e: Error) => logger.warn({ err: e.message }, 'tiny guest image build not started'));
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    background.abort();
    try {
      await cloud.stop();
    } finally {
      rmSync(pidFile, { force: true });
      logger.flush?.();
      process.exit(0);
    }
  };
  // `nubo keys rotate` then SIGHUP: the running cloud signs with the new primary key.
  process.on('SIGHUP', () => {
    cloud.identity.keys.load();
    logger.info('token keys reloaded');
  });
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

async function status(values: Record<string, string | boolean | undefined>): Promise<number> {
  const cfg = loadConfig(overrides(values));
  const pidFile = join(cfg.dataDir, 'nubo.pid');
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
  let alive = false;
  if (pid) {
    try { process.kill(pid, 0); alive = true; } catch { alive = false; }
  }
  console.log(`data directory: ${cfg.dataDir}`);
  console.log(`process:        ${alive ? `running (pid ${pid})` : 'not running'}`);
  const clouds = readCloudsYaml(join(cfg.dataDir, 'clouds.yaml')).clouds;
  const url = clouds.nubo?.auth.auth_url;
  if (!url) {
    console.log('identity:       never started here');
    return alive ? 0 : 3;
  }
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    console.log(`identity:       ${url} answers ${r.status}`);
    return r.ok ? 0 : 1;
  } catch (e) {
    console.log(`identity:       ${url} unreachable (${(e as Error).message})`);
    return 3;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  const cmd = positionals[0];
  if (values.help || !cmd || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd || values.help ? 0 : 2;
  }
  if (cmd === 'up') {
    await up(values);
    return -1; // keep running
  }
  if (cmd === 'status') return status(values);
  if (cmd === 'image' && positionals[1] === 'build-tiny') {
    const cfg = loadConfig(overrides(values));
    const { buildTinyCommand } = await import('../image/tiny-guest/cli.js');
    return buildTinyCommand({
      dataDir: cfg.dataDir, register: values.register ? true : values['no-register'] ? false : undefined,
      cloud: values['os-cloud'] as string | undefined, cloudsYaml: values['clouds-yaml'] as string | undefined,
      // progress goes to stdout; JSON logs to stderr only from warn up unless a level is asked for
      force: !!values.rebuild, logger: createLogger(values['log-level'] || process.env.NUBO_LOG_LEVEL ? cfg.logLevel : 'warn'),
    });
  }
  if (cmd === 'network' && positionals[1] === 'teardown') {
    const cfg = loadConfig(overrides(values));
    const { teardownDataplane } = await import('../network/dataplane-layout.js');
    const removed = await teardownDataplane(cfg, createLogger(cfg.logLevel));
    console.log(`removed the dataplane of ${cfg.dataDir} (host namespaces: ${removed.join(', ')})`);
    return 0;
  }
  if (cmd === 'keys' && positionals[1] === 'rotate') {
    const cfg = loadConfig(overrides(values));
    const repo = new KeyRepository(join(cfg.dataDir, 'fernet-keys'));
    repo.setup();
    repo.rotate();
    console.log(`rotated token keys in ${join(cfg.dataDir, 'fernet-keys')}; send SIGHUP to a running nubo (or restart it) to sign with the new primary key`);
    return 0;
  }
  process.stderr.write(`nubo: unknown command '${positionals.join(' ')}'\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exit(code); },
  (err: Error) => {
    process.stderr.write(`nubo: ${err.message}\n`);
    process.exit(1);
  },
);
