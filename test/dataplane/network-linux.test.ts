import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/core/logger.js';
import { which } from '../../src/core/host/tools.js';
import type { FirewallRule, HostDataplane, VmPort } from '../../src/network/drivers/driver.js';
import { tapName } from '../../src/network/drivers/driver.js';
import { LinuxDataplaneDriver, type LinuxDriverOptions } from '../../src/network/drivers/linux/linux-driver.js';
import { createDataplaneDriver, dataplaneProblems } from '../../src/network/drivers/registry.js';
import { dataplaneSkip, exec } from '../helpers/dataplane.js';

/**
 * The Linux dataplane driver against the real kernel. "Guests" are network namespaces joined to the
 * host namespace by a veth whose host end carries the port's tap name; they get their address from
 * dnsmasq with busybox udhcpc, then talk with busybox ping/wget/httpd.
 */

const skip = dataplaneSkip(dataplaneProblems());
const BB = '/bin/busybox';
const IP = which('ip') ?? 'ip';
const log = createLogger(process.env.NUBO_TEST_LOG ?? 'warn', 'dataplane-test');
const uuid = (k: string) => `${k.padEnd(8, '0')}-0000-4000-8000-000000000000`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const r = await exec(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
const inNs = (ns: string, args: string[], timeoutMs?: number) => sh(IP, ['netns', 'exec', ns, ...args], timeoutMs);
const ok = async (ns: string, args: string[], timeoutMs = 8000) => (await exec(IP, ['netns', 'exec', ns, ...args], timeoutMs)).code === 0;
const ping = (ns: string, to: string, extra: string[] = []) => ok(ns, [BB, 'ping', '-c', '1', '-W', '1', ...extra, to]);
const wget = async (ns: string | null, url: string, secs = 3): Promise<string | null> => {
  const r = ns ? await exec(IP, ['netns', 'exec', ns, 'timeout', String(secs), BB, 'wget', '-q', '-O', '-', url], (secs + 2) * 1000)
    : await exec('timeout', [String(secs), BB, 'wget', '-q', '-O', '-', url], (secs + 2) * 1000);
  return r.code === 0 ? r.stdout : null;
};
async function eventually<T>(what: string, fn: () => Promise<T | null | false>, ms = 15_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== false) return v as T;
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(200);
  }
}

/** What the root and host namespaces hold with a prefix (must be nothing after teardown). */
function leftovers(prefix: string, stateDir: string): string[] {
  const out: string[] = [];
  try { out.push(...readdirSync('/run/netns').filter((n) => n.startsWith(prefix)).map((n) => `netns ${n}`)); } catch { /* none */ }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(stateDir) && (cmd.includes('dnsmasq') || cmd.includes('haproxy'))) out.push(`process ${pid} ${cmd.replace(/\0/g, ' ')}`);
    } catch { /* exited */ }
  }
  return out;
}

