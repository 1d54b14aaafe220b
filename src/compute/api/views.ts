import { createHash } from 'node:crypto';
import type { RequestCtx } from '../../core/http/routes.js';
import type { InstanceRow } from '../db/schema.js';
import type { NetworkInfoItem } from '../network/network-api.js';
import { fromJson } from '../service/context.js';
import { flavorOf } from '../service/servers.js';
import { statusOf } from '../service/states.js';
import { at, baseUrl, links, novaMicroTime, novaTime } from './common.js';

/** Nova's hostId: sha224 of project id + host, so tenants can tell co-location without seeing hosts. */
export const hostIdOf = (projectId: string, host: string | null) => (host ? createHash('sha224').update(projectId + host).digest('hex') : '');

export function addressesOf(row: InstanceRow): Record<string, { version: number; addr: string; 'OS-EXT-IPS:type': string; 'OS-EXT-IPS-MAC:mac_addr': string }[]> {
  const out: Record<string, { version: number; addr: string; 'OS-EXT-IPS:type': string; 'OS-EXT-IPS-MAC:mac_addr': string }[]> = {};
  for (const n of fromJson<NetworkInfoItem[]>(row.network_info, [])) {
    const list = (out[n.network_name] ??= []);
    for (const ip of n.ips) list.push({ version: ip.version, addr: ip.address, 'OS-EXT-IPS:type': ip.type, 'OS-EXT-IPS-MAC:mac_addr': n.mac });
  }
  return out;
}

/** The short form in GET /servers: id, name, links. */
export const serverSummary = (ctx: RequestCtx, row: InstanceRow) => ({ id: row.uuid, name: row.name, links: links(ctx, 'servers', row.uuid) });

export interface ServerExtras { metadata: Record<string, string>; tags: string[] }

/** The full server document, field by field as Nova shows it at the request's microversion. */
export function serverView(ctx: RequestCtx, row: InstanceRow, extras: ServerExtras, isAdmin: boolean): Record<string, unknown> {
  const f = flavorOf(row);
  const b = baseUrl(ctx);
  const status = statusOf(row.vm_state, row.task_state);
  const flavor = at(ctx, '2.47')
    ? { vcpus: f.vcpus, ram: f.memory_mb, disk: f.root_gb, ephemeral: f.ephemeral_gb, swap: f.swap, original_name: f.name, ...(isAdmin || true ? { extra_specs: f.extra_specs } : {}) }
    : { id: f.flavorid, links: [{ rel: 'bookmark', href: `${b}/flavors/${f.flavorid}` }] };
  const image = row.image_ref ? { id: row.image_ref, links: [{ rel: 'bookmark', href: `${b}/images/${row.image_ref}` }] } : '';
  const v: Record<string, unknown> = {
    id: row.uuid,
    name: row.name,
    status,
    tenant_id: row.project_id,
    user_id: row.user_id,
    metadata: extras.metadata,
    hostId: hostIdOf(row.project_id, row.host),
    image,
    flavor,
    created: novaTime(row.created_at),
    updated: novaTime(row.updated_at),
    addresses: addressesOf(row),
    accessIPv4: row.access_ip_v4 ?? '',
    accessIPv6: row.access_ip_v6 ?? '',
    links: links(ctx, 'servers', row.uuid),
    'OS-DCF:diskConfig': 'MANUAL',
    'OS-EXT-AZ:availability_zone': row.availability_zone ?? '',
    config_drive: row.config_drive,
    key_name: row.key_name,
    'OS-SRV-USG:launched_at': novaMicroTime(row.launched_at),
    'OS-SRV-USG:terminated_at': novaMicroTime(row.terminated_at),
    'OS-EXT-STS:task_state': row.task_state,
    'OS-EXT-STS:vm_state': row.vm_state,
    'OS-EXT-STS:power_state': row.power_state,
    'os-extended-volumes:volumes_attached': [],
  };
  if (row.vm_state !== 'deleted') v.security_groups = fromJson<string[]>(row.security_groups, ['default']).map((name) => ({ name }));
  if (status === 'ACTIVE' || status === 'BUILD' || status === 'REBUILD' || status === 'RESIZE' || status === 'VERIFY_RESIZE' || status === 'MIGRATING') v.progress = row.progress;
  if (isAdmin) {
    v['OS-EXT-SRV-ATTR:host'] = row.host;
    v['OS-EXT-SRV-ATTR:hypervisor_hostname'] = row.node;
    v['OS-EXT-SRV-ATTR:instance_name'] = `instance-${row.uuid.slice(0, 8)}`;
    if (at(ctx, '2.3')) {
      v['OS-EXT-SRV-ATTR:reservation_id'] = row.reservation_id;
      v['OS-EXT-SRV-ATTR:launch_index'] = row.launch_index;
      v['OS-EXT-SRV-ATTR:kernel_id'] = '';
      v['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
      v['OS-EXT-SRV-ATTR:hostname'] = row.hostname;
      v['OS-EXT-SRV-ATTR:root_device_name'] = '/dev/vda';
      v['OS-EXT-SRV-ATTR:user_data'] = row.user_data;
    }
  } else if (at(ctx, '2.90')) {
    v['OS-EXT-SRV-ATTR:hostname'] = row.hostname;
  }
  if (at(ctx, '2.9')) v.locked = !!row.locked;
  if (at(ctx, '2.16')) v.host_status = row.host ? 'UP' : '';
  if (at(ctx, '2.19')) v.description = row.description;
  if (at(ctx, '2.26')) v.tags = extras.tags;
  if (at(ctx, '2.63')) v.trusted_image_certificates = null;
  if (at(ctx, '2.73')) v.locked_reason = row.locked_reason;
  const fault = fromJson<{ code: number; message: string; details?: string; created: string } | null>(row.fault, null);
  if (fault && (row.vm_state === 'error' || row.vm_state === 'deleted')) {
    v.fault = { code: fault.code, message: fault.message, created: novaTime(fault.created), ...(isAdmin && fault.details ? { details: fault.details } : {}) };
  }
  return v;
}
