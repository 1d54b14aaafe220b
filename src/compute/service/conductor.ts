import type { Subscription } from '../../core/bus/bus.js';
import { nowIso } from '../../core/ids.js';
import { CONDUCTOR_TOPIC, castAgent } from '../rpc/topics.js';
import { NoValidHost, selectDestination } from '../scheduler/scheduler.js';
import type { RequestSpec } from '../scheduler/filters.js';
import { fromJson, toJson, type ComputeContext } from './context.js';
import { withEvent } from './instance-actions.js';
import { flavorOf } from './servers.js';
import { groupMembersHosts } from './server-groups.js';
import { heartbeat, INTERNAL_ZONE, registerService } from './hosts.js';
import { liveMigrate } from './live-migration.js';
import { TASK, VM } from './states.js';

/**
 * The conductor: schedules new servers (placement claim included) and hands each to its
 * host's agent. Serves the `conductor` topic; any number of conductors may run.
 */
export async function startConductor(c: ComputeContext, host: string): Promise<Subscription> {
  // The conductor schedules too: both show in os-services (internal zone), kept alive by a heartbeat.
  for (const binary of ['nova-conductor', 'nova-scheduler']) await registerService(c, { host, binary, topic: binary.slice(5), zone: INTERNAL_ZONE });
  const timer = setInterval(() => {
    for (const binary of ['nova-conductor', 'nova-scheduler']) void heartbeat(c, host, binary).catch(() => undefined);
  }, 10_000);
  timer.unref();
  const sub = await c.bus.serve({ topic: CONDUCTOR_TOPIC }, {
    unshelve_instance: async (args, ctx) => {
      await unshelveOffloaded(c, String(args.uuid), String(args.requestId ?? ctx.requestId), args.host ? String(args.host) : undefined).catch((e) => c.logger.error({ err: e, instance: args.uuid }, 'unshelve failed'));
    },
    live_migrate_instance: async (args, ctx) => {
      await liveMigrate(c, { uuid: String(args.uuid), host: (args.host as string | null) ?? null, migrationId: Number(args.migrationId), requestId: String(args.requestId ?? ctx.requestId) })
        .catch((e) => c.logger.error({ err: e, instance: args.uuid }, 'live migration failed'));
    },
    build_instances: async (args, ctx) => {
      for (const uuid of args.uuids as string[]) {
        await buildOne(c, uuid, String(args.requestId ?? ctx.requestId)).catch((e) => c.logger.error({ err: e, instance: uuid }, 'build failed'));
      }
    },
  });
  return { close: async () => { clearInterval(timer); await sub.close(); } };
}

/** The scheduler's view of a server's request (Nova's RequestSpec): hints, zone, group, image properties. */
export async function requestSpec(c: ComputeContext, row: { uuid: string; availability_zone: string | null; scheduler_hints: string; image_ref: string }): Promise<RequestSpec> {
  const hints = fromJson<Record<string, unknown>>(row.scheduler_hints, {});
  const list = (v: unknown) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String));
  const spec: RequestSpec = { instanceUuid: row.uuid, sameHost: list(hints.same_host), differentHost: list(hints.different_host) };
  if (row.availability_zone) {
    const [zone, host] = row.availability_zone.split(':');
    if (zone && zone !== c.config.compute.defaultAvailabilityZone) spec.availabilityZone = zone;
    if (host) spec.forceHost = host;
  }
  const group = typeof hints.group === 'string' ? hints.group : undefined;
  if (group) spec.group = await groupMembersHosts(c, group).catch(() => undefined);
  if (row.image_ref) {
    const img = await c.image.getImage(row.image_ref, { projectId: null, isAdmin: true });
    const arch = img?.hw_architecture ?? img?.architecture;
    const hv = img?.img_hv_type ?? img?.hypervisor_type;
    spec.image = { ...(typeof arch === 'string' ? { architecture: arch } : {}), ...(typeof hv === 'string' ? { hypervisorType: hv } : {}) };
  }
  return spec;
}

async function buildOne(c: ComputeContext, uuid: string, requestId: string): Promise<void> {
  const row = await c.db.selectFrom('instance').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  if (!row || row.deleted || row.vm_state !== VM.BUILDING || row.task_state === TASK.DELETING) return;
  try {
    const sel = await withEvent(c, uuid, requestId, 'conductor_schedule_and_build_instances', null, async () =>
      selectDestination(c, await requestSpec(c, row), flavorOf(row), { projectId: row.project_id, userId: row.user_id }));
    const zone = row.availability_zone?.split(':')[0] || c.config.compute.defaultAvailabilityZone;
    const moved = await c.db.updateTable('instance').set({ host: sel.host, node: sel.node, availability_zone: zone, task_state: null, updated_at: nowIso() })
      .where('uuid', '=', uuid).where('vm_state', '=', VM.BUILDING).where('deleted', '=', 0).executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) {
      // deleted while scheduling: give the claim back
      await c.placement.release(uuid);
      return;
    }
    await castAgent(c.bus, sel.host, 'build_and_run_instance', { uuid, requestId }, requestId);
  } catch (e) {
    const message = e instanceof NoValidHost ? e.message : `Build of instance ${uuid} failed: ${(e as Error).message}`;
    await c.db.updateTable('instance').set({
      vm_state: VM.ERROR, task_state: null, updated_at: nowIso(),
      fault: toJson({ code: 500, message, details: e instanceof NoValidHost ? '' : String((e as Error).stack ?? ''), created: nowIso() }),
    }).where('uuid', '=', uuid).execute();
    await c.placement.release(uuid);
  }
}

/** Unshelve of an offloaded server: schedule it again, then its new host builds it from the shelved image. */
async function unshelveOffloaded(c: ComputeContext, uuid: string, requestId: string, host?: string): Promise<void> {
  const row = await c.db.selectFrom('instance').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  if (!row || row.deleted || row.vm_state !== VM.SHELVED_OFFLOADED) return;
  try {
    const sel = await withEvent(c, uuid, requestId, 'conductor_unshelve_instance', null, async () =>
      selectDestination(c, { ...(await requestSpec(c, row)), ...(host ? { forceHost: host } : {}) }, flavorOf(row), { projectId: row.project_id, userId: row.user_id }));
    await c.db.updateTable('instance').set({ host: sel.host, node: sel.node, task_state: TASK.SPAWNING, updated_at: nowIso() }).where('uuid', '=', uuid).execute();
    await castAgent(c.bus, sel.host, 'unshelve_instance', { uuid, requestId, fromImage: true }, requestId);
  } catch (e) {
    // no room anywhere: the server stays shelved, as Nova leaves it
    await c.db.updateTable('instance').set({ task_state: null, updated_at: nowIso() }).where('uuid', '=', uuid).execute();
    c.logger.warn({ instance: uuid, err: e }, 'unshelve found no host');
  }
}