class Guests {
  readonly dir: string;
  readonly procs: ChildProcess[] = [];
  readonly names = new Set<string>();
  constructor(readonly prefix: string, base: string) {
    this.dir = join(base, `${prefix}guests`);
    mkdirSync(this.dir, { recursive: true });
    // udhcpc hook: address, option 121 routes (or the router), and one line the test reads.
    writeFileSync(join(this.dir, 'udhcpc.sh'), `#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
${IP} addr flush dev $interface
${IP} addr add $ip/$mask dev $interface
if [ -n "$staticroutes" ]; then
  set -- $staticroutes
  while [ $# -ge 2 ]; do ${IP} route replace $1 via $2 dev $interface; shift 2; done
elif [ -n "$router" ]; then
  ${IP} route replace default via \${router%% *} dev $interface
fi
echo "LEASE ip=$ip mask=$mask router=$router staticroutes=$staticroutes mtu=$mtu"
`);
    chmodSync(join(this.dir, 'udhcpc.sh'), 0o755);
  }
  ns = (g: string) => `${this.prefix}${g}`;
  /** A guest namespace whose eth0 is the peer of a veth named like the port's tap in the host namespace. */
  async add(g: string, hostNs: string, port: VmPort): Promise<void> {
    const ns = this.ns(g);
    this.names.add(ns);
    if (!existsSync(`/run/netns/${hostNs}`)) await sh(IP, ['netns', 'add', hostNs]);
    await sh(IP, ['netns', 'add', ns]);
    await sh(IP, ['-n', ns, 'link', 'set', 'lo', 'up']);
    await sh(IP, ['-n', hostNs, 'link', 'add', port.tap, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await sh(IP, ['-n', ns, 'link', 'set', 'eth0', 'address', port.mac, 'up']);
  }
  async dhcp(g: string): Promise<string> {
    const out = await inNs(this.ns(g), [BB, 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '10', '-T', '1', '-O', 'staticroutes', '-O', 'mtu', '-s', join(this.dir, 'udhcpc.sh')], 30_000);
    const line = out.split('\n').find((l) => l.startsWith('LEASE'));
    assert.ok(line, `no lease for ${g}: ${out}`);
    return line;
  }
  httpd(g: string, body: string): void {
    const root = join(this.dir, `www-${g}`);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'index.html'), body);
    const p = spawn(IP, ['netns', 'exec', this.ns(g), BB, 'httpd', '-f', '-p', '8080', '-h', root], { stdio: 'ignore' });
    this.procs.push(p);
  }
  async cleanup(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    for (const ns of this.names) await exec(IP, ['netns', 'del', ns]);
  }
}

/** The metadata service stand-in: a unix-socket HTTP server recording the headers it got. */
function metadataServer(path: string): { server: Server; seen: IncomingHttpHeaders[] } {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => { seen.push(req.headers); res.end('md-ok'); });
  server.listen(path);
  return { server, seen };
}

// ---------------------------------------------------------------- single host

const NET = { a: uuid('a1'), b: uuid('b1'), c: uuid('c1'), ext: uuid('e1') };
const ROUTER = uuid('r1');
const mac = (x: string) => `fa:16:3e:${x}`;
const allowAll: FirewallRule = { direction: 'egress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remote: null };
const icmpIn: FirewallRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portMin: null, portMax: null, remote: null };
const http8080: FirewallRule = { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 8080, portMax: 8080, remote: ['10.77.1.0/24'] };

function vm(id: string, net: string, m: string, ip: string, rules: FirewallRule[] | null): VmPort {
  const pid = uuid(id);
  return { id: pid, networkId: net, mac: mac(m), tap: tapName(pid), ips: [ip], adminUp: true,
    security: rules ? { allowedPairs: [], rules, stateful: true } : null };
}

