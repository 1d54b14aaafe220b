/**
 * os-volume_attachments: a server's volumes, attaching one (reserved in the volume service,
 * plugged in by the server's host) and detaching it. PUT changes delete_on_termination (2.85);
 * swapping to another volume is not offered.
 */
import { badRequest, HttpError, notFound } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { BlockDeviceMappingRow, InstanceRow } from '../../db/schema.js';
import type { ComputeContext } from '../../service/context.js';
import { checkLock, checkState } from '../../service/servers.js';
import { attachmentsOf, attachVolume, detachVolume, VOLUME_STATES } from '../../service/volumes.js';
import { at, callerOf, member, q1 } from '../common.js';
import { serverOf, serverTarget } from './servers.js';

const P = 'os_compute_api:os-volumes-attachments';
export const volumeAttachmentsPolicy: Record<string, string> = {
  [`${P}:index`]: 'rule:project_reader_or_admin',
  [`${P}:show`]: 'rule:project_reader_or_admin',
  [`${P}:create`]: 'rule:project_member_or_admin',
  [`${P}:update`]: 'rule:project_member_or_admin',
  [`${P}:swap`]: 'rule:admin_api',
  [`${P}:delete`]: 'rule:project_member_or_admin',
};

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const DEVICE_RE = /^\/dev\/[a-z0-9]+$/;
const TAG_RE = /^[^,/]{1,60}$/;
const invalid = (field: string, value: unknown, why: string) =>
  badRequest(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(value)}. ${why}`);

/** Nova's attachment view by microversion: tag (2.70), delete_on_termination (2.79), attachment_id and bdm_uuid instead of id (2.89). */
function view(ctx: RequestCtx, row: InstanceRow, b: BlockDeviceMappingRow): Record<string, unknown> {
  const v: Record<string, unknown> = { device: b.device_name, serverId: row.uuid, volumeId: b.volume_id };
  if (!at(ctx, '2.89')) v.id = b.volume_id;
  if (at(ctx, '2.70')) v.tag = b.tag;
  if (at(ctx, '2.79')) v.delete_on_termination = !!b.delete_on_termination;
  if (at(ctx, '2.89')) {
    v.attachment_id = b.attachment_id;
    v.bdm_uuid = b.uuid;
  }
  return v;
}

function parseAttach(ctx: RequestCtx): { volumeId: string; tag?: string; deleteOnTermination?: boolean } {
  const a = member(ctx.body, 'volumeAttachment');
  const allowed = ['volumeId', 'device', ...(at(ctx, '2.49') ? ['tag'] : []), ...(at(ctx, '2.79') ? ['delete_on_termination'] : [])];
  for (const k of Object.keys(a)) if (!allowed.includes(k)) throw invalid('volumeAttachment', a, `Additional properties are not allowed ('${k}' was unexpected)`);
  if (typeof a.volumeId !== 'string' || !UUID_RE.test(a.volumeId)) throw invalid('volumeAttachment/volumeId', a.volumeId, `'${String(a.volumeId)}' is not a 'uuid'`);
  if (a.device !== undefined && a.device !== null && (typeof a.device !== 'string' || !DEVICE_RE.test(a.device))) throw invalid('volumeAttachment/device', a.device, "does not match '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$'");
  if (a.tag !== undefined && (typeof a.tag !== 'string' || !TAG_RE.test(a.tag))) throw invalid('volumeAttachment/tag', a.tag, 'is not a valid tag');
  if (a.delete_on_termination !== undefined && typeof a.delete_on_termination !== 'boolean') throw invalid('volumeAttachment/delete_on_termination', a.delete_on_termination, "is not of type 'boolean'");
  return { volumeId: a.volumeId, tag: a.tag, deleteOnTermination: a.delete_on_termination };
}

export function volumeAttachmentsRoutes(c: ComputeContext): Route[] {
  const t = serverTarget(c);
  const find = async (row: InstanceRow, volumeId: string) => {
    const b = (await attachmentsOf(c, row.uuid)).find((x) => x.volume_id === volumeId);
    if (!b) throw notFound(`Instance ${row.uuid} is not attached.`);
    return b;
  };
  const r = (method: Route['method'], url: string, rule: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url: `/v2.1/servers/:id/os-volume_attachments${url}`, policy: `${P}:${rule}`, target: t, handler, ...(status ? { status } : {}) });
  return [
    r('GET', '', 'index', async (ctx) => {
      const row = serverOf(ctx);
      let list = await attachmentsOf(c, row.uuid);
      const offset = Number(q1(ctx, 'offset') ?? 0);
      const limit = q1(ctx, 'limit');
      if (!Number.isInteger(offset) || offset < 0) throw badRequest('offset param must be positive');
      list = list.slice(offset, limit !== undefined ? offset + Number(limit) : undefined);
      return { volumeAttachments: list.map((b) => view(ctx, row, b)) };
    }),
    r('GET', '/:volume', 'show', async (ctx) => {
      const row = serverOf(ctx);
      return { volumeAttachment: view(ctx, row, await find(row, ctx.params.volume)) };
    }),
    r('POST', '', 'create', async (ctx) => {
      const row = serverOf(ctx);
      const req = parseAttach(ctx);
      const caller = callerOf(ctx);
      checkLock(row, caller);
      checkState(row, 'attach_volume', VOLUME_STATES);
      const b = await attachVolume(c, caller, row, req);
      return { volumeAttachment: view(ctx, row, b) };
    }),
    r('PUT', '/:volume', 'update', async (ctx) => {
      const row = serverOf(ctx);
      const a = member(ctx.body, 'volumeAttachment');
      const b = await find(row, ctx.params.volume);
      if (typeof a.volumeId !== 'string' || !UUID_RE.test(a.volumeId)) throw invalid('volumeAttachment/volumeId', a.volumeId, `'${String(a.volumeId)}' is not a 'uuid'`);
      if (a.volumeId !== b.volume_id) {
        // a swap: the new volume must exist (400, as Nova), and then this cloud does not swap
        await c.volume?.get(a.volumeId, { ...callerOf(ctx) }).catch((e: unknown) => {
          if (e instanceof HttpError && e.status === 404) throw badRequest(`Volume ${String(a.volumeId)} could not be found.`);
          throw e;
        });
        throw new HttpError(501, 'Swapping a volume is not supported by this cloud.');
      }
      if (!at(ctx, '2.85')) throw badRequest('The volume was not changed: updating an attachment needs microversion 2.85.');
      checkLock(row, callerOf(ctx));
      if (a.delete_on_termination !== undefined) {
        if (typeof a.delete_on_termination !== 'boolean') throw invalid('volumeAttachment/delete_on_termination', a.delete_on_termination, "is not of type 'boolean'");
        await c.db.updateTable('block_device_mapping').set({ delete_on_termination: a.delete_on_termination ? 1 : 0 }).where('uuid', '=', b.uuid).execute();
      }
      return undefined;
    }, 202),
    r('DELETE', '/:volume', 'delete', async (ctx) => {
      const row = serverOf(ctx);
      const caller = callerOf(ctx);
      checkLock(row, caller);
      checkState(row, 'detach_volume', VOLUME_STATES);
      await detachVolume(c, caller, row, ctx.params.volume);
    }, 202),
  ];
}
