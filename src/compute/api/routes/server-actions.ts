import { randomBytes } from 'node:crypto';
import { badRequest, conflict, HttpError, notFound } from '../../../core/errors.js';
import { nowIso } from '../../../core/ids.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { InstanceRow } from '../../db/schema.js';
import { callAgent, castAgent, castConductor } from '../../rpc/topics.js';
import { recordMigration } from '../../service/live-migration.js';
import { confirmMove, revertMove, startMove } from '../../service/cold-migration.js';
import { getVncConsoleAction } from './consoles.js';
import { addFloatingIp, removeFloatingIp } from './floating-ips.js';
import { addFixedIp, removeFixedIp } from './multinic.js';
import { createSnapshotImage } from '../../service/snapshots.js';
import { toJson, type ComputeContext } from '../../service/context.js';
import { bookFlavor, findFlavor } from '../../service/flavors.js';
import { recordAction } from '../../service/instance-actions.js';
import { checkResizeQuota, effectiveLimits } from '../../service/quotas.js';
import { checkPersonalityQuota, parsePersonality, storePersonality, type PersonalityFile } from '../../service/personality.js';
import { beginTask, checkDiskConfig, checkLock, checkState, flavorOf } from '../../service/servers.js';
import { flavorResources } from '../../scheduler/scheduler.js';
import { POWER, TASK, VM } from '../../service/states.js';
import { at, baseUrl, callerOf, isObj } from '../common.js';
import { deleteServer, serverOf, serverTarget, checkName, showServer } from './servers.js';

const P = 'os_compute_api:';
/** Each action's policy rule (Nova's names) and default. */
const ACTION_RULES: Record<string, [string, string]> = {
  'os-start': [`${P}servers:start`, 'rule:project_member_or_admin'],
  'os-stop': [`${P}servers:stop`, 'rule:project_member_or_admin'],
  reboot: [`${P}servers:reboot`, 'rule:project_member_or_admin'],
  pause: [`${P}os-pause-server:pause`, 'rule:project_member_or_admin'],
  unpause: [`${P}os-pause-server:unpause`, 'rule:project_member_or_admin'],
  suspend: [`${P}os-suspend-server:suspend`, 'rule:project_member_or_admin'],
  resume: [`${P}os-suspend-server:resume`, 'rule:project_member_or_admin'],
  lock: [`${P}os-lock-server:lock`, 'rule:project_member_or_admin'],
  unlock: [`${P}os-lock-server:unlock`, 'rule:project_member_or_admin'],
  rebuild: [`${P}servers:rebuild`, 'rule:project_member_or_admin'],
  createImage: [`${P}servers:create_image`, 'rule:project_member_or_admin'],
  createBackup: [`${P}os-create-backup`, 'rule:project_member_or_admin'],
  resize: [`${P}servers:resize`, 'rule:project_member_or_admin'],
  confirmResize: [`${P}servers:confirm_resize`, 'rule:project_member_or_admin'],
  revertResize: [`${P}servers:revert_resize`, 'rule:project_member_or_admin'],
  forceDelete: [`${P}os-deferred-delete:force`, 'rule:project_member_or_admin'],
  restore: [`${P}os-deferred-delete:restore`, 'rule:project_member_or_admin'],
  'os-getConsoleOutput': [`${P}os-console-output`, 'rule:project_member_or_admin'],
  'os-resetState': [`${P}os-admin-actions:reset_state`, 'rule:admin_api'],
  addSecurityGroup: [`${P}os-security-groups:add`, 'rule:project_member_or_admin'],
  removeSecurityGroup: [`${P}os-security-groups:remove`, 'rule:project_member_or_admin'],
  addFloatingIp: [`${P}os-floating-ips:add`, 'rule:project_member_or_admin'],
  removeFloatingIp: [`${P}os-floating-ips:remove`, 'rule:project_member_or_admin'],
  shelve: [`${P}os-shelve:shelve`, 'rule:project_member_or_admin'],
  shelveOffload: [`${P}os-shelve:shelve_offload`, 'rule:admin_api'],
  unshelve: [`${P}os-shelve:unshelve`, 'rule:project_member_or_admin'],
  trigger_crash_dump: [`${P}servers:trigger_crash_dump`, 'rule:project_member_or_admin'],
  'os-migrateLive': [`${P}os-migrate-server:migrate_live`, 'rule:admin_api'],
  'os-getVNCConsole': [`${P}os-remote-consoles`, 'rule:project_member_or_admin'],
  rescue: [`${P}os-rescue`, 'rule:project_member_or_admin'],
  unrescue: [`${P}os-unrescue`, 'rule:project_member_or_admin'],
  migrate: [`${P}os-migrate-server:migrate`, 'rule:admin_api'],
  addFixedIp: [`${P}os-multinic:add`, 'rule:project_member_or_admin'],
  removeFixedIp: [`${P}os-multinic:remove`, 'rule:project_member_or_admin'],
};
export const serverActionsPolicy: Record<string, string> = Object.fromEntries(Object.values(ACTION_RULES).map(([r, d]) => [r, d]));

