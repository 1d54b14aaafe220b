// Boot-to-SSH of the tiny guest: through the Compute API with the qemu driver, against the
// same guest started by hand with bare QEMU (same kernel, initramfs, root disk as a qcow2
// overlay, 192 MB, user-mode NIC with SSH forwarded, key from a metadata server). Root only.
//
//   npm run bench:boot
//   node dist/bench/compute-boot.js [--rounds N] [--json FILE]
//
// Each round boots one guest each way (alternating, so host load hits both alike) and times
// from the request (or from exec for bare QEMU) to the first successful `ssh ... true`. The
// API figure is given cold (first boot: the images are fetched into the host's cache and the
// kernel's PVH vmlinux extracted) and warm (later boots). Prints times and the ratio to the
// bare QEMU median (goal: warm ≤ 1.3×). Never fails on a time.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { guestfwdOption, installForwarder, SLIRP_NET } from '../src/compute/drivers/qemu/metadata-forward.js';
import type { ComputeServiceModule } from '../src/compute/compute-service.js';
import { detectAccel } from '../src/core/host/accel.js';
import { buildTinyGuest } from '../src/image/tiny-guest/builder.js';
import { registerTinyGuest } from '../src/image/tiny-guest/register.js';
import { startTestCloud } from '../test/helpers/cloud.js';
import { exec, sshRun } from '../test/helpers/dataplane.js';
import { freeBasePort } from '../test/helpers/process.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, json: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
const CACHE = process.env.NUBO_CACHE_DIR || '/var/tmp/nubo-cache';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s1 = (ms: number) => Math.round(ms / 100) / 10;

const tmp = mkdtempSync('/tmp/nubo-bb-');
const key = join(tmp, 'id');
await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const pub = readFileSync(`${key}.pub`, 'utf8').trim();
const build = await buildTinyGuest({ cacheDir: join(CACHE, 'tiny-guest') });
const accel = await detectAccel({ kernel: build.bootKernel.path, initrd: build.ramdisk.path, cacheFile: join(CACHE, 'accel.json') });
console.log(`tiny guest ${build.key}; accelerator ${accel.accel} (${accel.reason})`);

// The guest asks 169.254.169.254 for its metadata first: the bare QEMU gets a metadata server
// too (a plain HTTP server here, reached through the same slirp guestfwd relay), so both boots
// take the same path through the guest.
const md = createServer((req, res) => {
  if (req.url?.endsWith('/openstack/latest/meta_data.json')) {
    const id = String(req.headers['x-instance-id'] ?? 'bare');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ uuid: id, name: id, hostname: id, public_keys: { k: pub } }));
  } else { res.statusCode = 404; res.end(); }
});
await new Promise<void>((r) => md.listen(0, '127.0.0.1', () => r()));
const mdUrl = `http://127.0.0.1:${(md.address() as AddressInfo).port}`;
const relay = installForwarder(tmp);

/** The guest by hand: what an operator would type (with a metadata server), and nothing Nubo adds. */
async function bareBoot(i: number): Promise<number> {
  const dir = join(tmp, `bare-${i}`);
  mkdirSync(dir);
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', build.rootfs.path, join(dir, 'disk'), '1G']);
  const port = await freeBasePort([0]);
  const t0 = performance.now();
  const q = spawn('qemu-system-x86_64', [
    '-accel', accel.accel === 'kvm' ? 'kvm' : 'tcg,tb-size=32', ...(accel.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-M', 'pc', '-m', '192', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none',
    '-serial', `file:${join(dir, 'console.log')}`, '-device', 'virtio-rng-pci',
    '-kernel', build.bootKernel.path, '-initrd', build.ramdisk.path, '-append', `console=ttyS0 ${build.cmdline.uec} root=/dev/vda`,
    '-drive', `file=${join(dir, 'disk')},format=qcow2,if=none,id=root`, '-device', 'virtio-blk-pci,drive=root',
    '-netdev', `user,id=n0,net=${SLIRP_NET.net},host=${SLIRP_NET.host},dns=${SLIRP_NET.dns},dhcpstart=${SLIRP_NET.dhcpstart},hostfwd=tcp:127.0.0.1:${port}-:22,${guestfwdOption(relay, `bare-${i}`, mdUrl)}`,
    '-device', 'virtio-net-pci,netdev=n0',
  ], { stdio: 'ignore' });
  try {
    await sshRun(key, port, 'true', 180_000, '127.0.0.1', 200);
    return performance.now() - t0;
  } finally {
    q.kill('SIGKILL');
  }
}

const tc = await startTestCloud({ services: ['identity', 'placement', 'image', 'compute'], compute: { driver: 'qemu', host: 'bench' }, dataDir: mkdtempSync('/tmp/nubo-bc-') });
const results: { bare: number[]; apiCold?: number; apiWarm: number[] } = { bare: [], apiWarm: [] };
try {
  const token = await tc.adminToken();
  const reg = await registerTinyGuest(build, { cloudsYaml: tc.cloud.cloudsYamlPath, cloud: 'nubo' }, { out: { write: () => true } as never });
  const nova = (m: string, p: string, body?: unknown) => tc.request(m, p, { token, body, service: 'compute' });
  await nova('POST', '/v2.1/os-keypairs', { keypair: { name: 'bench', public_key: pub } });
  const db = (tc.cloud.modules.find((m) => m.name === 'compute') as ComputeServiceModule).context.db;
  const apiBoot = async (i: number): Promise<number> => {
    const t0 = performance.now();
    const r = await nova('POST', '/v2.1/servers', { server: { name: `api-${i}`, imageRef: reg.images.machine.id, flavorRef: '42', key_name: 'bench' } });
    if (r.status !== 202) throw new Error(`create: ${r.status} ${JSON.stringify(r.body)}`);
    const id = r.body.server.id;
    let port = 0;
    while (!port) {
      const row = await db.selectFrom('instance').select(['driver_info', 'vm_state']).where('uuid', '=', id).executeTakeFirstOrThrow();
      if (row.vm_state === 'error') throw new Error(`server ${id} went to ERROR`);
      port = Number(JSON.parse(row.driver_info).ssh_port ?? 0);
      if (!port) await new Promise((res) => setTimeout(res, 50));
    }
    await sshRun(key, port, 'true', 180_000, '127.0.0.1', 200);
    const ms = performance.now() - t0;
    await nova('DELETE', `/v2.1/servers/${id}`);
    return ms;
  };
  results.apiCold = await apiBoot(0);
  console.log(`API boot-to-SSH, cold (image fetch + PVH extraction): ${s1(results.apiCold)} s`);
  for (let i = 1; i <= ROUNDS; i++) {
    const bare = await bareBoot(i);
    const api = await apiBoot(i);
    results.bare.push(bare);
    results.apiWarm.push(api);
    console.log(`round ${i}: bare QEMU ${s1(bare)} s, API ${s1(api)} s`);
  }
  const ratio = median(results.apiWarm) / median(results.bare);
  console.log(`boot-to-SSH medians over ${ROUNDS} rounds: bare QEMU ${s1(median(results.bare))} s, API (warm) ${s1(median(results.apiWarm))} s = ${ratio.toFixed(2)}x (goal <= 1.3x)`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ ...results, ratio }, null, 2) + '\n');
} finally {
  md.close();
  await tc.stop();
  rmSync(tc.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
}
