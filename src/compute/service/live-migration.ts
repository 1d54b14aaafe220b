import { randomUUID } from 'node:crypto';
import { nowIso } from '../../core/ids.js';
import type { MigrationRow } from '../db/schema.js';
import type { MigrationSource } from '../drivers/driver.js';
import { callAgent } from '../rpc/topics.js';
import { flavorResources, NoValidHost, selectDestination } from '../scheduler/scheduler.js';
import type { ComputeContext } from './context.js';
import { withEvent } from './instance-actions.js';
import { flavorOf } from './servers.js';

/** Live migrations move a running guest's memory; on TCG a small guest takes seconds, a loaded host more. */
const MIGRATE_TIMEOUT_MS = 600_000;

/** Records a migration (os-migrations) and returns its id. */
export async function recordMigration(c: Pick<ComputeContext, 'db'>, m: Omit<MigrationRow, 'id' | 'uuid' | 'created_at' | 'updated_at'> & { uuid?: string }): Promise<number> {
  const now = nowIso();
  return c.db.transaction().execute(async (trx) => {
    const max = await trx.selectFrom('migration').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
    const id = Number(max?.m ?? 0) + 1;
    await trx.insertInto('migration').values({ ...m, id, uuid: m.uuid ?? randomUUID(), created_at: now, updated_at: now }).execute();
    return id;
  });
}

export const setMigration = (c: Pick<ComputeContext, 'db'>, id: number, values: Partial<MigrationRow>) =>
  c.db.updateTable('migration').set({ ...values, updated_at: nowIso() }).where('id', '=', id).execute();

/**
 * The conductor's side of a live migration (Nova's LiveMigrationTask): pick or check the
 * destination and claim room there in placement, have the destination prepare an incoming
 * guest, have the source stream it, then let the destination take it over. Any failure
 * before the source hands over leaves the server running where it was.
 */
export async function liveMigrate(c: ComputeContext, args: { uuid: string; host?: string | null; migrationId: number; requestId: string }): Promise<void> {
  const { uuid, requestId, migrationId } = args;
  const row = await c.db.selectFrom('instance').selectAll().where('uuid', '=', uuid).executeTakeFirstOrThrow();
  const source = { host: row.host!, node: row.node! };
  const owner = { projectId: row.project_id, userId: row.user_id };
  const flavor = flavorOf(row);
  const undo = async (message: string) => {
    await setMigration(c, migrationId, { status: 'error' });
    const node = await c.db.selectFrom('compute_node').select('uuid').where('hypervisor_hostname', '=', source.node).executeTakeFirst();
    if (node) await c.placement.claim(uuid, node.uuid, flavorResources(flavor), owner);
    await c.db.updateTable('instance').set({ task_state: null, updated_at: nowIso() }).where('uuid', '=', uuid).execute();
    c.logger.warn({ instance: uuid, reason: message }, 'live migration failed; the server stays on its host');
  };
  let dest: { host: string; node: string };
  try {
    dest = await withEvent(c, uuid, requestId, 'conductor_live_migrate_instance', null, async () => {
      if (args.host) {
        const n = await c.db.selectFrom('compute_node').select(['uuid', 'host', 'hypervisor_hostname']).where('host', '=', args.host).executeTakeFirst();
        if (!n) throw new NoValidHost(`Compute host ${args.host} could not be found.`);
        if (n.host === source.host) throw new NoValidHost(`The destination is the server's own host ${n.host}.`);
        if (!(await c.placement.claim(uuid, n.uuid, flavorResources(flavor), owner))) throw new NoValidHost(`Host ${n.host} has not enough room.`);
        return { host: n.host, node: n.hypervisor_hostname };
      }
      const sel = await selectDestination(c, { instanceUuid: uuid, differentHost: [uuid] }, flavor, owner);
      return { host: sel.host, node: sel.node };
    });
  } catch (e) {
    await undo((e as Error).message);
    return;
  }
  await setMigration(c, migrationId, { status: 'preparing', dest_compute: dest.host, dest_node: dest.node });
  let prepared = false;
  try {
    const src = await callAgent<MigrationSource>(c.bus, source.host, 'migration_source', { uuid, requestId }, requestId);
    const { uri } = await callAgent<{ uri: string }>(c.bus, dest.host, 'pre_live_migration', { uuid, requestId, source: src }, requestId, 120_000);
    prepared = true;
    await setMigration(c, migrationId, { status: 'running' });
    await callAgent(c.bus, source.host, 'live_migration', { uuid, requestId, uri }, requestId, MIGRATE_TIMEOUT_MS);
    await callAgent(c.bus, dest.host, 'post_live_migration_at_destination', { uuid, requestId, source: src, node: dest.node }, requestId, 120_000);
    await setMigration(c, migrationId, { status: 'completed' });
  } catch (e) {
    if (prepared) await callAgent(c.bus, dest.host, 'rollback_live_migration_at_destination', { uuid, requestId }, requestId).catch(() => undefined);
    const cur = await c.db.selectFrom('instance').select(['host', 'task_state']).where('uuid', '=', uuid).executeTakeFirst();
    if (cur?.host === source.host) await undo((e as Error).message);
    else await setMigration(c, migrationId, { status: 'error' });
  }
}
