import type { InstanceRow } from '../db/schema.js';
import type { NetworkInfoItem } from '../network/network-api.js';
import { fromJson } from '../service/context.js';

/** A personality file as the guest gets it: its path and its decoded contents. */
export interface InjectedFile { path: string; contents: Buffer }

/** Nova's content keys of injected files: 0000, 0001, ... (openstack/content/<key>). */
export const contentKey = (i: number) => String(i).padStart(4, '0');

/** The OpenStack metadata documents of a server (config drive and metadata service serve the same). */
export function metadataDocuments(row: InstanceRow, meta: Record<string, string>, files: InjectedFile[] = []): {
  metaData: Record<string, unknown>; userData?: Buffer; networkData: Record<string, unknown>; vendorData: Record<string, unknown>; content: Map<string, Buffer>;
} {
  const keys = row.key_name && row.key_data ? { [row.key_name]: row.key_data } : {};
  const metaData: Record<string, unknown> = {
    uuid: row.uuid,
    name: row.name,
    hostname: row.hostname,
    launch_index: row.launch_index,
    availability_zone: row.availability_zone,
    project_id: row.project_id,
    public_keys: keys,
    keys: Object.entries(keys).map(([name, data]) => ({ name, type: 'ssh', data })),
    meta,
    devices: [],
  };
  // Nova's InstanceMetadata: each injected file is listed with where its contents are
  const content = new Map(files.map((f, i) => [contentKey(i), f.contents]));
  if (files.length) metaData.files = files.map((f, i) => ({ path: f.path, content_path: `/content/${contentKey(i)}` }));
  const info = fromJson<NetworkInfoItem[]>(row.network_info, []);
  const networkData = {
    links: info.map((n, i) => ({ id: `tap${n.port_id.slice(0, 11)}`, vif_id: n.port_id, type: 'ethernet', ethernet_mac_address: n.mac, mtu: 1500, name: `eth${i}` })),
    networks: info.flatMap((n, i) => n.ips.filter((ip) => ip.type === 'fixed').map((ip, j) => ({
      id: `network${i}${j ? `-${j}` : ''}`, link: `tap${n.port_id.slice(0, 11)}`, type: ip.version === 4 ? 'ipv4_dhcp' : 'ipv6_dhcp', network_id: n.network_id,
    }))),
    services: [],
  };
  return { metaData, userData: row.user_data ? Buffer.from(row.user_data, 'base64') : undefined, networkData, vendorData: {}, content };
}
