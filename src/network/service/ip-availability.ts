/** Network IP availability (network-ip-availability): pool sizes and addresses in use, per subnet. */
import { fromJson } from '../../core/db/database.js';
import type { NetworkRow } from '../db/schema.js';
import type { NetworkContext } from './context.js';
import { parseIp, rangeSize } from './ip-math.js';

export interface SubnetAvailability { subnet_id: string; subnet_name: string; cidr: string; ip_version: number; total_ips: number; used_ips: number }
export interface NetworkAvailability {
  network_id: string; network_name: string; project_id: string; tenant_id: string; total_ips: number; used_ips: number;
  subnet_ip_availability: SubnetAvailability[];
}

export async function ipAvailability(c: NetworkContext, networks: NetworkRow[]): Promise<NetworkAvailability[]> {
  if (networks.length === 0) return [];
  const ids = networks.map((n) => n.id);
  const subnets = await c.db.selectFrom('subnet').selectAll().where('network_id', 'in', ids).orderBy('created_at').execute();
  const counts = await c.db.selectFrom('ip_allocation').select(['subnet_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('network_id', 'in', ids).groupBy('subnet_id').execute();
  const used = new Map(counts.map((r) => [r.subnet_id, Number(r.n)]));
  return networks.map((n) => {
    const subs = subnets.filter((s) => s.network_id === n.id).map((s) => ({
      subnet_id: s.id, subnet_name: s.name, cidr: s.cidr, ip_version: s.ip_version,
      total_ips: Number(fromJson<{ start: string; end: string }[]>(s.allocation_pools, [])
        .reduce((a, p) => a + rangeSize({ start: parseIp(p.start)!.value, end: parseIp(p.end)!.value }), 0n)),
      used_ips: used.get(s.id) ?? 0,
    }));
    return {
      network_id: n.id, network_name: n.name, project_id: n.project_id, tenant_id: n.project_id,
      total_ips: subs.reduce((a, s) => a + s.total_ips, 0), used_ips: subs.reduce((a, s) => a + s.used_ips, 0),
      subnet_ip_availability: subs,
    };
  });
}
