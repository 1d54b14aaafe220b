import { createHash } from 'node:crypto';
import { badRequest } from '../../core/errors.js';
import { SLIRP_NET } from '../drivers/qemu/metadata-forward.js';
import type { Kysely } from 'kysely';
import type { DbKind } from '../../core/db/database.js';
import type { ComputeDB } from '../db/schema.js';
import type { NetworkApi, NetworkInfoItem, NetworkRequest } from './network-api.js';
import { dbSecurityGroups } from './security-groups.js';

/** The one network the built-in networking offers, with a stable id: QEMU's user-mode network as the qemu driver sets it up. */
export const BUILTIN_NETWORK = { id: '7c3e5c4e-0d7b-4c1a-9a0e-6e75627563ff', name: 'private', cidr: SLIRP_NET.net, gateway: SLIRP_NET.host, address: SLIRP_NET.dhcpstart };

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * Networking before the network service exists: every server gets one interface on the
 * `private` network, with QEMU user-mode networking (DHCP and NAT by QEMU, SSH forwarded to a
 * host port). Each guest has its own user-mode network, so every guest gets the same address from
 * QEMU's DHCP (169.254.169.15); the address shown is that one. Replaced by the network service's client.
 */
export function builtinNetwork(db: Kysely<ComputeDB>, kind: DbKind): NetworkApi {
  const securityGroups = dbSecurityGroups(db, kind);
  const macOf = (uuid: string) => {
    const h = createHash('sha256').update(uuid).digest();
    return `fa:16:3e:${h[0].toString(16).padStart(2, '0')}:${h[1].toString(16).padStart(2, '0')}:${h[2].toString(16).padStart(2, '0')}`;
  };
  const check = (requested: NetworkRequest) => {
    if (!Array.isArray(requested)) return;
    for (const r of requested) {
      if (r.port) throw badRequest(`Port ${r.port} could not be found.`);
      if (r.uuid && r.uuid !== BUILTIN_NETWORK.id) throw badRequest(`Network ${r.uuid} could not be found.`);
      if (r.uuid && !UUID_RE.test(r.uuid)) throw badRequest(`Bad networks format: network uuid is not in proper format (${r.uuid})`);
      if (r.fixed_ip && r.fixed_ip !== BUILTIN_NETWORK.address) throw badRequest(`Fixed IP address ${r.fixed_ip} is not in the network's subnet.`);
    }
  };
  return {
    async validate(_projectId, requested) {
      check(requested);
    },
    async allocate(instance, requested) {
      check(requested);
      if (requested === 'none') return { info: [], vifs: [] };
      const mac = macOf(instance.uuid);
      const portId = instance.uuid; // one port per server in this mode
      const info: NetworkInfoItem[] = [{
        port_id: portId, network_id: BUILTIN_NETWORK.id, network_name: BUILTIN_NETWORK.name, mac,
        ips: [{ address: BUILTIN_NETWORK.address, version: 4, type: 'fixed', cidr: BUILTIN_NETWORK.cidr, gateway: BUILTIN_NETWORK.gateway }],
      }];
      return { info, vifs: [{ portId, mac, kind: 'user', ips: [{ address: BUILTIN_NETWORK.address, version: 4, cidr: BUILTIN_NETWORK.cidr, gateway: BUILTIN_NETWORK.gateway }] }] };
    },
    async deallocate() {},
    async securityGroupExists(projectId, nameOrId) {
      return securityGroups.exists(projectId, nameOrId);
    },
  };
}
