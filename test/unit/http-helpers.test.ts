import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateMicroversion, formatVersion, atLeast } from '../../src/core/http/microversion.js';
import { nextLink, paginate, parsePage } from '../../src/core/http/pagination.js';
import { HttpError } from '../../src/core/errors.js';

describe('microversion negotiation', () => {
  const range = { min: '2.1', max: '2.96' };
  it('defaults to the minimum, takes latest as the maximum, and reads both header forms', () => {
    assert.equal(formatVersion(negotiateMicroversion({}, 'compute', range)), '2.1');
    assert.equal(formatVersion(negotiateMicroversion({ 'openstack-api-version': 'compute latest' }, 'compute', range)), '2.96');
    assert.equal(formatVersion(negotiateMicroversion({ 'openstack-api-version': 'volume 3.5, compute 2.53' }, 'compute', range)), '2.53');
    assert.equal(formatVersion(negotiateMicroversion({ 'x-openstack-nova-api-version': '2.10' }, 'compute', range, 'X-OpenStack-Nova-API-Version')), '2.10');
  });
  it('answers out-of-range versions with 406 and garbage with 400', () => {
    const status = (h: Record<string, string>) => { try { negotiateMicroversion(h, 'compute', range); return 0; } catch (e) { return (e as HttpError).status; } };
    assert.equal(status({ 'openstack-api-version': 'compute 2.97' }), 406);
    assert.equal(status({ 'openstack-api-version': 'compute 1.0' }), 406);
    assert.equal(status({ 'openstack-api-version': 'compute two' }), 400);
  });
  it('compares versions numerically, not as text', () => {
    const v = negotiateMicroversion({ 'openstack-api-version': 'compute 2.10' }, 'compute', range);
    assert.equal(atLeast(v, '2.9'), true);
    assert.equal(atLeast(v, '2.11'), false);
  });
});

describe('pagination', () => {
  const items = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }));
  it('pages by limit and marker with a next link', () => {
    const p1 = paginate(items, parsePage({ limit: '2' }));
    assert.deepEqual(p1.items.map((x) => x.id), ['a', 'b']);
    assert.equal(p1.more, true);
    const link = nextLink(new URL('http://h/v2/images?limit=2'), p1.items, p1.more)!;
    assert.equal(new URL(link).searchParams.get('marker'), 'b');
    const p3 = paginate(items, parsePage({ limit: '2', marker: 'd' }));
    assert.deepEqual(p3.items.map((x) => x.id), ['e']);
    assert.equal(p3.more, false);
    assert.equal(nextLink(new URL('http://h/x'), p3.items, p3.more), undefined);
  });
  it('rejects bad limits and unknown markers', () => {
    assert.throws(() => parsePage({ limit: '-1' }), (e: HttpError) => e.status === 400);
    assert.throws(() => parsePage({ limit: 'ten' }), (e: HttpError) => e.status === 400);
    assert.throws(() => paginate(items, { marker: 'zz' }), (e: HttpError) => e.status === 400);
    assert.throws(() => paginate(items, { marker: 'zz' }, 404), (e: HttpError) => e.status === 404);
    assert.equal(parsePage({ limit: '5000' }, 1000).limit, 1000);
  });
});