function singleHostState(o: { router: boolean; http: boolean }): HostDataplane {
  const nets = [
    { id: NET.a, vni: 1001, mtu: 1450, external: false, peers: [] },
    { id: NET.b, vni: 1002, mtu: 1450, external: false, peers: [] },
    { id: NET.c, vni: 1003, mtu: 1450, external: false, peers: [] },
    { id: NET.ext, vni: null, mtu: 1500, external: true, peers: [] },
  ];
  const ports = [
    vm('g1', NET.a, '01:00:11', '10.77.1.11', [allowAll, icmpIn, ...(o.http ? [http8080] : [])]),
    vm('g2', NET.a, '01:00:12', '10.77.1.12', null),
    vm('g3', NET.c, '03:00:11', '10.77.3.11', null),
    vm('g4', NET.b, '02:00:11', '10.77.2.11', null),
  ];
  const dhcp = (net: string, n: number, hosts: [string, string, string][], metadata: boolean) => ({
    networkId: net, mtu: 1450, domain: 'nubo.test', metadata,
    port: { id: uuid(`d${n}`), mac: mac(`0${n}:00:02`), ips: [{ address: `10.77.${n}.2`, prefixlen: 24, version: 4 as const }] },
    subnets: [{ id: uuid(`s${n}`), cidr: `10.77.${n}.0/24`, version: 4 as const, gateway: `10.77.${n}.1`, dnsNameservers: [], hostRoutes: [], ipv6AddressMode: null }],
    hosts: hosts.map(([m, ip, h]) => ({ mac: mac(m), ip, hostname: h, subnetId: uuid(`s${n}`) })),
  });
  return {
    networks: nets,
    ports,
    dhcp: [
      dhcp(NET.a, 1, [['01:00:11', '10.77.1.11', 'g1'], ['01:00:12', '10.77.1.12', 'g2']], false),
      dhcp(NET.b, 2, [['02:00:11', '10.77.2.11', 'g4']], false),
      dhcp(NET.c, 3, [['03:00:11', '10.77.3.11', 'g3']], true),
    ],
    routers: o.router ? [{
      id: ROUTER,
      gateway: { networkId: NET.ext, portId: uuid('rg'), mac: mac('0e:00:0a'), ips: [{ address: '172.30.77.10', prefixlen: 24, version: 4 }], nexthop: '172.30.77.1', snat: true },
      interfaces: [
        { portId: uuid('ra'), networkId: NET.a, mac: mac('01:00:01'), ips: [{ address: '10.77.1.1', prefixlen: 24, version: 4 }] },
        { portId: uuid('rb'), networkId: NET.b, mac: mac('02:00:01'), ips: [{ address: '10.77.2.1', prefixlen: 24, version: 4 }] },
      ],
      routes: [],
      floatingIps: [{ floating: '172.30.77.100', fixed: '10.77.1.12' }],
      portForwardings: [{ floating: '172.30.77.101', protocol: 'tcp', externalPort: 18080, internal: '10.77.2.11', internalPort: 8080 }],
      metadata: true,
    }] : [],
  };
}