type Handler = (c: ComputeContext, ctx: RequestCtx, row: InstanceRow, arg: any) => Promise<unknown>;

/** Nova's image metadata schema (createImage, createBackup): keys of 1–255 of [a-zA-Z0-9-_:. ], string values of at most 255. */
const IMAGE_META_KEY = /^[a-zA-Z0-9-_:. ]{1,255}$/;
function checkImageMetadata(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isObj(v)) throw badRequest(`Invalid input for field/attribute metadata. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'object'`);
  for (const [k, val] of Object.entries(v)) {
    if (!IMAGE_META_KEY.test(k)) throw badRequest(`Invalid input for field/attribute metadata. Value: ${JSON.stringify(v)}. Additional properties are not allowed ('${k}' was unexpected)`);
    if (typeof val !== 'string') throw badRequest(`Invalid input for field/attribute ${k}. Value: ${JSON.stringify(val)}. ${JSON.stringify(val)} is not of type 'string'`);
    if (val.length > 255) throw badRequest(`Invalid input for field/attribute ${k}. Value: ${val}. '${val}' is too long`);
  }
  return v as Record<string, string>;
}

/** Nova's enable_instance_password (on by default): rebuild and rescue answer with the new admin password. */
const newAdminPass = () => randomBytes(9).toString('base64url').slice(0, 12);

/**
 * createImage and createBackup: the queued image (its quota errors as Nova words them), then the
 * server's task, then the agent's snapshot. A server that is busy by then gives its image back.
 */
async function snapshotAction(c: ComputeContext, ctx: RequestCtx, row: InstanceRow, action: 'createImage' | 'createBackup', from: string[],
  name: string, metadata: Record<string, string>, backup?: { type: string; rotation: number }): Promise<Record<string, unknown>> {
  const caller = callerOf(ctx);
  if (!from.includes(row.vm_state) || row.task_state !== null) {
    throw conflict(`Cannot '${action}' instance ${row.uuid} while it is in ${from.includes(row.vm_state) ? `task_state ${row.task_state}` : `vm_state ${row.vm_state}`}`);
  }
  const props = backup ? { ...metadata, backup_type: backup.type } : metadata;
  const image = await createSnapshotImage(c, row, name, caller.userId, props, backup ? 'backup' : 'snapshot').catch((e: HttpError) => {
    throw e.status === 413 || e.status === 403 ? new HttpError(403, `Quota exceeded for resources: ['images']`) : e;
  });
  try {
    await beginTask(c, caller, row, action, backup ? 'image_backup' : TASK.IMAGE_SNAPSHOT, { vm: from });
  } catch (e) {
    await c.image.deleteImage(String(image.id), { projectId: row.project_id, isAdmin: false, userId: caller.userId }).catch(() => undefined);
    throw e;
  }
  await cast(c, ctx, row, 'snapshot_instance', { imageId: image.id, vmState: row.vm_state, ...(backup ? { backupType: backup.type, rotation: backup.rotation } : {}) });
  return image;
}

