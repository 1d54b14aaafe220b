import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GuestNotFound, type ComputeDriver, type GuestInfo, type HostResources, type InstanceSpec, type PowerState } from './driver.js';

/**
 * FAKE hypervisor: simulates guests in memory, for scale tests and API conformance runs.
 * Reported as hypervisor_type 'fake'; nothing runs. Capacity is configurable, so one process
 * can hold many simulated hosts.
 */
export function createFakeDriver(resources: { vcpus: number; memoryMb: number; diskGb: number }): ComputeDriver {
  const guests = new Map<string, { state: PowerState; console: string[] }>();
  const get = (uuid: string) => {
    const g = guests.get(uuid);
    if (!g) throw new GuestNotFound(uuid);
    return g;
  };
  const boot = (spec: InstanceSpec): GuestInfo => {
    const g = guests.get(spec.uuid) ?? { state: 'running' as PowerState, console: [] };
    g.state = 'running';
    g.console.push(`fake: ${spec.name} booted (${spec.vcpus} vCPU, ${spec.memoryMb} MB)`, `fake: READY hostname=${spec.name}`);
    guests.set(spec.uuid, g);
    return { powerState: 'running' };
  };
  return {
    type: 'fake',
    async hostResources(): Promise<HostResources> {
      return { ...resources, hypervisorType: 'fake', hypervisorVersion: 1000, cpuInfo: { arch: 'x86_64', model: 'fake', vendor: 'fake' }, hostIp: '127.0.0.1' };
    },
    async spawn(spec) { return boot(spec); },
    async destroy(uuid) { guests.delete(uuid); },
    async powerOff(uuid) { get(uuid).state = 'shutdown'; },
    async powerOn(spec) { return boot(spec); },
    async reboot(spec) { return boot(spec); },
    async pause(uuid) { get(uuid).state = 'paused'; },
    async unpause(uuid) { get(uuid).state = 'running'; },
    async suspend(uuid) { get(uuid).state = 'suspended'; },
    async resume(spec) { get(spec.uuid).state = 'running'; return { powerState: 'running' }; },
    async info(uuid) { return { powerState: get(uuid).state }; },
    async listGuests() { return [...guests.keys()]; },
    async consoleOutput(uuid, lines) {
      const all = get(uuid).console;
      return (lines === undefined ? all : all.slice(-lines)).join('\n') + '\n';
    },
    async snapshot(uuid, destDir) {
      get(uuid);
      // A tiny stand-in disk: the fake has no real one.
      const path = join(destDir, `${uuid}.snapshot.qcow2`);
      writeFileSync(path, Buffer.from('fake snapshot of ' + uuid));
      return { path, format: 'qcow2' };
    },
    async injectNmi(uuid) { get(uuid).console.push('fake: NMI received'); },
    async rescue(spec) { get(spec.uuid).console.push(`fake: ${spec.name} rescue boot`); get(spec.uuid).state = 'running'; return { powerState: 'running' }; },
    async unrescue(spec) { return boot(spec); },
    async prepareIncoming(spec) {
      guests.set(spec.uuid, { state: 'paused', console: [`fake: ${spec.name} waiting for incoming migration`] });
      return { uri: `fake:${spec.uuid}` };
    },
    async migrateOut(uuid) { get(uuid); guests.delete(uuid); },
    async finishIncoming(uuid) { get(uuid).state = 'running'; return { powerState: 'running' }; },
    async abortIncoming(uuid) { guests.delete(uuid); },
    async migrationSource(uuid) { get(uuid); return { diskPath: `fake:${uuid}` }; },
    async close() { guests.clear(); },
  };
}
