import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FILTERS, rank, type HostState, type RequestSpec } from '../../src/compute/scheduler/filters.js';

const host = (name: string, o: Partial<HostState> = {}): HostState => ({
  providerUuid: `rp-${name}`, name, allocations: { VCPU: 1 }, capacity: { MEMORY_MB: 4096 }, used: { MEMORY_MB: 0 }, traits: [], aggregates: [],
  host: name, nodeName: name, disabled: false, zone: 'nova', instances: new Set(), aggregateMeta: new Map(), hypervisorType: 'QEMU', arch: 'x86_64', ...o,
});
const spec = (o: Partial<RequestSpec> = {}): RequestSpec => ({ instanceUuid: 'i-1', ...o });
const names = (hs: HostState[]) => hs.map((h) => h.host);

describe('scheduler filters and weighers', () => {
  it('spreads by free RAM, or stacks with a negative multiplier', () => {
    const hs = [host('a', { used: { MEMORY_MB: 3000 } }), host('b', { used: { MEMORY_MB: 1000 } }), host('c', { used: { MEMORY_MB: 2000 } })];
    assert.deepEqual(names(rank(hs, spec())), ['b', 'c', 'a']);
    assert.deepEqual(names(rank(hs, spec(), -1)), ['a', 'c', 'b']);
  });

  it('drops disabled hosts, other zones, and honours a forced host', () => {
    const hs = [host('a', { disabled: true }), host('b', { zone: 'az2' }), host('c')];
    assert.deepEqual(names(rank(hs, spec())).sort(), ['b', 'c']);
    assert.deepEqual(names(rank(hs, spec({ availabilityZone: 'az2' }))), ['b']);
    assert.deepEqual(names(rank(hs, spec({ forceHost: 'c' }))), ['c']);
  });

  it('keeps server groups apart or together (hard and soft)', () => {
    const hs = [host('a'), host('b')];
    assert.deepEqual(names(rank(hs, spec({ group: { policy: 'anti-affinity', rules: {}, hosts: ['a'] } }))), ['b']);
    assert.deepEqual(names(rank(hs, spec({ group: { policy: 'anti-affinity', rules: { max_server_per_host: 2 }, hosts: ['a'] } }))).sort(), ['a', 'b']);
    assert.deepEqual(names(rank(hs, spec({ group: { policy: 'affinity', rules: {}, hosts: ['b'] } }))), ['b']);
    assert.deepEqual(names(rank(hs, spec({ group: { policy: 'soft-affinity', rules: {}, hosts: ['b'] } })))[0], 'b');
    assert.deepEqual(names(rank(hs, spec({ group: { policy: 'soft-anti-affinity', rules: {}, hosts: ['a'] } })))[0], 'b');
  });

  it('same_host / different_host follow the named servers', () => {
    const hs = [host('a', { instances: new Set(['s1']) }), host('b')];
    assert.deepEqual(names(rank(hs, spec({ sameHost: ['s1'] }))), ['a']);
    assert.deepEqual(names(rank(hs, spec({ differentHost: ['s1'] }))), ['b']);
  });

  it('matches aggregate extra specs and image properties', () => {
    const ssd = host('a', { aggregateMeta: new Map([['ssd', new Set(['true'])]]) });
    const hs = [ssd, host('b', { arch: 'aarch64' })];
    assert.deepEqual(names(rank(hs, spec({ flavorExtraSpecs: { 'aggregate_instance_extra_specs:ssd': 'true', 'hw:cpu_policy': 'shared' } }))), ['a']);
    assert.deepEqual(names(rank(hs, spec({ flavorExtraSpecs: { 'aggregate_instance_extra_specs:ssd': '<in> false <or> true' } }))), ['a']);
    assert.deepEqual(names(rank(hs, spec({ image: { architecture: 'aarch64' } }))), ['b']);
    assert.ok(FILTERS.ImagePropertiesFilter(host('c'), spec({ image: { hypervisorType: 'kvm' } })), 'kvm images run on QEMU hosts');
    assert.ok(!FILTERS.ImagePropertiesFilter(host('c'), spec({ image: { hypervisorType: 'xen' } })));
  });
});