const cast = async (c: ComputeContext, ctx: RequestCtx, row: InstanceRow, method: string, args: Record<string, unknown> = {}) => {
  if (!row.host) throw conflict(`Instance ${row.uuid} is not assigned to a host`);
  await castAgent(c.bus, row.host, method, { uuid: row.uuid, requestId: String(ctx.req.id), ...args }, String(ctx.req.id));
};

/** A simple state change: check, mark the task, cast to the host. */
const simple = (action: string, task: string, vm: string[], method: string, taskStates: (string | null)[] = [null]): Handler =>
  async (c, ctx, row) => {
    await beginTask(c, callerOf(ctx), row, action, task, { vm, task: taskStates });
    await cast(c, ctx, row, method);
  };

const ACTIONS: Record<string, Handler> = {
  'os-start': simple('start', TASK.POWERING_ON, [VM.STOPPED], 'start_instance'),
  'os-stop': simple('stop', TASK.POWERING_OFF, [VM.ACTIVE, VM.ERROR, VM.RESCUED], 'stop_instance'),
  pause: simple('pause', TASK.PAUSING, [VM.ACTIVE], 'pause_instance'),
  unpause: simple('unpause', TASK.UNPAUSING, [VM.PAUSED], 'unpause_instance'),
  suspend: simple('suspend', TASK.SUSPENDING, [VM.ACTIVE], 'suspend_instance'),
  resume: simple('resume', TASK.RESUMING, [VM.SUSPENDED], 'resume_instance'),
  async reboot(c, ctx, row, arg) {
    const type = isObj(arg) ? arg.type : undefined;
    if (type !== 'SOFT' && type !== 'HARD') throw badRequest(`Invalid input for field/attribute type. Value: ${type}. '${type}' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']`);
    const hard = type === 'HARD';
    await beginTask(c, callerOf(ctx), row, 'reboot', hard ? TASK.REBOOTING_HARD : TASK.REBOOTING, hard
      ? { vm: [VM.ACTIVE, VM.STOPPED, VM.PAUSED, VM.SUSPENDED, VM.ERROR], task: [null, TASK.REBOOTING, TASK.REBOOT_PENDING, TASK.REBOOT_STARTED, TASK.REBOOTING_HARD, TASK.REBOOT_PENDING_HARD, TASK.REBOOT_STARTED_HARD] }
      : { vm: [VM.ACTIVE], task: [null] });
    await cast(c, ctx, row, 'reboot_instance', { type });
  },
  async lock(c, ctx, row, arg) {
    const caller = callerOf(ctx);
    const reason = isObj(arg) && arg.locked_reason !== undefined ? arg.locked_reason : null;
    if (reason !== null && !at(ctx, '2.73')) throw badRequest("Invalid input for field/attribute lock. Additional properties are not allowed ('locked_reason' was unexpected)");
    if (reason !== null && (typeof reason !== 'string' || reason.length > 255)) throw badRequest('Invalid input for field/attribute locked_reason.');
    await recordAction(c, { instanceUuid: row.uuid, action: 'lock', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
    await c.db.updateTable('instance').set({ locked: 1, locked_by: caller.isAdmin && row.project_id !== caller.projectId ? 'admin' : 'owner', locked_reason: reason, updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  },
  async unlock(c, ctx, row) {
    const caller = callerOf(ctx);
    if (row.locked && row.locked_by === 'admin' && !caller.isAdmin) throw new HttpError(403, `Instance ${row.uuid} was locked by an administrator`);
    await recordAction(c, { instanceUuid: row.uuid, action: 'unlock', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
    await c.db.updateTable('instance').set({ locked: 0, locked_by: null, locked_reason: null, updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  },
  async rebuild(c, ctx, row, arg) {
    if (!isObj(arg)) throw badRequest("Invalid input for field/attribute rebuild. 'imageRef' is a required property");
    const caller = callerOf(ctx);
    const imageRef = typeof arg.imageRef === 'string' ? arg.imageRef.split('/').pop()! : '';
    if (!imageRef) throw badRequest("Invalid input for field/attribute rebuild. 'imageRef' is a required property");
    const image = await c.image.getImage(imageRef, { projectId: caller.projectId, isAdmin: caller.isAdmin });
    if (!image) throw badRequest(`Image ${imageRef} could not be found.`);
    if (image.status !== 'active') throw badRequest(`Image ${imageRef} is not active.`);
    if (arg.adminPass !== undefined && typeof arg.adminPass !== 'string') throw badRequest(`Invalid input for field/attribute adminPass. Value: ${JSON.stringify(arg.adminPass)}. ${JSON.stringify(arg.adminPass)} is not of type 'string'`);
    const set: Partial<InstanceRow> = { image_ref: imageRef };
    if (arg['OS-DCF:diskConfig'] !== undefined) set.disk_config = checkDiskConfig(arg['OS-DCF:diskConfig']);
    if (arg.name !== undefined) set.name = checkName(arg.name);
    if (arg.accessIPv4 !== undefined) set.access_ip_v4 = arg.accessIPv4 || null;
    if (arg.accessIPv6 !== undefined) set.access_ip_v6 = arg.accessIPv6 || null;
    if (arg.description !== undefined && at(ctx, '2.19')) set.description = arg.description;
    if (arg.key_name !== undefined && at(ctx, '2.54')) {
      if (arg.key_name === null) { set.key_name = null; set.key_data = null; } else {
        const kp = await c.db.selectFrom('keypair').select('public_key').where('user_id', '=', caller.userId).where('name', '=', String(arg.key_name)).executeTakeFirst();
        if (!kp) throw badRequest('Invalid key_name provided.');
        set.key_name = String(arg.key_name); set.key_data = kp.public_key;
      }
    }
    if (arg.user_data !== undefined && at(ctx, '2.57')) set.user_data = arg.user_data;
    // personality: files to inject, replacing the server's (gone from 2.57, as on create)
    let personality: PersonalityFile[] | undefined;
    if (arg.personality !== undefined) {
      if (at(ctx, '2.57')) throw badRequest("Invalid input for field/attribute rebuild. Additional properties are not allowed ('personality' was unexpected)");
      if (arg.personality !== null) {
        personality = parsePersonality(arg.personality);
        checkPersonalityQuota(await effectiveLimits(c.db, row.project_id, row.user_id), personality);
      }
    }
    await beginTask(c, caller, row, 'rebuild', TASK.REBUILDING, { vm: [VM.ACTIVE, VM.STOPPED, VM.ERROR] });
    await c.db.updateTable('instance').set({ ...set, updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
    if (personality) await storePersonality(c.db, row.uuid, personality);
    if (isObj(arg.metadata)) {
      await c.db.deleteFrom('instance_metadata').where('instance_uuid', '=', row.uuid).execute();
      const entries = Object.entries(arg.metadata);
      if (entries.length) await c.db.insertInto('instance_metadata').values(entries.map(([key, value]) => ({ instance_uuid: row.uuid, key, value: String(value) }))).execute();
    }
    await cast(c, ctx, row, 'rebuild_instance');
    const fresh = (await c.db.selectFrom('instance').selectAll().where('uuid', '=', row.uuid).executeTakeFirst())!;
    const shown = await showServer(c, ctx, fresh, 'rebuild');
    (shown.server as Record<string, unknown>).adminPass = typeof arg.adminPass === 'string' ? arg.adminPass : newAdminPass();
    return ctx.reply.code(202).send(shown);
  },
  async createImage(c, ctx, row, arg) {
    if (!isObj(arg) || typeof arg.name !== 'string' || arg.name.trim() === '' || arg.name.length > 255) throw badRequest("Invalid input for field/attribute createImage. 'name' is a required property");
    const metadata = checkImageMetadata(arg.metadata);
    checkLock(row, callerOf(ctx));
    const image = await snapshotAction(c, ctx, row, 'createImage', [VM.ACTIVE, VM.STOPPED, VM.PAUSED, VM.SUSPENDED], arg.name, metadata);
    ctx.reply.header('location', `${baseUrl(ctx).replace(/:\d+$/, '')}/images/${image.id}`);
    return at(ctx, '2.45') ? ctx.reply.code(202).send({ image_id: image.id }) : undefined;
  },
  async createBackup(c, ctx, row, arg) {
    const bad = (why: string) => badRequest(`Invalid input for field/attribute createBackup. ${why}`);
    if (!isObj(arg)) throw bad(`Value: ${JSON.stringify(arg)}. ${JSON.stringify(arg)} is not of type 'object'`);
    for (const k of ['name', 'backup_type', 'rotation']) if (arg[k] === undefined) throw bad(`'${k}' is a required property`);
    for (const k of Object.keys(arg)) if (!['name', 'backup_type', 'rotation', 'metadata'].includes(k)) throw bad(`Additional properties are not allowed ('${k}' was unexpected)`);
    const name = checkName(arg.name);
    if (typeof arg.backup_type !== 'string') throw badRequest(`Invalid input for field/attribute backup_type. Value: ${JSON.stringify(arg.backup_type)}. ${JSON.stringify(arg.backup_type)} is not of type 'string'`);
    const r = typeof arg.rotation === 'string' && /^\d+$/.test(arg.rotation) ? Number(arg.rotation) : arg.rotation;
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) throw badRequest(`Invalid input for field/attribute rotation. Value: ${JSON.stringify(arg.rotation)}. ${JSON.stringify(arg.rotation)} is not a non-negative integer`);
    const metadata = checkImageMetadata(arg.metadata);
    // Nova's backup: ACTIVE or SHUTOFF servers; the agent rotates the older backups out once the copy is uploaded
    const image = await snapshotAction(c, ctx, row, 'createBackup', [VM.ACTIVE, VM.STOPPED], name, metadata, { type: arg.backup_type, rotation: r });
    if (at(ctx, '2.45')) return ctx.reply.code(202).send({ image_id: image.id });
    if (r > 0) ctx.reply.header('location', `${baseUrl(ctx).replace(/:\d+$/, '')}/images/${image.id}`);
    return undefined;
  },
  async resize(c, ctx, row, arg) {
    if (!isObj(arg) || arg.flavorRef === undefined) throw badRequest("Invalid input for field/attribute resize. 'flavorRef' is a required property");
    const caller = callerOf(ctx);
    const ref = String(arg.flavorRef).split('/').pop()!;
    const target = await findFlavor(c, caller, ref).catch(() => { throw badRequest(`Unable to find flavor ${ref}`); });
    const current = flavorOf(row);
    if (target.flavorid === current.flavorid) throw badRequest('When resizing, instances must change flavor!');
    if (target.root_gb < current.root_gb && target.root_gb !== 0) throw badRequest('Resize to zero disk flavor is not allowed.');
    const diskConfig = arg['OS-DCF:diskConfig'] === undefined ? undefined : checkDiskConfig(arg['OS-DCF:diskConfig']);
    const next = await bookFlavor(c, target);
    checkLock(row, caller);
    checkState(row, 'resize', [VM.ACTIVE, VM.STOPPED]);
    // quota for the growth only (Nova's upsize_quota_delta)
    await checkResizeQuota(c.db, row.project_id, row.user_id, { cores: next.vcpus - current.vcpus, ram: next.memory_mb - current.memory_mb });
    if (!row.node || !row.host) throw conflict(`Instance ${row.uuid} is not assigned to a host`);
    await beginTask(c, caller, row, 'resize', TASK.RESIZE_PREP, { vm: [VM.ACTIVE, VM.STOPPED] });
    if (diskConfig) await c.db.updateTable('instance').set({ disk_config: diskConfig }).where('uuid', '=', row.uuid).execute();
    await startMove(c, caller, row, { type: 'resize', newFlavor: next });
  },
  async confirmResize(c, ctx, row) {
    if (row.vm_state !== VM.RESIZED || row.task_state !== null) throw conflict(`Cannot 'confirmResize' instance ${row.uuid} while it is in ${row.vm_state !== VM.RESIZED ? `vm_state ${row.vm_state}` : `task_state ${row.task_state}`}`);
    const caller = callerOf(ctx);
    checkLock(row, caller);
    await recordAction(c, { instanceUuid: row.uuid, action: 'confirmResize', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
    await confirmMove(c, row);
    return ctx.reply.code(204).send();
  },
  async revertResize(c, ctx, row) {
    if (row.vm_state !== VM.RESIZED || row.task_state !== null) throw conflict(`Cannot 'revertResize' instance ${row.uuid} while it is in ${row.vm_state !== VM.RESIZED ? `vm_state ${row.vm_state}` : `task_state ${row.task_state}`}`);
    const caller = callerOf(ctx);
    checkLock(row, caller);
    await recordAction(c, { instanceUuid: row.uuid, action: 'revertResize', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
    await revertMove(c, caller, row);
  },
  async forceDelete(c, ctx, row) {
    await deleteServer(c, ctx, row, 'forceDelete');
  },
  async restore(_c, _ctx, row) {
    throw conflict(`Instance ${row.uuid} is not soft-deleted (deferred delete is off)`);
  },
  async 'os-getConsoleOutput'(c, ctx, row, arg) {
    let length: number | undefined;
    if (isObj(arg) && arg.length !== undefined && arg.length !== null) {
      const n = typeof arg.length === 'string' && /^-?\d+$/.test(arg.length) ? Number(arg.length) : arg.length;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) throw badRequest(`Invalid input for field/attribute length. Value: ${arg.length}.`);
      length = n === -1 ? undefined : n;
    }
    if (!row.host || row.vm_state === VM.BUILDING) throw conflict(`Instance ${row.uuid} is not ready yet`);
    const output = await callAgent<string>(c.bus, row.host, 'get_console_output', { uuid: row.uuid, length }, String(ctx.req.id), 30_000);
    return ctx.reply.code(200).send({ output });
  },
  async 'os-resetState'(c, ctx, row, arg) {
    const state = isObj(arg) ? arg.state : undefined;
    if (state !== 'active' && state !== 'error') throw badRequest(`Invalid input for field/attribute state. Value: ${state}. '${state}' is not one of ['active', 'error']`);
    const caller = callerOf(ctx);
    await recordAction(c, { instanceUuid: row.uuid, action: 'resetState', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
    await c.db.updateTable('instance').set({ vm_state: state, task_state: null, updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  },
  async addSecurityGroup(c, ctx, row, arg) {
    const name = isObj(arg) ? arg.name : undefined;
    if (typeof name !== 'string' || !name.trim()) throw badRequest('Security group name cannot be empty');
    const groups = JSON.parse(row.security_groups) as string[];
    if (c.network.addSecurityGroup) {
      // Nova with Neutron: the group goes on every port of the server (no error when already there)
      await c.network.addSecurityGroup(row.project_id, row.uuid, name);
      if (groups.includes(name)) return;
    } else {
      if (!(await c.network.securityGroupExists(row.project_id, name))) throw notFound(`Security group ${name} not found for project ${row.project_id}.`);
      if (groups.includes(name)) throw badRequest(`Security group ${name} is already associated with the instance ${row.uuid}`);
    }
    await c.db.updateTable('instance').set({ security_groups: toJson([...groups, name]), updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  },
  async removeSecurityGroup(c, ctx, row, arg) {
    const name = isObj(arg) ? arg.name : undefined;
    if (typeof name !== 'string' || !name.trim()) throw badRequest('Security group name cannot be empty');
    const groups = JSON.parse(row.security_groups) as string[];
    if (c.network.removeSecurityGroup) await c.network.removeSecurityGroup(row.project_id, row.uuid, name);
    else if (!groups.includes(name)) throw badRequest(`Security group ${name} not associated with the instance ${row.uuid}`);
    await c.db.updateTable('instance').set({ security_groups: toJson(groups.filter((g) => g !== name)), updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  },
  addFloatingIp,
  removeFloatingIp,
  addFixedIp,
  removeFixedIp,
  async shelve(c, ctx, row) {
    await beginTask(c, callerOf(ctx), row, 'shelve', TASK.SHELVING, { vm: [VM.ACTIVE, VM.STOPPED, VM.PAUSED, VM.SUSPENDED] });
    await cast(c, ctx, row, 'shelve_instance');
  },
  async shelveOffload(c, ctx, row) {
    await beginTask(c, callerOf(ctx), row, 'shelveOffload', TASK.SHELVING_OFFLOADING, { vm: [VM.SHELVED] });
    await cast(c, ctx, row, 'shelve_offload_instance');
  },
  async unshelve(c, ctx, row, arg) {
    const caller = callerOf(ctx);
    // 2.77: a zone to unshelve into; 2.91: a host (admins), or null zone to unpin
    const a = isObj(arg) ? arg : {};
    let host: string | undefined;
    let zone: string | null | undefined;
    if (a.availability_zone !== undefined) {
      if (!at(ctx, '2.77')) throw badRequest("Invalid input for field/attribute unshelve. Additional properties are not allowed ('availability_zone' was unexpected)");
      zone = a.availability_zone === null ? null : String(a.availability_zone);
    }
    if (a.host !== undefined) {
      if (!at(ctx, '2.91')) throw badRequest("Invalid input for field/attribute unshelve. Additional properties are not allowed ('host' was unexpected)");
      if (!caller.isAdmin) throw new HttpError(403, 'Policy does not allow os_compute_api:os-shelve:unshelve_to_host to be performed.');
      host = String(a.host);
      if (!(await c.db.selectFrom('compute_node').select('host').where('host', '=', host).executeTakeFirst())) throw badRequest(`Compute host ${host} could not be found.`);
    }
    if ((host || zone !== undefined) && row.vm_state !== VM.SHELVED_OFFLOADED) throw conflict(`The server ${row.uuid} is not shelved offloaded: it cannot change host or zone`);
    await beginTask(c, caller, row, 'unshelve', TASK.UNSHELVING, { vm: [VM.SHELVED, VM.SHELVED_OFFLOADED] });
    if (zone !== undefined) await c.db.updateTable('instance').set({ availability_zone: zone }).where('uuid', '=', row.uuid).execute();
    // an offloaded server has no host: the conductor schedules it again
    if (row.vm_state === VM.SHELVED_OFFLOADED) await castConductor(c.bus, 'unshelve_instance', { uuid: row.uuid, host, requestId: caller.requestId }, caller.requestId);
    else await cast(c, ctx, row, 'unshelve_instance');
  },
  async 'os-migrateLive'(c, ctx, row, arg) {
    if (!isObj(arg) || !('host' in arg)) throw badRequest("Invalid input for field/attribute os-migrateLive. 'host' is a required property");
    const host = arg.host === null ? null : String(arg.host);
    if (arg.block_migration === undefined) throw badRequest("Invalid input for field/attribute os-migrateLive. 'block_migration' is a required property");
    if (host) {
      const known = await c.db.selectFrom('compute_node').select('host').where('host', '=', host).executeTakeFirst();
      if (!known) throw badRequest(`Compute host ${host} could not be found.`);
      if (host === row.host) throw badRequest(`The supplied hypervisor type of is invalid. Unable to migrate instance ${row.uuid} to current host (${host}).`);
    }
    const caller = callerOf(ctx);
    await beginTask(c, caller, row, 'live-migration', TASK.MIGRATING, { vm: [VM.ACTIVE, VM.PAUSED] });
    const migrationId = await recordMigration(c, {
      instance_uuid: row.uuid, migration_type: 'live-migration', status: 'queued', source_compute: row.host, dest_compute: host,
      source_node: row.node, dest_node: null, old_flavorid: flavorOf(row).flavorid, new_flavorid: flavorOf(row).flavorid, project_id: row.project_id, user_id: row.user_id,
    });
    await castConductor(c.bus, 'live_migrate_instance', { uuid: row.uuid, host, migrationId, requestId: caller.requestId }, caller.requestId);
  },
  'os-getVNCConsole': getVncConsoleAction,
  async rescue(c, ctx, row, arg) {
    const a = isObj(arg) ? arg : {};
    let imageRef: string | undefined;
    if (a.rescue_image_ref !== undefined) {
      imageRef = String(a.rescue_image_ref).split('/').pop()!;
      const img = await c.image.getImage(imageRef, { projectId: row.project_id, isAdmin: callerOf(ctx).isAdmin });
      if (!img) throw badRequest(`Image ${imageRef} could not be found.`);
    }
    if (a.adminPass !== undefined && typeof a.adminPass !== 'string') throw badRequest('Invalid input for field/attribute adminPass.');
    await beginTask(c, callerOf(ctx), row, 'rescue', TASK.RESCUING, { vm: [VM.ACTIVE, VM.STOPPED, VM.ERROR] });
    await cast(c, ctx, row, 'rescue_instance', { imageRef });
    return ctx.reply.code(200).send({ adminPass: typeof a.adminPass === 'string' ? a.adminPass : newAdminPass() });
  },
  async unrescue(c, ctx, row) {
    await beginTask(c, callerOf(ctx), row, 'unrescue', TASK.UNRESCUING, { vm: [VM.RESCUED] });
    await cast(c, ctx, row, 'unrescue_instance');
  },
  async migrate(c, ctx, row, arg) {
    // Nova: a body of null (or {} from some clients); from 2.56 an admin may name the host
    let host: string | undefined;
    if (at(ctx, '2.56') && arg !== null && arg !== undefined) {
      if (!isObj(arg)) throw badRequest(`Invalid input for field/attribute migrate. Value: ${JSON.stringify(arg)}. ${JSON.stringify(arg)} is not of type 'object', 'null'`);
      for (const k of Object.keys(arg)) if (k !== 'host') throw badRequest(`Invalid input for field/attribute migrate. Value: ${JSON.stringify(arg)}. Additional properties are not allowed ('${k}' was unexpected)`);
      if (arg.host !== undefined && arg.host !== null) {
        if (typeof arg.host !== 'string' || !/^[a-zA-Z0-9._-]{1,255}$/.test(arg.host)) throw badRequest(`Invalid input for field/attribute host. Value: ${JSON.stringify(arg.host)}. ${JSON.stringify(arg.host)} is not a 'fqdn'`);
        host = arg.host;
      }
    }
    const caller = callerOf(ctx);
    checkLock(row, caller);
    checkState(row, 'migrate', [VM.ACTIVE, VM.STOPPED]);
    if (host) {
      if (!(await c.db.selectFrom('compute_node').select('host').where('host', '=', host).executeTakeFirst())) throw badRequest(`Compute host ${host} could not be found.`);
      if (host === row.host) throw badRequest(`Cannot migrate the instance ${row.uuid} to the host ${host} where it is now.`);
    }
    if (!row.node || !row.host) throw conflict(`Instance ${row.uuid} is not assigned to a host`);
    await beginTask(c, caller, row, 'migrate', TASK.RESIZE_PREP, { vm: [VM.ACTIVE, VM.STOPPED] });
    await startMove(c, caller, row, { type: 'migration', newFlavor: flavorOf(row), ...(host ? { host } : {}) });
  },
  async trigger_crash_dump(c, ctx, row, arg) {
    if (!at(ctx, '2.17')) throw badRequest('There is no such action: trigger_crash_dump');
    if (arg !== null) throw badRequest('Invalid input for field/attribute trigger_crash_dump. Value: must be null');
    const caller = callerOf(ctx);
    checkLock(row, caller);
    checkState(row, 'trigger_crash_dump', [VM.ACTIVE, VM.PAUSED, VM.RESCUED, VM.RESIZED, VM.ERROR]);
    await recordAction(c, { instanceUuid: row.uuid, action: 'trigger_crash_dump', requestId: caller.requestId, userId: caller.userId, projectId: caller.projectId });
    await cast(c, ctx, row, 'trigger_crash_dump');
  },
};

export function serverActionsRoutes(c: ComputeContext): Route[] {
  return [{
    method: 'POST', url: '/v2.1/servers/:id/action', policy: 'authenticated', status: 202,
    handler: async (ctx) => {
      const body = ctx.body;
      if (!isObj(body) || Object.keys(body).length !== 1) throw badRequest('There is either no action or more than one action in the request body.');
      const [name] = Object.keys(body);
      const handler = ACTIONS[name];
      const rule = ACTION_RULES[name];
      if (!handler || !rule) throw badRequest(`There is no such action: ${name}`);
      const target = await serverTarget(c)(ctx);
      ctx.enforce(rule[0], target);
      const result = await handler(c, ctx, serverOf(ctx), body[name]);
      return result;
    },
  }];
}
