import { randomUUID } from 'node:crypto';
import { badRequest, HttpError } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import type { InstanceRow, MigrationRow } from '../db/schema.js';
import { castAgent } from '../rpc/topics.js';
import { flavorResources, NoValidHost, selectDestination } from '../scheduler/scheduler.js';
import { requestSpec } from './conductor.js';
import { toJson, type Caller, type ComputeContext } from './context.js';
import type { BookedFlavor } from './flavors.js';
import { recordMigration, setMigration } from './live-migration.js';
import { flavorOf } from './servers.js';
import { POWER, TASK, VM } from './states.js';

/**
 * Cold migration and resize (Nova's MigrationTask + prep_resize / resize_instance / finish_resize):
 * the scheduler picks the destination (another host for a migration; any host for a resize, as
 * Nova with allow_resize_to_same_host), and placement's claims move as Nova moves them: the
 * server's allocation on the source goes to the migration's own consumer, the server claims the
 * new flavor on the destination. Confirm drops the migration's consumer (the source is freed);
 * revert gives the source allocation back to the server and drops the destination's.
 *
 * The scheduling happens in the request (Nova's API calls the conductor synchronously for
 * these), so "no valid host" is the API's 400; the move itself is cast to the source's agent.
 */
export async function startMove(c: ComputeContext, caller: Caller, row: InstanceRow, o: { type: 'migration' | 'resize'; newFlavor: BookedFlavor; host?: string }): Promise<void> {
  const oldFlavor = flavorOf(row);
  const owner = { projectId: row.project_id, userId: row.user_id };
  const source = { host: row.host!, node: row.node! };
  const srcNode = await c.db.selectFrom('compute_node').select('uuid').where('hypervisor_hostname', '=', source.node).executeTakeFirst();
  const migrationUuid = randomUUID();
  const migrationId = await recordMigration(c, {
    uuid: migrationUuid, instance_uuid: row.uuid, migration_type: o.type, status: 'pre-migrating', source_compute: source.host, dest_compute: null,
    source_node: source.node, dest_node: null, old_flavorid: oldFlavor.flavorid, new_flavorid: o.newFlavor.flavorid, project_id: row.project_id, user_id: row.user_id,
  });
  // the source allocation now belongs to the migration (Nova's move_allocations)
  if (srcNode) await c.placement.claim(migrationUuid, srcNode.uuid, flavorResources(oldFlavor), owner);
  let dest: { host: string; node: string };
  try {
    if (o.host) {
      const n = await c.db.selectFrom('compute_node').select(['uuid', 'host', 'hypervisor_hostname']).where('host', '=', o.host).executeTakeFirst();
      if (!n) throw new NoValidHost(`Compute host ${o.host} could not be found.`);
      if (!(await c.placement.claim(row.uuid, n.uuid, flavorResources(o.newFlavor), owner))) throw new NoValidHost(`Host ${n.host} has not enough room.`);
      dest = { host: n.host, node: n.hypervisor_hostname };
    } else {
      const spec = await requestSpec(c, row);
      // a migration leaves its host; a resize may stay (Nova's allow_resize_to_same_host, as devstack sets it)
      if (o.type === 'migration') spec.differentHost = [...(spec.differentHost ?? []), row.uuid];
      delete spec.forceHost;
      const sel = await selectDestination(c, spec, o.newFlavor, owner);
      dest = { host: sel.host, node: sel.node };
    }
  } catch (e) {
    // nothing moved: the server keeps its source allocation, the migration is an error
    if (srcNode) await c.placement.claim(row.uuid, srcNode.uuid, flavorResources(oldFlavor), owner);
    await c.placement.release(migrationUuid);
    await setMigration(c, migrationId, { status: 'error' });
    await c.db.updateTable('instance').set({ task_state: null, updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
    if (e instanceof NoValidHost) throw badRequest(e.message);
    throw e;
  }
  await setMigration(c, migrationId, { dest_compute: dest.host, dest_node: dest.node });
  await c.db.updateTable('instance').set({ new_flavor: toJson(o.newFlavor), updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  await castAgent(c.bus, source.host, 'resize_instance', { uuid: row.uuid, requestId: caller.requestId, migrationId, dest }, caller.requestId);
}

/** The migration a VERIFY_RESIZE server waits on (the latest finished one). */
export async function pendingMigration(c: Pick<ComputeContext, 'db'>, uuid: string): Promise<MigrationRow | undefined> {
  return c.db.selectFrom('migration').selectAll().where('instance_uuid', '=', uuid).where('status', '=', 'finished')
    .where('migration_type', 'in', ['migration', 'resize']).orderBy('id', 'desc').executeTakeFirst();
}

/** Confirm: the new flavor stays, the source allocation (the migration's consumer) is freed. */
export async function confirmMove(c: ComputeContext, row: InstanceRow): Promise<void> {
  const m = await pendingMigration(c, row.uuid);
  if (m) await setMigration(c, m.id, { status: 'confirming' });
  await c.db.updateTable('instance').set({
    flavor: row.new_flavor ?? row.flavor, new_flavor: null, vm_state: row.power_state === POWER.RUNNING ? VM.ACTIVE : VM.STOPPED, task_state: null, updated_at: nowIso(),
  }).where('uuid', '=', row.uuid).execute();
  if (m) {
    await c.placement.release(m.uuid);
    await setMigration(c, m.id, { status: 'confirmed' });
  }
}

/**
 * Revert: the server's allocation goes back to the source with the old flavor, the
 * migration's consumer is dropped, and the guest goes back: across hosts the destination
 * stops it and hands its disk to the source (revert_resize), the source starts it
 * (finish_revert_resize); on the same host the source restarts it with the old flavor.
 */
export async function revertMove(c: ComputeContext, caller: Caller, row: InstanceRow): Promise<void> {
  const m = await pendingMigration(c, row.uuid);
  const sourceNode = m?.source_node ?? row.node ?? '';
  const node = await c.db.selectFrom('compute_node').select('uuid').where('hypervisor_hostname', '=', sourceNode).executeTakeFirst();
  const owner = { projectId: row.project_id, userId: row.user_id };
  const old = flavorResources(flavorOf(row));
  if (m) await c.placement.release(m.uuid);
  if (node && !(await c.placement.claim(row.uuid, node.uuid, old, owner))) {
    if (m) await c.placement.claim(m.uuid, node.uuid, old, owner);
    throw new HttpError(409, `Cannot revert the resize of ${row.uuid}: its source host has no room for it any more`);
  }
  if (m) await setMigration(c, m.id, { status: 'reverting' });
  await c.db.updateTable('instance').set({ task_state: TASK.RESIZE_REVERTING, updated_at: nowIso() }).where('uuid', '=', row.uuid).execute();
  const args = { uuid: row.uuid, requestId: caller.requestId, ...(m ? { migrationId: m.id } : {}) };
  if (m && m.source_compute && m.source_compute !== row.host) {
    await castAgent(c.bus, row.host!, 'revert_resize', { ...args, source: { host: m.source_compute, node: m.source_node ?? m.source_compute } }, caller.requestId);
  } else {
    await castAgent(c.bus, row.host!, 'finish_revert_resize', args, caller.requestId);
  }
}
