import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname } from 'node:path';
import { which } from './tools.js';

/**
 * Which QEMU accelerator works on this host: KVM when /dev/kvm is usable, TCG otherwise.
 * /dev/kvm being there is not enough: under nested virtualisation KVM can start a guest
 * and then stop it with "KVM internal error ... emulation failure" (seen on this project's
 * machines, where SeaBIOS runs under KVM but Linux does not). So the probe boots a real
 * kernel + initramfs under KVM and waits for its first console output; the verdict is kept
 * in a file keyed by the host kernel and the QEMU binary, so it is paid once per machine.
 * NUBO_QEMU_ACCEL=tcg|kvm overrides the probe.
 */

export interface AccelVerdict { accel: 'kvm' | 'tcg'; reason: string }

export interface AccelProbe {
  /** kernel and initramfs to boot (the tiny guest's): its /init prints a line early */
  kernel: string;
  initrd: string;
  /** where the verdict is kept */
  cacheFile?: string;
  /** console text that shows the guest runs (default: "tinyos:") */
  expect?: string;
  timeoutMs?: number;
}

export function kvmDeviceUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function detectAccel(probe?: AccelProbe): Promise<AccelVerdict> {
  const forced = process.env.NUBO_QEMU_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return { accel: forced, reason: 'NUBO_QEMU_ACCEL' };
  if (!kvmDeviceUsable()) return { accel: 'tcg', reason: '/dev/kvm is missing or not read-writable' };
  const qemu = which('qemu-system-x86_64');
  if (!qemu) return { accel: 'tcg', reason: 'qemu-system-x86_64 not found' };
  if (!probe) return { accel: 'tcg', reason: 'KVM not verified (no probe guest)' };
  const st = statSync(qemu);
  const id = `${release()} ${qemu} ${st.size} ${st.mtimeMs}`;
  if (probe.cacheFile && existsSync(probe.cacheFile)) {
    try {
      const c = JSON.parse(readFileSync(probe.cacheFile, 'utf8')) as AccelVerdict & { id: string };
      if (c.id === id) return { accel: c.accel, reason: `${c.reason} (cached)` };
    } catch { /* probe again */ }
  }
  const verdict = await bootProbe(qemu, probe);
  if (probe.cacheFile) {
    mkdirSync(dirname(probe.cacheFile), { recursive: true });
    writeFileSync(probe.cacheFile, JSON.stringify({ ...verdict, id }) + '\n');
  }
  return verdict;
}

function bootProbe(qemu: string, p: AccelProbe): Promise<AccelVerdict> {
  const expect = p.expect ?? 'tinyos:';
  const timeoutMs = p.timeoutMs ?? 10000;
  return new Promise((resolve) => {
    const child = spawn(qemu, ['-accel', 'kvm', '-M', 'pc', '-m', '256', '-smp', '1', '-nodefaults', '-no-user-config',
      '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-kernel', p.kernel, '-initrd', p.initrd,
      '-append', 'console=ttyS0 quiet panic=-1', '-no-reboot'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    const t0 = Date.now();
    const finish = (v: AccelVerdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(v);
    };
    const timer = setTimeout(() => finish({ accel: 'tcg', reason: `a guest under KVM printed nothing in ${timeoutMs / 1000}s${firstLine(err) ? ` (${firstLine(err)})` : ''}` }), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(expect)) finish({ accel: 'kvm', reason: `a guest under KVM reached its init in ${((Date.now() - t0) / 1000).toFixed(1)}s` });
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/KVM internal error|emulation failure|failed to initialize kvm|Could not access KVM/i.test(err)) {
        finish({ accel: 'tcg', reason: `KVM does not run guests here: ${firstLine(err.match(/.*(KVM internal error|emulation failure|kvm).*/i)?.[0] ?? err)}` });
      }
    });
    child.on('error', (e) => finish({ accel: 'tcg', reason: `qemu: ${e.message}` }));
    child.on('close', (code) => finish({ accel: 'tcg', reason: `qemu -accel kvm exited (${code}) before the guest ran${firstLine(err) ? `: ${firstLine(err)}` : ''}` }));
  });
}

const firstLine = (s: string) => s.trim().split('\n').filter((l) => !/warning: host doesn't support/.test(l))[0]?.slice(0, 200) ?? '';
