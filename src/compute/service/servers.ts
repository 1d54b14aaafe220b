import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest, conflict, HttpError, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { BlockDeviceMappingRow, InstanceRow } from '../db/schema.js';
import type { NetworkRequest } from '../network/network-api.js';
import { fromJson, lockKey, toJson, type Caller, type ComputeContext } from './context.js';
import { bookFlavor, findFlavor, type BookedFlavor } from './flavors.js';
import { recordAction } from './instance-actions.js';
import { checkInstanceQuota, effectiveLimits, roomFor, overQuota } from './quotas.js';
import { POWER, TASK, VM } from './states.js';
import { castConductor } from '../rpc/topics.js';
import { checkGroupRoom } from './server-groups.js';
import { checkPersonalityQuota, storePersonality, type PersonalityFile } from './personality.js';
import { checkVolumeMappings, reserveVolumeMappings, volumeMappings, volumesByServer, type VolumeMapping } from './volumes.js';

/** A create request after the API validated its shape. */
export interface CreateRequest {
  name: string;
  imageRef: string;
  flavorRef: string;
  networks: NetworkRequest;
  keyName?: string;
  userData?: string;
  metadata: Record<string, string>;
  securityGroups: string[];
  availabilityZone?: string;
  configDrive: boolean;
  minCount: number;
  maxCount: number;
  accessIPv4?: string;
  accessIPv6?: string;
  adminPass?: string;
  description?: string | null;
  tags: string[];
  hostname?: string;
  schedulerHints: Record<string, unknown>;
  blockDeviceMapping: Record<string, unknown>[];
  /** OS-DCF:diskConfig (MANUAL when the request gives none). */
  diskConfig?: DiskConfig;
  /** Files to inject (personality, before 2.57). */
  personality?: PersonalityFile[];
}

export type DiskConfig = 'AUTO' | 'MANUAL';

/** Nova's OS-DCF:diskConfig values: AUTO or MANUAL, anything else is a 400. */
export function checkDiskConfig(v: unknown): DiskConfig {
  if (v !== 'AUTO' && v !== 'MANUAL') {
    throw badRequest(`Invalid input for field/attribute OS-DCF:diskConfig. Value: ${typeof v === 'string' ? v : JSON.stringify(v)}. ${JSON.stringify(v)} is not one of ['AUTO', 'MANUAL']`);
  }
  return v;
}

/** Nova's hostname sanitisation (the server name, lowercased, [a-z0-9-] only, ≤ 63). */
export function sanitizeHostname(name: string, fallback: string): string {
  let h = name.toLowerCase().replace(/[ _.]/g, '-').replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  if (!h) h = fallback;
  return h;
}

/** A server visible to the caller (its project's, or any for an admin); 404 otherwise. Deleted servers only with `deleted`. */
export async function getInstance(c: ComputeContext, caller: Caller, id: string, opts: { deleted?: boolean } = {}): Promise<InstanceRow> {
  const row = await c.db.selectFrom('instance').selectAll().where('uuid', '=', id).executeTakeFirst();
  if (!row || (!opts.deleted && row.deleted) || (!caller.isAdmin && row.project_id !== caller.projectId)) {
    throw notFound(`Instance ${id} could not be found.`);
  }
  return row;
}

/** Nova's check_instance_lock: a locked server refuses changes from non-admins. */
export function checkLock(row: InstanceRow, caller: Caller): void {
  if (row.locked && !caller.isAdmin) throw conflict(`Instance ${row.uuid} is locked`);
}

/** Nova's check_instance_state: the action is only allowed from these vm_states (and task_state null unless listed). */
export function checkState(row: InstanceRow, action: string, vmStates: string[], taskStates: (string | null)[] = [null]): void {
  if (!vmStates.includes(row.vm_state) || !taskStates.includes(row.task_state)) {
    const what = !vmStates.includes(row.vm_state) ? `vm_state ${row.vm_state}` : `task_state ${row.task_state}`;
    throw conflict(`Cannot '${action}' instance ${row.uuid} while it is in ${what}`);
  }
}

