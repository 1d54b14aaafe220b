import { statfsSync } from 'node:fs';
import { cpus, networkInterfaces, totalmem } from 'node:os';
import type { HostResources } from '../driver.js';
import { runTool } from './proc.js';

/** What this machine offers as a QEMU host: its CPUs, memory, the free disk under `stateDir`. */
export function hostResourcesOf(stateDir: string, version: number): HostResources {
  const fs = statfsSync(stateDir);
  const cpu = cpus();
  return {
    vcpus: cpu.length,
    memoryMb: Math.floor(totalmem() / 2 ** 20),
    diskGb: Math.floor((fs.bavail * fs.bsize) / 2 ** 30),
    hypervisorType: 'QEMU',
    hypervisorVersion: version,
    cpuInfo: {
      arch: 'x86_64', model: cpu[0]?.model ?? 'unknown', vendor: /AMD/i.test(cpu[0]?.model ?? '') ? 'AMD' : 'Intel',
      topology: { sockets: 1, cores: cpu.length, threads: 1 }, features: [],
    },
    hostIp: hostIp(),
  };
}

/** QEMU's version as Nova encodes it: 7.2.22 -> 7002022. */
export async function qemuVersion(): Promise<number> {
  const out = await runTool('qemu-system-x86_64', ['--version']);
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
