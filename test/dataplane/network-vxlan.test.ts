import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTinyGuest } from '../../src/image/tiny-guest/builder.js';
import { registerTinyGuest } from '../../src/image/tiny-guest/register.js';
import type { NetworkServiceModule } from '../../src/network/network-service.js';
import { dataplaneProblems as networkProblems } from '../../src/network/drivers/registry.js';
import { removeSimulatedUnderlay } from '../../src/network/drivers/linux/underlay.js';
import { startTestCloud, type TestCloud } from '../helpers/cloud.js';
import { dataplaneProblems, dataplaneSkip, exec } from '../helpers/dataplane.js';

/**
 * Two hosts, each its own network namespace with its own agent, joined by a simulated
 * underlay: one tenant network carried over VXLAN between real guests on both. The guest on
 * the second host gets its DHCP lease and metadata from the first (where DHCP runs), and the
 * guests reach each other.
 */
const CACHE = process.env.NUBO_CACHE_DIR || '/var/tmp/nubo-cache';
const BOOT_MS = Number(process.env.NUBO_BOOT_TIMEOUT_MS) || 240_000;
const PREFIX = 'nvx-';
const found = [...dataplaneProblems(), ...networkProblems()];
const skip = dataplaneSkip(found);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('one tenant network over VXLAN between two hosts with real guests (dataplane)', { skip }, () => {
  let tc: TestCloud;
  let token: string;
  let dir: string;
  let key: string;
  let imageId: string;
  const ids: Record<string, string> = {};
  const ip: Record<string, string> = {};
  const nova = (method: string, path: string, body?: unknown) => tc.request(method, path, { token, body, service: 'compute' });
  const neutron = async (method: string, path: string, body?: unknown, want?: number) => {
    const r = await tc.request(method, path, { token, body, service: 'network' });
    if (want !== undefined) assert.equal(r.status, want, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const network = () => tc.cloud.modules.find((m) => m.name === 'network') as NetworkServiceModule;

  before(async () => {
    if (found.length) throw new Error(`CI is set, so the dataplane tier must run: ${found.join('; ')}`);
    dir = mkdtempSync(join(tmpdir(), 'nubo-vx-'));
    key = join(dir, 'id_ed25519');
    assert.equal((await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])).code, 0);
    const build = await buildTinyGuest({ cacheDir: join(CACHE, 'tiny-guest') });
    tc = await startTestCloud({
      services: ['identity', 'placement', 'image', 'network', 'compute'],
      compute: { driver: 'qemu', host: 'vx1', localHosts: 2 },
      network: { driver: 'linux', namespacePrefix: PREFIX, separateHosts: true, externalCidr: '172.31.249.0/24', externalHostAddress: '172.31.249.1', privateCidr: '10.79.0.0/24' },
      dataDir: mkdtempSync('/tmp/nubo-vx-'),
    });
    token = await tc.adminToken();
    const reg = await registerTinyGuest(build, { cloudsYaml: tc.cloud.cloudsYamlPath, cloud: 'nubo' }, { out: { write: () => true } as never });
    imageId = reg.images.machine.id;
    assert.equal((await nova('POST', '/v2.1/os-keypairs', { keypair: { name: 'vx', public_key: readFileSync(`${key}.pub`, 'utf8').trim() } })).status, 200);
  });

  after(async () => {
    if (tc) {
      const agents = network().agents;
      await tc.stop();
      for (const a of agents) await a.driver.teardown().catch(() => undefined);
      await removeSimulatedUnderlay(`${PREFIX}underlay`);
      rmSync(tc.dataDir, { recursive: true, force: true });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs one agent per host, each in its own namespace with its tunnel address', async () => {
    const agents = network().agents;
    assert.equal(agents.length, 2);
    assert.deepEqual(agents.map((a) => a.driver.tapNamespace), [`${PREFIX}a1-host`, `${PREFIX}a2-host`]);
    const listed = (await neutron('GET', '/v2.0/agents?agent_type=Linux%20bridge%20agent', undefined, 200)).agents;
    assert.deepEqual(listed.map((a: any) => a.configurations.tunneling_ip).sort(), ['192.168.254.1', '192.168.254.2']);
  });

  it('guests on both hosts get their leases over VXLAN and reach each other', async (t) => {
    ids.net = (await neutron('POST', '/v2.0/networks', { network: { name: 'vx' } }, 201)).network.id;
    await neutron('POST', '/v2.0/subnets', { subnet: { network_id: ids.net, cidr: '10.78.0.0/24', ip_version: 4 } }, 201);
    const sg = (await neutron('POST', '/v2.0/security-groups', { security_group: { name: 'vx-open' } }, 201)).security_group.id;
    for (const rule of [{ protocol: 'icmp' }, { protocol: 'tcp', port_range_min: 22, port_range_max: 22 }]) {
      await neutron('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: sg, direction: 'ingress', ...rule } }, 201);
    }
    for (const [g, host] of [['g1', 'vx1'], ['g2', 'vx1-2']]) {
      const r = await nova('POST', '/v2.1/servers', { server: { name: `vx-${g}`, imageRef: imageId, flavorRef: '1', key_name: 'vx', networks: [{ uuid: ids.net }], security_groups: [{ name: 'vx-open' }], availability_zone: `nova:${host}` } });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids[g] = r.body.server.id;
    }
    for (const g of ['g1', 'g2']) {
      const deadline = Date.now() + BOOT_MS;
      for (;;) {
        const s = (await nova('GET', `/v2.1/servers/${ids[g]}`)).body.server;
        if (s.status === 'ACTIVE') { ip[g] = s.addresses.vx[0].addr; break; }
        if (s.status === 'ERROR' || Date.now() > deadline) throw new Error(`${g}: ${JSON.stringify(s).slice(0, 400)}`);
        await sleep(500);
      }
    }
    const ports = (await neutron('GET', `/v2.0/ports?network_id=${ids.net}&device_owner=compute:nova`)).ports;
    assert.deepEqual(ports.map((p: any) => p['binding:host_id']).sort(), ['vx1', 'vx1-2']);
    // the second host's guest got its address from dnsmasq on the first host: over VXLAN
    for (const g of ['g1', 'g2']) {
      const deadline = Date.now() + BOOT_MS;
      for (;;) {
        const out: string = (await nova('POST', `/v2.1/servers/${ids[g]}/action`, { 'os-getConsoleOutput': {} })).body?.output ?? '';
        if (out.includes(`READY hostname=vx-${g} ip=${ip[g]}`)) { assert.match(out, /metadata source=metadata-service/); break; }
        if (Date.now() > deadline) throw new Error(`${g} console:\n${out.slice(-1500)}`);
        await sleep(1000);
      }
    }
    // from the DHCP namespace (first host) into the guest on the second host, and from there to the first guest
    const qdhcp = `${PREFIX}a1-qdhcp-${ids.net}`;
    let out = '';
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await exec('ip', ['netns', 'exec', qdhcp, 'ssh', '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `root@${ip.g2}`, `hostname; ping -c 3 -W 2 ${ip.g1} >/dev/null && echo reached-g1`], 30_000);
      out = r.stdout;
      if (r.code === 0 || Date.now() > deadline) break;
      await sleep(1000);
    }
    t.diagnostic(out.trim().replace(/\n/g, ' | '));
    assert.match(out, /vx-g2/);
    assert.match(out, /reached-g1/);
    for (const g of ['g1', 'g2']) await nova('DELETE', `/v2.1/servers/${ids[g]}`);
  });
});
