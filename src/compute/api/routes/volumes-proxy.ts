/**
 * Nova's proxies to the volume service (os-volumes, os-snapshots), deprecated at 2.36 and
 * served only before it, as Nova does: the same calls a user makes to Cinder, in Nova's shapes.
 */
import { badRequest, HttpError, notFound } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import type { SnapshotRecord, VolumeRecord, VolumeViewer } from '../../../volume/client.js';
import type { ComputeContext } from '../../service/context.js';
import { at, callerOf, isObj, member, novaMicroTime, q1 } from '../common.js';

const P = 'os_compute_api:os-volumes';
export const volumesProxyPolicy: Record<string, string> = {
  [`${P}:list`]: 'rule:project_reader_or_admin',
  [`${P}:detail`]: 'rule:project_reader_or_admin',
  [`${P}:show`]: 'rule:project_reader_or_admin',
  [`${P}:create`]: 'rule:project_member_or_admin',
  [`${P}:delete`]: 'rule:project_member_or_admin',
  [`${P}:snapshots:list`]: 'rule:project_reader_or_admin',
  [`${P}:snapshots:detail`]: 'rule:project_reader_or_admin',
  [`${P}:snapshots:show`]: 'rule:project_reader_or_admin',
  [`${P}:snapshots:create`]: 'rule:project_member_or_admin',
  [`${P}:snapshots:delete`]: 'rule:project_member_or_admin',
};

const volumeView = (v: VolumeRecord) => ({
  id: v.id, status: v.status, size: v.size, availabilityZone: v.availabilityZone, createdAt: novaMicroTime(v.createdAt),
  attachments: v.attachments.length ? v.attachments.map((a) => ({ id: v.id, volumeId: v.id, serverId: a.serverId ?? '', device: a.device ?? '' })) : [{}],
  displayName: v.name, displayDescription: v.description, volumeType: v.volumeType, snapshotId: v.snapshotId, metadata: v.metadata,
});
const snapshotView = (s: SnapshotRecord) => ({
  id: s.id, volumeId: s.volumeId, status: s.status, size: s.size, createdAt: novaMicroTime(s.createdAt), displayName: s.name, displayDescription: s.description,
});

/** Nova's positive integer (a number or a numeric string). */
function positive(x: unknown, field: string): number {
  const n = typeof x === 'number' ? x : typeof x === 'string' && /^\s*\d+\s*$/.test(x) ? Number(x) : NaN;
  if (!Number.isInteger(n) || n < 1) throw badRequest(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(x)}. ${JSON.stringify(x)} is not a positive integer`);
  return n;
}

export function volumesProxyRoutes(c: ComputeContext): Route[] {
  const api = () => {
    if (!c.volume) throw new HttpError(503, 'Block Storage API service is not available in this cloud.');
    return c.volume;
  };
  const viewer = (ctx: RequestCtx): VolumeViewer => {
    // gone from 2.36; and /os-volumes/ (no id) is no resource, as Nova's router has it
    if (at(ctx, '2.36') || ctx.req.url.split('?')[0].endsWith('/')) throw notFound('The resource could not be found.');
    const caller = callerOf(ctx);
    return { projectId: caller.projectId, userId: caller.userId, isAdmin: caller.isAdmin };
  };
  const page = <T>(ctx: RequestCtx, xs: T[]) => {
    const offset = Number(q1(ctx, 'offset') ?? 0);
    const limit = q1(ctx, 'limit');
    return xs.slice(offset, limit !== undefined ? offset + Number(limit) : undefined);
  };
  const own = (ctx: RequestCtx) => ({ project_id: ctx.auth.projectId ?? '' });
  const r = (method: Route['method'], url: string, rule: string, handler: Route['handler'], status?: number): Route =>
    ({ method, url: `/v2.1${url}`, policy: `${P}:${rule}`, target: own, handler, ...(status ? { status } : {}) });
  return [
    r('GET', '/os-volumes', 'list', async (ctx) => ({ volumes: page(ctx, await api().listVolumes(viewer(ctx))).map(volumeView) })),
    r('GET', '/os-volumes/detail', 'detail', async (ctx) => ({ volumes: page(ctx, await api().listVolumes(viewer(ctx))).map(volumeView) })),
    r('GET', '/os-volumes/:vid', 'show', async (ctx) => ({ volume: volumeView(await api().showVolume(ctx.params.vid, viewer(ctx))) })),
    r('POST', '/os-volumes', 'create', async (ctx) => {
      const v = viewer(ctx);
      const b = member(ctx.body, 'volume');
      const str = (k: string) => (b[k] === undefined || b[k] === null ? undefined : String(b[k]));
      if (b.metadata !== undefined && !isObj(b.metadata)) throw badRequest(`Invalid input for field/attribute metadata. Value: ${JSON.stringify(b.metadata)}. is not of type 'object'`);
      const made = await api().createVolume(v, {
        size: positive(b.size, 'size'), name: str('display_name'), description: str('display_description'), volumeType: str('volume_type'),
        availabilityZone: str('availability_zone'), snapshotId: str('snapshot_id'), metadata: b.metadata,
      });
      return { volume: volumeView(made) };
    }),
    r('DELETE', '/os-volumes/:vid', 'delete', async (ctx) => { await api().deleteVolume(ctx.params.vid, viewer(ctx)); }, 202),
    r('GET', '/os-snapshots', 'snapshots:list', async (ctx) => ({ snapshots: page(ctx, await api().listSnapshots(viewer(ctx))).map(snapshotView) })),
    r('GET', '/os-snapshots/detail', 'snapshots:detail', async (ctx) => ({ snapshots: page(ctx, await api().listSnapshots(viewer(ctx))).map(snapshotView) })),
    r('GET', '/os-snapshots/:sid', 'snapshots:show', async (ctx) => ({ snapshot: snapshotView(await api().showSnapshot(ctx.params.sid, viewer(ctx))) })),
    r('POST', '/os-snapshots', 'snapshots:create', async (ctx) => {
      const v = viewer(ctx);
      const b = member(ctx.body, 'snapshot');
      if (typeof b.volume_id !== 'string') throw badRequest("Invalid input for field/attribute volume_id. 'volume_id' is a required property");
      const force = b.force === true || b.force === 'true' || b.force === 'True';
      const s = await api().createSnapshot(v, { volumeId: b.volume_id, name: b.display_name ?? null, description: b.display_description ?? null, force });
      return { snapshot: snapshotView(s) };
    }),
    r('DELETE', '/os-snapshots/:sid', 'snapshots:delete', async (ctx) => { await api().deleteSnapshot(ctx.params.sid, viewer(ctx)); }, 202),
  ];
}
