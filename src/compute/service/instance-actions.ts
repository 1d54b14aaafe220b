import { randomUUID } from 'node:crypto';
import { nowIso } from '../../core/ids.js';
import type { ComputeContext } from './context.js';

/**
 * Instance actions and their events (os-instance-actions): the API records the action when it
 * accepts a request; workers add events (compute_stop_instance, ...) with their result.
 */
export async function recordAction(c: Pick<ComputeContext, 'db'>, a: { instanceUuid: string; action: string; requestId: string; userId: string; projectId: string }): Promise<string> {
  const id = randomUUID();
  const now = nowIso();
  await c.db.insertInto('instance_action').values({
    id, instance_uuid: a.instanceUuid, action: a.action, request_id: a.requestId, user_id: a.userId, project_id: a.projectId,
    start_time: now, finish_time: null, message: null, updated_at: now,
  }).execute();
  return id;
}

/** Runs `work` as an event of the action of `requestId`; records start, finish and Success/Error (with the traceback). */
export async function withEvent<T>(c: Pick<ComputeContext, 'db'>, instanceUuid: string, requestId: string, event: string, host: string | null, work: () => Promise<T>): Promise<T> {
  const action = await c.db.selectFrom('instance_action').select('id').where('instance_uuid', '=', instanceUuid).where('request_id', '=', requestId).orderBy('start_time', 'desc').executeTakeFirst();
  const id = randomUUID();
  if (action) {
    await c.db.insertInto('instance_action_event').values({
      id, action_id: action.id, event, start_time: nowIso(), finish_time: null, result: null, traceback: null, host, details: null,
    }).execute();
  }
  const finish = async (result: string, err?: unknown) => {
    if (!action) return;
    const now = nowIso();
    await c.db.updateTable('instance_action_event').set({
      finish_time: now, result,
      traceback: err ? String((err as Error).stack ?? err) : null,
      details: err ? String((err as Error).message ?? err) : null,
    }).where('id', '=', id).execute();
    await c.db.updateTable('instance_action').set({ updated_at: now, finish_time: now, ...(err ? { message: 'Error' } : {}) }).where('id', '=', action.id).execute();
  };
  try {
    const out = await work();
    await finish('Success');
    return out;
  } catch (e) {
    await finish('Error', e);
    throw e;
  }
}
