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

/** Floating IPs of ports, by port id (from the network service; none with the built-in network). */
export type FloatingByPort = Map<string, { address: string; version: 4 | 6 }[]>;

/** Nova's addresses: per network, each port's fixed IPs, then the floating IPs associated with it. */
export function addressesOf(row: InstanceRow, floating?: FloatingByPort): Record<string, { version: number; addr: string; 'OS-EXT-IPS:type': string; 'OS-EXT-IPS-MAC:mac_addr': string }[]> {
  const out: Record<string, { version: number; addr: string; 'OS-EXT-IPS:type': string; 'OS-EXT-IPS-MAC:mac_addr': string }[]> = {};
  for (const n of fromJson<NetworkInfoItem[]>(row.network_info, [])) {
    const list = (out[n.network_name] ??= []);
    for (const ip of n.ips) list.push({ version: ip.version, addr: ip.address, 'OS-EXT-IPS:type': ip.type, 'OS-EXT-IPS-MAC:mac_addr': n.mac });
    for (const f of floating?.get(n.port_id) ?? []) list.push({ version: f.version, addr: f.address, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': n.mac });
  }
  return out;
}

/** Addresses without the OS-EXT-IPS attributes (update and rebuild before 2.75). */
const plainAddresses = (row: InstanceRow, floating?: FloatingByPort) =>
  Object.fromEntries(Object.entries(addressesOf(row, floating)).map(([k, v]) => [k, v.map((x) => ({ version: x.version, addr: x.addr }))]));

/** The short form in GET /servers: id, name, links. */
export const serverSummary = (ctx: RequestCtx, row: InstanceRow) => ({ id: row.uuid, name: row.name, links: links(ctx, 'servers', row.uuid) });

export interface ServerExtras { metadata: Record<string, string>; tags: string[]; groups?: string[]; floating?: FloatingByPort; volumes?: { volume_id: string; delete_on_termination: number }[] }

/**
 * The server document, field by field as Nova shows it at the request's microversion. `basic`
 * is the shorter form update and rebuild answer with before 2.75 (no extended attributes,
 * addresses without type and MAC); `rebuild` adds what rebuild shows (key_name 2.54, user_data 2.57).
 */
export function serverView(ctx: RequestCtx, row: InstanceRow, extras: ServerExtras, isAdmin: boolean, form: 'full' | 'update' | 'rebuild' = 'full'): Record<string, unknown> {
  const basic = form !== 'full' && !at(ctx, '2.75');
  const f = flavorOf(row);
  const b = baseUrl(ctx);
  const status = statusOf(row.vm_state, row.task_state);
  const flavor = at(ctx, '2.47')
    ? { vcpus: f.vcpus, ram: f.memory_mb, disk: f.root_gb, ephemeral: f.ephemeral_gb, swap: f.swap, original_name: f.name, extra_specs: f.extra_specs }
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
    addresses: basic ? plainAddresses(row, extras.floating) : addressesOf(row, extras.floating),
    accessIPv4: row.access_ip_v4 ?? '',
    accessIPv6: row.access_ip_v6 ?? '',
    links: links(ctx, 'servers', row.uuid),
    'OS-DCF:diskConfig': row.disk_config ?? 'MANUAL',
  };
  if (status === 'ACTIVE' || status === 'BUILD' || status === 'REBUILD' || status === 'RESIZE' || status === 'VERIFY_RESIZE' || status === 'MIGRATING') v.progress = row.progress;
  const fault = fromJson<{ code: number; message: string; details?: string; created: string } | null>(row.fault, null);
  if (fault && (row.vm_state === 'error' || row.vm_state === 'deleted')) {
    v.fault = { code: fault.code, message: fault.message, created: novaTime(fault.created), ...(isAdmin && fault.details ? { details: fault.details } : {}) };
  }
  if (at(ctx, '2.9')) v.locked = !!row.locked;
  if (at(ctx, '2.19')) v.description = row.description;
  if (at(ctx, '2.26')) v.tags = extras.tags;
  if (at(ctx, '2.63')) v.trusted_image_certificates = null;
  // 2.71: show, update and rebuild (not lists) name the server's groups
  if (at(ctx, '2.71') && extras.groups) v.server_groups = extras.groups;
  if (at(ctx, '2.73')) v.locked_reason = row.locked_reason;
  if (basic) {
    if (form === 'rebuild' && at(ctx, '2.54')) v.key_name = row.key_name;
    if (form === 'rebuild' && at(ctx, '2.57')) v.user_data = row.user_data;
    return v;
  }
  Object.assign(v, {
    'OS-EXT-AZ:availability_zone': row.availability_zone ?? '',
    config_drive: row.config_drive,
    key_name: row.key_name,
    'OS-SRV-USG:launched_at': novaMicroTime(row.launched_at),
    'OS-SRV-USG:terminated_at': novaMicroTime(row.terminated_at),
    'OS-EXT-STS:task_state': row.task_state,
    'OS-EXT-STS:vm_state': row.vm_state,
    'OS-EXT-STS:power_state': row.power_state,
    // 2.3: with delete_on_termination
    'os-extended-volumes:volumes_attached': (extras.volumes ?? []).map((b) => (at(ctx, '2.3') ? { id: b.volume_id, delete_on_termination: !!b.delete_on_termination } : { id: b.volume_id })),
  });
  // Nova shows security_groups only when the server is in at least one group
  const groups = row.vm_state !== 'deleted' ? fromJson<string[]>(row.security_groups, ['default']) : [];
  if (groups.length) v.security_groups = groups.map((name) => ({ name }));
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
  // rebuild (2.75: the full form) shows user_data under its own name
  if (form === 'rebuild' && at(ctx, '2.57')) {
    delete v['OS-EXT-SRV-ATTR:user_data'];
    v.user_data = row.user_data;
  }
  // host_status is for admins by default (os_compute_api:servers:show:host_status)
  if (at(ctx, '2.16') && isAdmin) v.host_status = row.host ? 'UP' : '';
  return v;
}