describe('linux dataplane driver: one host', { skip }, () => {
  const prefix = 'nt1-';
  const base = mkdtempSync(join(tmpdir(), 'nubo-nt1-'));
  const opts: LinuxDriverOptions = {
    prefix, hostNamespace: 'nt1-host', stateDir: join(base, 'state'), metadataSocket: join(base, 'md.sock'),
    external: { cidr: '172.30.77.0/24', hostAddress: '172.30.77.1/24' }, logger: log,
  };
  const guests = new Guests('ntg1-', base);
  let driver = new LinuxDataplaneDriver(opts);
  const md = metadataServer(opts.metadataSocket);
  const seenSources: string[] = [];
  const upstream = createServer((req, res) => { seenSources.push(req.socket.remoteAddress ?? ''); res.end('upstream'); });

  before(async () => {
    const ports = singleHostState({ router: false, http: false }).ports;
    for (const g of ['g1', 'g2', 'g3', 'g4']) await guests.add(g, opts.hostNamespace, ports.find((p) => p.id === uuid(g))!);
  });
  after(async () => {
    await guests.cleanup();
    await driver.teardown().catch(() => undefined);
    md.server.close();
    upstream.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('serves static DHCP leases (option 121 with the metadata route on an isolated network)', async () => {
    await driver.apply(singleHostState({ router: false, http: false }));
    assert.match(await guests.dhcp('g1'), /ip=10\.77\.1\.11 mask=24 router=10\.77\.1\.1 .*mtu=1450/);
    assert.match(await guests.dhcp('g2'), /ip=10\.77\.1\.12 /);
    assert.match(await guests.dhcp('g4'), /ip=10\.77\.2\.11 /);
    assert.match(await guests.dhcp('g3'), /ip=10\.77\.3\.11 .*staticroutes=169\.254\.169\.254\/32 10\.77\.3\.2 0\.0\.0\.0\/0 10\.77\.3\.1/);
    for (const g of ['g1', 'g2', 'g3', 'g4']) guests.httpd(g, g);
    // apply is idempotent: nothing restarts
    const pidFile = join(opts.stateDir, `${prefix}dhcp-${NET.a}`, 'pid');
    const pid = readFileSync(pidFile, 'utf8');
    await driver.apply(singleHostState({ router: false, http: false }));
    assert.equal(readFileSync(pidFile, 'utf8'), pid);
  });

  it('connects guests on one network and isolates networks without a router', async () => {
    await eventually('g2 pings g1', () => ping(guests.ns('g2'), '10.77.1.11'));
    assert.equal(await ping(guests.ns('g2'), '10.77.2.11'), false);
  });

  it('proxies metadata from an isolated network with the client address and network id', async () => {
    const body = await eventually('metadata from g3', () => wget(guests.ns('g3'), 'http://169.254.169.254/openstack'));
    assert.equal(body, 'md-ok');
    const h = md.seen.at(-1)!;
    assert.equal(h['x-forwarded-for'], '10.77.3.11');
    assert.equal(h['x-nubo-network-id'], NET.c);
    // a guest cannot pose as another address or network
    const r = await exec(IP, ['netns', 'exec', guests.ns('g3'), 'timeout', '3', BB, 'wget', '-q', '-O', '-',
      '--header', 'X-Forwarded-For: 10.77.3.99', '--header', `X-Nubo-Network-Id: ${NET.a}`, 'http://169.254.169.254/openstack']);
    assert.equal(r.stdout, 'md-ok');
    assert.equal(md.seen.at(-1)!['x-forwarded-for'], '10.77.3.11');
    assert.equal(md.seen.at(-1)!['x-nubo-network-id'], NET.c);
  });

  it('security group: TCP blocked without a rule, open within 2 s of adding it, closed again when removed', async () => {
    assert.equal(await wget(guests.ns('g2'), 'http://10.77.1.11:8080/', 2), null);
    await driver.apply(singleHostState({ router: false, http: true }));
    const t0 = performance.now();
    const body = await eventually('g2 reaches g1:8080', () => wget(guests.ns('g2'), 'http://10.77.1.11:8080/', 1), 2000);
    assert.equal(body, 'g1');
    log.info({ ms: Math.round(performance.now() - t0) }, 'rule effective');
    const tracked = async () => (await inNs(opts.hostNamespace, ['conntrack', '-L', '-p', 'tcp', '-d', '10.77.1.11'])).trim();
    assert.match(await tracked(), /dport=8080/, 'the allowed flow is tracked');
    await driver.apply(singleHostState({ router: false, http: false }));
    assert.equal(await tracked(), '', 'removing the rule dropped the conntrack entries of the port');
    assert.equal(await wget(guests.ns('g2'), 'http://10.77.1.11:8080/', 2), null);
    assert.ok(await ping(guests.ns('g2'), '10.77.1.11'), 'icmp still allowed');
  });

  it('stops a port spoofing another IP or MAC', async () => {
    const g1 = guests.ns('g1');
    assert.ok(await ping(g1, '10.77.1.12'));
    await sh(IP, ['-n', g1, 'addr', 'add', '10.77.1.99/24', 'dev', 'eth0']);
    await exec(IP, ['-n', guests.ns('g2'), 'neigh', 'flush', 'all']);
    assert.equal(await ping(g1, '10.77.1.12', ['-I', '10.77.1.99']), false);
    await sh(IP, ['-n', g1, 'addr', 'del', '10.77.1.99/24', 'dev', 'eth0']);
    await sh(IP, ['-n', g1, 'link', 'set', 'eth0', 'address', mac('01:00:99')]);
    await exec(IP, ['-n', guests.ns('g2'), 'neigh', 'flush', 'all']);
    assert.equal(await ping(g1, '10.77.1.12'), false);
    await sh(IP, ['-n', g1, 'link', 'set', 'eth0', 'address', mac('01:00:11')]);
    await exec(IP, ['-n', guests.ns('g2'), 'neigh', 'flush', 'all']);
    await eventually('g1 pings g2 again', () => ping(g1, '10.77.1.12'));
    const table = await inNs(opts.hostNamespace, ['nft', 'list', 'table', 'bridge', 'nubo_spoof']);
    assert.match(table, /counter packets [1-9]\d* bytes \d+ drop/, 'the anti-spoofing chain dropped the spoofed frames');
  });

  async function routedChecks(): Promise<void> {
    await eventually('g2 pings g4 through the router', () => ping(guests.ns('g2'), '10.77.2.11'));
    // SNAT: the upstream server sees the router's gateway address
    const port = (upstream.address() as { port: number }).port;
    assert.equal(await eventually('g4 reaches upstream', () => wget(guests.ns('g4'), `http://172.30.77.1:${port}/`)), 'upstream');
    assert.equal(seenSources.at(-1)?.replace(/^::ffff:/, ''), '172.30.77.10');
    // floating IP and port forwarding from the root namespace
    assert.equal(await eventually('root reaches the floating IP', () => wget(null, 'http://172.30.77.100:8080/')), 'g2');
    assert.ok(await eventually('root pings the floating IP', async () => (await exec(BB, ['ping', '-c', '1', '-W', '1', '172.30.77.100'])).code === 0));
    assert.equal(await eventually('root reaches the port forwarding', () => wget(null, 'http://172.30.77.101:18080/')), 'g4');
    // metadata through the router
    assert.equal(await eventually('metadata from g4 via the router', () => wget(guests.ns('g4'), 'http://169.254.169.254/openstack')), 'md-ok');
    const h = md.seen.at(-1)!;
    assert.equal(h['x-forwarded-for'], '10.77.2.11');
    assert.equal(h['x-nubo-router-id'], ROUTER);
  }

  it('routes between networks, SNATs to the gateway, DNATs floating IPs and port forwardings, proxies metadata', async () => {
    await driver.apply(singleHostState({ router: true, http: false }));
    await new Promise<void>((r) => upstream.listen(0, '172.30.77.1', r));
    await routedChecks();
  });

  it('a restarted driver re-applying the same state keeps everything working', async () => {
    driver = new LinuxDataplaneDriver(opts);
    // leftovers of a previous life that the state does not hold
    await sh(IP, ['netns', 'add', `${prefix}qdhcp-stale`]);
    await sh(IP, ['netns', 'add', `${prefix}qrouter-stale`]);
    await sh(IP, ['-n', opts.hostNamespace, 'link', 'add', 'brqstale00000', 'type', 'bridge']);
    await sh(IP, ['-n', opts.hostNamespace, 'tuntap', 'add', 'dev', 'tapstale0000', 'mode', 'tap']);
    mkdirSync(join(opts.stateDir, `${prefix}dhcp-stale`));
    const pidFile = join(opts.stateDir, `${prefix}dhcp-${NET.b}`, 'pid');
    const pid = readFileSync(pidFile, 'utf8');
    await driver.apply(singleHostState({ router: true, http: false }));
    assert.equal(readFileSync(pidFile, 'utf8'), pid, 'dnsmasq kept running');
    await routedChecks();
    await eventually('g2 pings g1', () => ping(guests.ns('g2'), '10.77.1.11'));
    assert.ok(!existsSync(`/run/netns/${prefix}qdhcp-stale`) && !existsSync(`/run/netns/${prefix}qrouter-stale`));
    assert.ok(!existsSync(join(opts.stateDir, `${prefix}dhcp-stale`)));
    assert.doesNotMatch(await sh(IP, ['-n', opts.hostNamespace, '-br', 'link']), /stale/);
  });

  it('removing a floating IP cuts it off', async () => {
    const s = singleHostState({ router: true, http: false });
    s.routers[0].floatingIps = [];
    await driver.apply(s);
    assert.equal(await wget(null, 'http://172.30.77.100:8080/', 2), null);
    assert.equal(await wget(null, 'http://172.30.77.101:18080/'), 'g4', 'the port forwarding stays');
  });

  it('an empty state removes everything but the host namespace; teardown removes the rest', async () => {
    await driver.apply({ networks: [], ports: [], dhcp: [], routers: [] });
    assert.deepEqual(leftovers(prefix, opts.stateDir).filter((l) => l !== `netns ${opts.hostNamespace}`), []);
    const hostLinks = await sh(IP, ['-n', opts.hostNamespace, '-br', 'link']);
    assert.doesNotMatch(hostLinks, /brq|tap|vxlan|ext-uplink/);
    assert.doesNotMatch(await inNs(opts.hostNamespace, ['nft', 'list', 'ruleset']), /nubo/);
    assert.doesNotMatch(await sh(IP, ['-br', 'link']), /nt1-ext/);
    await driver.teardown();
    assert.deepEqual(leftovers(prefix, opts.stateDir), []);
  });
});

// ---------------------------------------------------------------- two hosts over VXLAN

describe('linux dataplane driver: two hosts over VXLAN', { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), 'nubo-nt2-'));
  const mk = (prefix: string, localIp: string): LinuxDriverOptions => ({
    prefix, hostNamespace: `${prefix}host`, stateDir: join(base, 'state'), metadataSocket: join(base, 'md.sock'),
    underlay: { localIp, device: prefix === 'nt2a-' ? 'nt2ul1' : 'nt2ul2' }, logger: log,
  });
  const oa = mk('nt2a-', '192.168.200.1');
  const ob = mk('nt2b-', '192.168.200.2');
  const guests = new Guests('ntg2-', base);
  let da: LinuxDataplaneDriver;
  let db: LinuxDataplaneDriver;
  const net = uuid('f1');
  const pa = vm('h1', net, '0f:00:11', '10.78.1.11', null);
  const pb = vm('h2', net, '0f:00:12', '10.78.1.12', null);

  before(async () => {
    da = (await createDataplaneDriver('linux', oa)) as LinuxDataplaneDriver;
    db = (await createDataplaneDriver('linux', ob)) as LinuxDataplaneDriver;
    for (const o of [oa, ob]) await sh(IP, ['netns', 'add', o.hostNamespace]);
    await sh(IP, ['link', 'add', 'nt2ul1', 'type', 'veth', 'peer', 'name', 'nt2ul2']);
    for (const [dev, o, a] of [['nt2ul1', oa, '192.168.200.1/24'], ['nt2ul2', ob, '192.168.200.2/24']] as const) {
      await sh(IP, ['link', 'set', dev, 'netns', o.hostNamespace]);
      await sh(IP, ['-n', o.hostNamespace, 'addr', 'add', a, 'dev', dev]);
      await sh(IP, ['-n', o.hostNamespace, 'link', 'set', dev, 'up']);
    }
    await guests.add('h1', oa.hostNamespace, pa);
    await guests.add('h2', ob.hostNamespace, pb);
  });
  after(async () => {
    await guests.cleanup();
    await da?.teardown().catch(() => undefined);
    await db?.teardown().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  });

  it('a guest on each host gets DHCP from host 1 and reaches the other over VXLAN', async () => {
    const network = (peer: string) => ({ id: net, vni: 2001, mtu: 1450, external: false, peers: [peer] });
    await da.apply({
      networks: [network('192.168.200.2')], ports: [pa], routers: [],
      dhcp: [{
        networkId: net, mtu: 1450, domain: 'nubo.test', metadata: false,
        port: { id: uuid('fd'), mac: mac('0f:00:02'), ips: [{ address: '10.78.1.2', prefixlen: 24, version: 4 }] },
        subnets: [{ id: uuid('fs'), cidr: '10.78.1.0/24', version: 4, gateway: null, dnsNameservers: [], hostRoutes: [], ipv6AddressMode: null }],
        hosts: [{ mac: pa.mac, ip: '10.78.1.11', hostname: 'h1', subnetId: uuid('fs') }, { mac: pb.mac, ip: '10.78.1.12', hostname: 'h2', subnetId: uuid('fs') }],
      }],
    });
    await db.apply({ networks: [network('192.168.200.1')], ports: [pb], dhcp: [], routers: [] });
    assert.match(await guests.dhcp('h1'), /ip=10\.78\.1\.11 /);
    assert.match(await guests.dhcp('h2'), /ip=10\.78\.1\.12 .*mtu=1450/);
    await eventually('h2 pings h1 across hosts', () => ping(guests.ns('h2'), '10.78.1.11'));
    assert.ok(await ping(guests.ns('h1'), '10.78.1.12'));
    await da.teardown();
    await db.teardown();
    assert.deepEqual([...leftovers('nt2a-', oa.stateDir), ...leftovers('nt2b-', ob.stateDir)], []);
  });
});

