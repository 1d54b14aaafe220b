import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocationCandidates, capacityOf, SHARES_TRAIT, type RequestGroup, type SnapInventory, type SnapProvider, type Snapshot } from '../../src/placement/service/candidates.js';

const inv = (total: number, o: Partial<SnapInventory> = {}): SnapInventory => ({ total, reserved: 0, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: 1, ...o });
function rp(uuid: string, o: { parent?: string; root?: string; inv?: Record<string, SnapInventory>; used?: Record<string, number>; traits?: string[]; aggs?: string[] } = {}): SnapProvider {
  return {
    uuid, name: uuid, generation: 0, parent_uuid: o.parent ?? null, root_uuid: o.root ?? uuid,
    inventories: new Map(Object.entries(o.inv ?? {})), usages: new Map(Object.entries(o.used ?? {})),
    traits: new Set(o.traits ?? []), aggregates: new Set(o.aggs ?? []),
  };
}
const snap = (...ps: SnapProvider[]): Snapshot => ({ providers: new Map(ps.map((p) => [p.uuid, p])) });
const group = (suffix: string, resources: Record<string, number>, o: Partial<RequestGroup> = {}): RequestGroup =>
  ({ suffix, resources: new Map(Object.entries(resources)), required: [], forbidden: [], memberOf: [], forbiddenAggregates: [], ...o });
const flat = (r: ReturnType<typeof allocationCandidates>) =>
  r.allocationRequests.map((a) => Object.fromEntries([...a.allocations].map(([u, m]) => [u, Object.fromEntries(m)])));

describe('placement allocation candidates', () => {
  it('computes capacity as (total - reserved) * ratio', () => {
    assert.equal(capacityOf(inv(8, { reserved: 2, allocation_ratio: 4 })), 24);
    assert.equal(capacityOf(inv(10, { allocation_ratio: 1.5 })), 15);
  });

  it('filters single providers by free capacity, units and traits', () => {
    const s = snap(
      rp('a', { inv: { VCPU: inv(4) }, used: { VCPU: 3 } }),
      rp('b', { inv: { VCPU: inv(4) }, traits: ['HW_CPU_X86_AVX'] }),
      rp('c', { inv: { VCPU: inv(4, { step_size: 2 }) } }),
    );
    assert.deepEqual(flat(allocationCandidates(s, { groups: [group('', { VCPU: 2 })] })), [{ b: { VCPU: 2 } }, { c: { VCPU: 2 } }]);
    assert.deepEqual(flat(allocationCandidates(s, { groups: [group('', { VCPU: 1 })] })), [{ a: { VCPU: 1 } }, { b: { VCPU: 1 } }]);
    assert.deepEqual(flat(allocationCandidates(s, { groups: [group('', { VCPU: 1 }, { required: [['HW_CPU_X86_AVX']] })] })), [{ b: { VCPU: 1 } }]);
    assert.deepEqual(flat(allocationCandidates(s, { groups: [group('', { VCPU: 1 }, { forbidden: ['HW_CPU_X86_AVX'] })] })), [{ a: { VCPU: 1 } }]);
    assert.equal(allocationCandidates(s, { groups: [group('', { VCPU: 1 })], limit: 1 }).allocationRequests.length, 1);
  });

  it('spreads the unsuffixed group over a tree and isolates numbered groups', () => {
    const s = snap(
      rp('host', { inv: { VCPU: inv(8), MEMORY_MB: inv(4096) } }),
      rp('pf1', { parent: 'host', root: 'host', inv: { SRIOV_NET_VF: inv(4) } }),
      rp('pf2', { parent: 'host', root: 'host', inv: { SRIOV_NET_VF: inv(4) } }),
    );
    const r = allocationCandidates(s, { groups: [group('', { VCPU: 1, SRIOV_NET_VF: 1 })] });
    assert.deepEqual(flat(r), [{ host: { VCPU: 1 }, pf1: { SRIOV_NET_VF: 1 } }, { host: { VCPU: 1 }, pf2: { SRIOV_NET_VF: 1 } }]);
    assert.deepEqual(r.summaryProviders.sort(), ['host', 'pf1', 'pf2']);
    const iso = allocationCandidates(s, { groups: [group('1', { SRIOV_NET_VF: 1 }), group('2', { SRIOV_NET_VF: 1 })], groupPolicy: 'isolate' });
    // (pf1, pf2) and (pf2, pf1) are one allocation request.
    assert.deepEqual(flat(iso), [{ pf1: { SRIOV_NET_VF: 1 }, pf2: { SRIOV_NET_VF: 1 } }]);
    const none = allocationCandidates(s, { groups: [group('1', { SRIOV_NET_VF: 3 }), group('2', { SRIOV_NET_VF: 3 })], groupPolicy: 'none' });
    // Two groups of 3 cannot land on one PF of 4.
    assert.ok(flat(none).every((a) => Object.keys(a).length === 2));
  });

  it('uses sharing providers in a common aggregate and honours member_of', () => {
    const s = snap(
      rp('cn', { inv: { VCPU: inv(8) }, aggs: ['agg'] }),
      rp('nfs', { inv: { DISK_GB: inv(1000) }, traits: [SHARES_TRAIT], aggs: ['agg'] }),
      rp('other', { inv: { VCPU: inv(8) } }),
    );
    assert.deepEqual(flat(allocationCandidates(s, { groups: [group('', { VCPU: 1, DISK_GB: 10 })] })), [{ cn: { VCPU: 1 }, nfs: { DISK_GB: 10 } }]);
    assert.deepEqual(flat(allocationCandidates(s, { groups: [group('', { VCPU: 1 }, { memberOf: [['agg']] })] })), [{ cn: { VCPU: 1 } }]);
    assert.deepEqual(flat(allocationCandidates(s, { groups: [group('', { VCPU: 1 }, { forbiddenAggregates: ['agg'] })] })), [{ other: { VCPU: 1 } }]);
  });
});
