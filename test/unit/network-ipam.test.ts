import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, cidrsOverlap, defaultPools, eui64, formatCidr, formatIp, normalizeIp, parseCidr, parseIp, parseMac, validPortMac } from '../../src/network/service/ip-math.js';

const ip = (s: string) => parseIp(s)!;
const cidr = (s: string) => parseCidr(s)!;
const pools = (c: string, gw: string | null) => defaultPools(cidr(c), gw === null ? null : ip(gw).value)
  .map((r) => `${formatIp(r.start, cidr(c).version)}-${formatIp(r.end, cidr(c).version)}`);

describe('network IP address math', () => {
  it('parses and formats IPv4 and IPv6 (RFC 5952)', () => {
    assert.deepEqual(ip('10.0.0.1'), { version: 4, value: 0x0a000001n });
    for (const bad of ['10.0.0', '10.0.0.256', '01.2.3.4', '1.2.3.4.5', '', 'x', '1::2::3', '12345::', ':::']) assert.equal(parseIp(bad), null, bad);
    assert.equal(normalizeIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(normalizeIp('2001:db8:0:1:0:0:0:0'), '2001:db8:0:1::');
    assert.equal(normalizeIp('2001:db8:3:0:f816:3eff:fe11:2233'), '2001:db8:3:0:f816:3eff:fe11:2233');
    assert.equal(normalizeIp('::'), '::');
    assert.equal(normalizeIp('::1'), '::1');
    assert.equal(normalizeIp('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
    assert.equal(normalizeIp('::ffff:1.2.3.4'), '::ffff:102:304');
    assert.equal(normalizeIp('fe80::1:2:3:4:5:6:7'), null);
  });

  it('parses CIDRs, notices host bits, and tests containment and overlap', () => {
    const c = cidr('10.1.2.3/24');
    assert.equal(c.hostBits, true);
    assert.equal(formatCidr(c), '10.1.2.0/24');
    assert.equal(cidr('10.1.2.0/24').hostBits, false);
    assert.equal(parseCidr('10.0.0.0/33'), null);
    assert.equal(formatCidr(cidr('2001:db8::/64')), '2001:db8::/64');
    assert.ok(cidrContains(cidr('10.0.0.0/8'), ip('10.255.255.255')));
    assert.ok(!cidrContains(cidr('10.0.0.0/8'), ip('11.0.0.0')));
    assert.ok(!cidrContains(cidr('10.0.0.0/8'), ip('::a00:1')));
    assert.ok(cidrsOverlap(cidr('10.0.0.0/16'), cidr('10.0.5.0/24')));
    assert.ok(!cidrsOverlap(cidr('10.0.0.0/25'), cidr('10.0.0.128/25')));
  });

  it("computes Neutron's default allocation pools around the gateway", () => {
    assert.deepEqual(pools('10.0.0.0/24', '10.0.0.1'), ['10.0.0.2-10.0.0.254']);
    assert.deepEqual(pools('10.0.0.0/24', '10.0.0.100'), ['10.0.0.1-10.0.0.99', '10.0.0.101-10.0.0.254']);
    assert.deepEqual(pools('10.0.0.0/24', null), ['10.0.0.1-10.0.0.254']);
    assert.deepEqual(pools('10.0.0.0/30', '10.0.0.1'), ['10.0.0.2-10.0.0.2']);
    assert.deepEqual(pools('10.0.0.0/31', null), []);
    assert.deepEqual(pools('10.0.0.7/32', null), ['10.0.0.7-10.0.0.7']);
    assert.deepEqual(pools('2001:db8::/64', '2001:db8::1'), ['2001:db8::2-2001:db8::ffff:ffff:ffff:ffff']);
  });

  it('forms EUI-64 addresses and checks MACs', () => {
    assert.equal(formatIp(eui64(cidr('2001:db8::/64'), 'fa:16:3e:11:22:33'), 6), '2001:db8::f816:3eff:fe11:2233');
    assert.equal(formatIp(eui64(cidr('2001:db8:1:2::/64'), '00:00:00:00:00:01'), 6), '2001:db8:1:2:200:ff:fe00:1');
    assert.equal(parseMac('fa:16:3e:zz:00:00'), null);
    assert.ok(validPortMac(parseMac('fa:16:3e:00:00:01')!));
    assert.ok(!validPortMac(parseMac('01:00:5e:00:00:01')!), 'multicast');
    assert.ok(!validPortMac(parseMac('00:00:00:00:00:00')!));
  });
});