// ---------------------------------------------------------------- dual stack DHCP, admin state

describe('linux dataplane driver: dual-stack DHCP and port admin state', { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), 'nubo-nt3-'));
  const opts: LinuxDriverOptions = { prefix: 'nt3-', hostNamespace: 'nt3-host', stateDir: join(base, 'state'), metadataSocket: join(base, 'md.sock'), logger: log };
  const guests = new Guests('ntg3-', base);
  const driver = new LinuxDataplaneDriver(opts);
  const net = uuid('d6');
  const port = vm('k1', net, '0d:00:11', '10.79.1.11', null);
  port.ips.push('fd00:79::11');
  const state = (adminUp: boolean): HostDataplane => ({
    networks: [{ id: net, vni: 3001, mtu: 1500, external: false, peers: [] }],
    ports: [{ ...port, adminUp }],
    routers: [],
    dhcp: [{
      networkId: net, mtu: 1500, domain: 'nubo.test', metadata: false,
      port: { id: uuid('k2'), mac: mac('0d:00:02'), ips: [{ address: '10.79.1.2', prefixlen: 24, version: 4 }, { address: 'fd00:79::2', prefixlen: 64, version: 6 }] },
      subnets: [
        { id: uuid('k4'), cidr: '10.79.1.0/24', version: 4, gateway: '10.79.1.1', dnsNameservers: ['10.79.1.53'], hostRoutes: [{ destination: '10.80.0.0/16', nexthop: '10.79.1.254' }], ipv6AddressMode: null },
        { id: uuid('k6'), cidr: 'fd00:79::/64', version: 6, gateway: 'fd00:79::1', dnsNameservers: [], hostRoutes: [], ipv6AddressMode: 'dhcpv6-stateful' },
      ],
      hosts: [{ mac: port.mac, ip: '10.79.1.11', hostname: 'k1', subnetId: uuid('k4') }, { mac: port.mac, ip: 'fd00:79::11', hostname: 'k1', subnetId: uuid('k6') }],
    }],
  });
  before(async () => { await guests.add('k1', opts.hostNamespace, port); });
  after(async () => {
    await guests.cleanup();
    await driver.teardown().catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  });

  it('serves DHCPv4 with host routes and DNS next to a DHCPv6 stateful subnet; adminUp=false takes the port down', async () => {
    await driver.apply(state(true));
    const lease = await guests.dhcp('k1');
    assert.match(lease, /ip=10\.79\.1\.11 .*staticroutes=10\.80\.0\.0\/16 10\.79\.1\.254 0\.0\.0\.0\/0 10\.79\.1\.1/);
    const dir = join(opts.stateDir, `nt3-dhcp-${net}`);
    assert.match(readFileSync(join(dir, 'host'), 'utf8'), /\[fd00:79::11\]/);
    assert.match(await inNs(`nt3-qdhcp-${net}`, ['ss', '-uln']), /:547\b/, 'dnsmasq answers DHCPv6');
    await eventually('ping the DHCP port', () => ping(guests.ns('k1'), '10.79.1.2'));
    await driver.apply(state(false));
    assert.doesNotMatch((await sh(IP, ['-n', opts.hostNamespace, '-br', 'link', 'show', port.tap])).split(/\s+/)[1], /UP/);
    assert.equal(await ping(guests.ns('k1'), '10.79.1.2'), false);
    await driver.teardown();
    assert.deepEqual(leftovers('nt3-', opts.stateDir), []);
  });
});
