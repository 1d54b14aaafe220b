import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The config drive: an ISO 9660 image labelled config-2 (genisoimage, Rock Ridge + Joliet),
 * laid out as nova writes it, so cloud-init and the tiny guest read it as they would on
 * OpenStack. The same files go under openstack/latest and openstack/2012-08-10 (the oldest
 * version guests look for); ec2/latest/meta-data.json carries the EC2 view; injected files
 * (personality) go under openstack/content.
 */

export interface ConfigDriveFiles {
  metaData: object;
  userData?: string | Buffer;
  networkData?: object;
  vendorData?: object;
  /** personality files by content key (0000, 0001, ...) */
  content?: Map<string, Buffer>;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 4 << 20 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${cmd}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

/** EC2-style metadata from the OpenStack meta_data.json fields that have an EC2 name. */
function ec2MetaData(md: Record<string, unknown>): object {
  const keys = (md.public_keys ?? {}) as Record<string, string>;
  return {
    'instance-id': md.uuid, hostname: md.hostname, 'local-hostname': md.hostname,
    'ami-launch-index': md.launch_index ?? 0,
    placement: { 'availability-zone': md.availability_zone },
    'public-keys': Object.fromEntries(Object.entries(keys).map(([name, key], i) => [`${i}=${name}`, { 'openssh-key': key }])),
  };
}

/**
 * The files of a config drive, path → contents, as Nova lays them out: meta_data.json,
 * user_data, network_data.json and vendor_data2.json under each openstack/<version>, the
 * personality files under openstack/content/<key>, and the EC2 view under ec2/latest.
 */
export function configDriveTree(files: ConfigDriveFiles): Map<string, string | Buffer> {
  const out = new Map<string, string | Buffer>();
  for (const version of ['latest', '2012-08-10']) {
    const d = `openstack/${version}`;
    out.set(`${d}/meta_data.json`, JSON.stringify(files.metaData));
    if (files.userData !== undefined) out.set(`${d}/user_data`, files.userData);
    if (files.networkData) out.set(`${d}/network_data.json`, JSON.stringify(files.networkData));
    if (files.vendorData) out.set(`${d}/vendor_data2.json`, JSON.stringify(files.vendorData));
  }
  for (const [key, bytes] of files.content ?? []) out.set(`openstack/content/${key}`, bytes);
  out.set('ec2/latest/meta-data.json', JSON.stringify(ec2MetaData(files.metaData as Record<string, unknown>)));
  if (files.userData !== undefined) out.set('ec2/latest/user-data', files.userData);
  return out;
}

export async function buildConfigDrive(path: string, files: ConfigDriveFiles): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tree = mkdtempSync(join(dirname(path), '.config-drive-'));
  try {
    for (const [rel, data] of configDriveTree(files)) {
      mkdirSync(dirname(join(tree, rel)), { recursive: true });
      writeFileSync(join(tree, rel), data);
    }
    // written aside and renamed: a guest never sees half an ISO
    await run('genisoimage', ['-quiet', '-o', `${path}.tmp`, '-V', 'config-2', '-r', '-J', '-l', tree]);
    renameSync(`${path}.tmp`, path);
  } finally {
    rmSync(tree, { recursive: true, force: true });
    rmSync(`${path}.tmp`, { force: true });
  }
}