export interface CreatedServers { instances: InstanceRow[]; reservationId: string; adminPass: string }

/**
 * Accepts a create: checks image, flavor, keypair, networks and quota, writes the servers as
 * BUILD (quota counted in the same locked transaction, so parallel creates cannot overshoot),
 * records the create actions and hands them to the conductor.
 */
export async function createServers(c: ComputeContext, caller: Caller, r0: CreateRequest): Promise<CreatedServers> {
  const r = withBootImage(c, r0);
  await checkVolumeMappings(c, caller, r.volumes, r.maxCount);
  const flavorRow = await findFlavor(c, caller, r.flavorRef).catch((e: HttpError) => {
    throw e.status === 404 ? badRequest(`Flavor ${r.flavorRef} could not be found.`) : e;
  });
  if (flavorRow.disabled) throw badRequest(`Flavor ${r.flavorRef} is disabled.`);
  const flavor = await bookFlavor(c, flavorRow);
  const image = r.imageRef ? await c.image.getImage(r.imageRef, { projectId: caller.projectId, isAdmin: caller.isAdmin }) : undefined;
  if (r.imageRef && !image) throw badRequest(`Image ${r.imageRef} could not be found.`);
  if (!r.imageRef && !r.blockDeviceMapping.length) throw badRequest('Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.');
  if (image) {
    if (image.status !== 'active') throw badRequest(`Image ${r.imageRef} is not active.`);
    const minRam = Number(image.min_ram ?? 0);
    const minDisk = Number(image.min_disk ?? 0);
    if (minRam > flavor.memory_mb) throw badRequest("Flavor's memory is too small for requested image.");
    if (flavor.root_gb > 0 && minDisk > flavor.root_gb) throw badRequest("Flavor's disk is too small for requested image.");
    const size = Number(image.size ?? 0);
    if (flavor.root_gb > 0 && size > flavor.root_gb * 1024 ** 3) throw badRequest("Flavor's disk is too small for requested image.");
  }
  let keyData: string | null = null;
  if (r.keyName !== undefined) {
    const kp = await c.db.selectFrom('keypair').select('public_key').where('user_id', '=', caller.userId).where('name', '=', r.keyName).executeTakeFirst();
    if (!kp) throw badRequest(`Invalid key_name provided.`);
    keyData = kp.public_key;
  }
  await c.network.validate(caller.projectId, r.networks);
  for (const sg of r.securityGroups) {
    if (!(await c.network.securityGroupExists(caller.projectId, sg))) throw badRequest(`Security group ${sg} not found for project ${caller.projectId}.`);
  }
  const limits = await effectiveLimits(c.db, caller.projectId, caller.userId);
  const metaCount = Object.keys(r.metadata).length;
  if (limits.metadata_items >= 0 && metaCount > limits.metadata_items) throw overQuota('metadata_items', metaCount, 0, limits.metadata_items);
  if (r.personality) checkPersonalityQuota(limits, r.personality);
  const az = r.availabilityZone;
  // 'zone', 'zone:host' or 'zone:host:node' (admins): the zone part must exist
  const zone = az?.split(':')[0];
  if (zone && zone !== c.config.compute.defaultAvailabilityZone) {
    const known = await c.db.selectFrom('aggregate').select('id').where('availability_zone', '=', zone).executeTakeFirst();
    if (!known) throw badRequest(`The requested availability zone is not available`);
  }
  const groupId = typeof r.schedulerHints.group === 'string' ? r.schedulerHints.group : undefined;
  if (groupId) {
    const g = await c.db.selectFrom('server_group').select(['uuid', 'project_id']).where('uuid', '=', groupId).executeTakeFirst();
    if (!g || (g.project_id !== caller.projectId && !caller.isAdmin)) throw badRequest(`Invalid server group ${groupId}`);
  }
  const reservationId = `r-${randomBytes(4).toString('hex')}`;
  const adminPass = r.adminPass ?? randomBytes(9).toString('base64url').slice(0, 12);
  const now = nowIso();
  const instances = await c.db.transaction().execute(async (trx) => {
    await lockKey(trx, c.kind, `quota:${caller.projectId}`);
    let count = r.maxCount;
    if (r.maxCount > r.minCount) count = Math.max(r.minCount, await roomFor({ db: trx }, caller.projectId, flavor, r.maxCount));
    await checkInstanceQuota(trx, caller.projectId, caller.userId, count, flavor);
    if (groupId) await checkGroupRoom(trx, c.kind, groupId, count);
    const rows: InstanceRow[] = [];
    for (let i = 0; i < count; i++) {
      const uuid = randomUUID();
      const name = count > 1 ? multiName(r.name, i + 1, uuid) : r.name;
      rows.push({
        uuid, name, hostname: r.hostname ?? sanitizeHostname(name, `server-${uuid}`), description: r.description ?? null,
        project_id: caller.projectId, user_id: caller.userId,
        flavor: toJson(flavor), new_flavor: null, image_ref: r.imageRef, key_name: r.keyName ?? null, key_data: keyData, user_data: r.userData ?? null,
        vm_state: VM.BUILDING, task_state: TASK.SCHEDULING, power_state: POWER.NOSTATE,
        host: null, node: null, availability_zone: az ?? null, reservation_id: reservationId, launch_index: i,
        config_drive: r.configDrive ? 'True' : '', access_ip_v4: r.accessIPv4 ?? null, access_ip_v6: r.accessIPv6 ?? null,
        locked: 0, locked_by: null, locked_reason: null, progress: 0, network_info: '[]',
        requested_networks: toJson(r.networks), security_groups: toJson(r.securityGroups), block_device_mapping: toJson(r.blockDeviceMapping),
        scheduler_hints: toJson(r.schedulerHints), fault: null, driver_info: '{}',
        launched_at: null, terminated_at: null, created_at: now, updated_at: now, deleted_at: null, deleted: 0,
        disk_config: r.diskConfig ?? 'MANUAL',
      });
    }
    for (const row of rows) {
      await trx.insertInto('instance').values(row).execute();
      const meta = Object.entries(r.metadata);
      if (meta.length) await trx.insertInto('instance_metadata').values(meta.map(([key, value]) => ({ instance_uuid: row.uuid, key, value }))).execute();
      if (groupId) await trx.insertInto('server_group_member').values({ group_uuid: groupId, instance_uuid: row.uuid }).execute();
      if (r.personality?.length) await storePersonality(trx, row.uuid, r.personality);
      if (r.tags.length) await trx.insertInto('instance_tag').values([...new Set(r.tags)].map((tag) => ({ instance_uuid: row.uuid, tag }))).execute();
    }
    return rows;
  });
  if (r.volumes.length) await reserveVolumeMappings(c, caller, instances, r.volumes);
  for (const row of instances) {
    await recordAction(c, { instanceUuid: row.uuid, action: 'create', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
  }
  await castConductor(c.bus, 'build_instances', { uuids: instances.map((i) => i.uuid), requestId: caller.requestId }, caller.requestId);
  return { instances, reservationId, adminPass };
}

/**
 * block_device_mapping_v2: an image booted to a local disk is the same as imageRef; volumes
 * (source and destination 'volume') are attached at build, boot_index 0 as the root; other
 * mappings that need the block storage service are refused.
 */
function withBootImage(c: ComputeContext, r: CreateRequest): CreateRequest & { volumes: VolumeMapping[] } {
  let imageRef = r.imageRef;
  for (const b of r.blockDeviceMapping) {
    const src = String(b.source_type ?? '');
    const dest = String(b.destination_type ?? 'local');
    if (!['local', 'volume'].includes(dest)) throw badRequest(`Block Device Mapping is Invalid: destination_type '${dest}' is not 'local' or 'volume'.`);
    if (src && !['image', 'volume', 'snapshot', 'blank'].includes(src)) throw badRequest(`Block Device Mapping is Invalid: source_type '${src}' is not valid.`);
    if ((src === 'volume' || src === 'snapshot' || dest === 'volume') && !c.volume) {
      throw badRequest('Block Device Mapping is Invalid: volumes are not available in this cloud (no block storage service).');
    }
    if (src === 'image' && dest === 'local' && (b.boot_index === 0 || b.boot_index === '0') && typeof b.uuid === 'string') {
      if (r.imageRef && r.imageRef !== b.uuid) throw badRequest('Block Device Mapping is Invalid: the boot image differs from imageRef.');
      imageRef = b.uuid;
    }
  }
  return { ...r, imageRef, volumes: volumeMappings(r.blockDeviceMapping) };
}

/** Nova's multi-create naming: "name-1", "name-2" ... */
const multiName = (name: string, n: number, _uuid: string) => `${name}-${n}`;

/** Marks the server as going through `task` and records the action; throws 409 when the state does not allow it. */
export async function beginTask(c: ComputeContext, caller: Caller, row: InstanceRow, action: string, task: string | null, from: { vm: string[]; task?: (string | null)[] }): Promise<void> {
  checkLock(row, caller);
  checkState(row, action, from.vm, from.task);
  const r = await c.db.updateTable('instance').set({ task_state: task, updated_at: nowIso() })
    .where('uuid', '=', row.uuid).where('vm_state', '=', row.vm_state)
    .where((eb) => (row.task_state === null ? eb('task_state', 'is', null) : eb('task_state', '=', row.task_state)))
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw conflict(`Cannot '${action}' instance ${row.uuid} while it is in task_state ${row.task_state ?? 'changing'}`);
  await recordAction(c, { instanceUuid: row.uuid, action, requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
}

/** Metadata and tags of many servers at once (list views). */
export async function extrasOf(c: ComputeContext, uuids: string[], rows: InstanceRow[] = []): Promise<{ metadata: Map<string, Record<string, string>>; tags: Map<string, string[]>; floating?: Map<string, { address: string; version: 4 | 6 }[]>; volumes?: Map<string, BlockDeviceMappingRow[]> }> {
  const metadata = new Map<string, Record<string, string>>();
  const tags = new Map<string, string[]>();
  for (let i = 0; i < uuids.length; i += 500) {
    const chunk = uuids.slice(i, i + 500);
    if (chunk.length === 0) break;
    for (const m of await c.db.selectFrom('instance_metadata').selectAll().where('instance_uuid', 'in', chunk).execute()) {
      (metadata.get(m.instance_uuid) ?? metadata.set(m.instance_uuid, {}).get(m.instance_uuid)!)[m.key] = m.value;
    }
    for (const t of await c.db.selectFrom('instance_tag').selectAll().where('instance_uuid', 'in', chunk).orderBy('tag').execute()) {
      (tags.get(t.instance_uuid) ?? tags.set(t.instance_uuid, []).get(t.instance_uuid)!).push(t.tag);
    }
  }
  // floating IPs of the servers' ports: one batched question to the network service
  const ports = rows.flatMap((r) => fromJson<{ port_id: string }[]>(r.network_info, []).map((n) => n.port_id));
  const floating = c.network.floatingIps && ports.length ? await c.network.floatingIps(ports) : undefined;
  const volumes = rows.length ? await volumesByServer(c, rows.map((r) => r.uuid)) : undefined;
  return { metadata, tags, floating, volumes };
}

export const flavorOf = (row: InstanceRow): BookedFlavor => fromJson<BookedFlavor>(row.flavor, { flavorid: '', name: '', vcpus: 0, memory_mb: 0, root_gb: 0, ephemeral_gb: 0, swap: 0, extra_specs: {} });
