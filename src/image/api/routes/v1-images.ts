import { HttpError, badRequest, notFound, forbidden } from '../../../core/errors.js';
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { SORT_KEYS, type ColumnFilter, type ImageListQuery, type ImageRecord, type SortKey } from '../../db/images-repo.js';
import type { ImageServices } from '../../service/index.js';
import { callerOf, one } from '../http.js';
import { limitOf } from '../list-query.js';
import { checkFormats, createBody, dataOf, readMeta, requireFormats, setMetaHeaders, updateChanges, v1Image, v1Summary, type V1Meta } from '../v1.js';
import { baseUrl } from './discovery.js';

const COPY_FROM = 'x-glance-api-copy-from';

/** v1 list parameters (Glance v1's registry): filters, property-*, is_public, sort_key/sort_dir, limit/marker. */
function parseV1List(ctx: RequestCtx): Omit<ImageListQuery, 'viewer' | 'marker'> & { markerId?: string } {
  const q = ctx.query;
  const limit = limitOf(q);
  const sortKey = one(q, 'sort_key') ?? 'created_at';
  if (!SORT_KEYS.includes(sortKey as SortKey)) throw badRequest(`Unsupported sort_key. Acceptable values: ${SORT_KEYS.join(', ')}`);
  const sortDir = one(q, 'sort_dir') ?? 'desc';
  if (sortDir !== 'asc' && sortDir !== 'desc') throw badRequest('Unsupported sort_dir. Acceptable values: asc, desc');
  const marker = one(q, 'marker');
  if (marker !== undefined && !/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(marker)) throw badRequest('Invalid marker format');

  const filters: ColumnFilter[] = [];
  const properties: [string, string][] = [];
  for (const key of Object.keys(q)) {
    const v = one(q, key)!;
    if (key.startsWith('property-')) properties.push([key.slice(9), v]);
    else if (key === 'name' || key === 'container_format' || key === 'disk_format') filters.push({ column: key, op: 'eq', value: v });
    else if (key === 'status') {
      // v1 reads import's statuses as its own (importing is saving, uploading queued).
      const s = v.toLowerCase();
      filters.push({ column: 'status', op: 'in', value: s === 'saving' ? ['saving', 'importing'] : s === 'queued' ? ['queued', 'uploading'] : [s] });
    } else if (key === 'size_min' || key === 'size_max' || key === 'min_ram' || key === 'min_disk') {
      if (!/^\s*\d+\s*$/.test(v)) throw badRequest(`Invalid value '${v}' for filter ${key}: it must be a non-negative integer.`);
      if (key === 'size_min') filters.push({ column: 'size', op: 'gte', value: Number(v) });
      else if (key === 'size_max') filters.push({ column: 'size', op: 'lte', value: Number(v) });
      else filters.push({ column: key, op: 'eq', value: Number(v) });
    } else if (key === 'is_public' || key === 'protected') {
      const s = v.trim().toLowerCase();
      if (key === 'is_public' && s === 'none') continue;
      const b = ['true', '1', 'yes', 'on', 't', 'y'].includes(s) ? true : ['false', '0', 'no', 'off', 'f', 'n'].includes(s) ? false : undefined;
      if (b === undefined) throw badRequest(`Invalid value '${v}' for filter ${key}: expected a boolean.`);
      if (key === 'protected') filters.push({ column: 'protected', op: 'eq', value: b ? 1 : 0 });
      else filters.push({ column: 'visibility', op: b ? 'eq' : 'neq', value: 'public' });
    } else if (key === 'changes-since') {
      const t = Date.parse(v);
      if (Number.isNaN(t)) throw badRequest('Unrecognized changes-since value');
      filters.push({ column: 'updated_at', op: 'gte', value: new Date(t).toISOString() });
    }
  }
  return {
    // v1 has no member status: an image shared with a project is listed for it.
    memberStatus: 'all',
    filters, properties, tags: [],
    sort: [{ key: sortKey as SortKey, dir: sortDir }],
    limit,
    markerId: marker,
  };
}

/** The Glance v1 images API: list, create (with data, a location or copy-from), head, get, update, delete. */
export function v1ImageRoutes(s: ImageServices): Route[] {
  const list = (summary: boolean) => async (ctx: RequestCtx) => {
    const caller = callerOf(ctx);
    const { markerId, ...q } = parseV1List(ctx);
    let marker;
    if (markerId !== undefined) {
      marker = await s.images.get(caller, markerId.toLowerCase()).catch((e) => {
        if (e instanceof HttpError && e.status === 404) throw badRequest('Invalid marker. Image could not be found.');
        throw e;
      });
    }
    const images = await s.images.list(caller, { ...q, marker });
    return { images: images.map(summary ? v1Summary : v1Image) };
  };

  /** What a create or update does with the image's data source: an upload, a location, or a copy. */
  const source = async (ctx: RequestCtx, meta: V1Meta, current?: ImageRecord) => {
    const data = dataOf(ctx);
    const copyFrom = ctx.req.headers[COPY_FROM] as string | undefined;
    const sources = [data, meta.location, copyFrom].filter((x) => x !== undefined);
    if (sources.length > 1) throw badRequest("It's invalid to provide multiple image sources.");
    if (!sources.length) return undefined;
    if (current && current.status !== 'queued') throw new HttpError(409, 'Cannot upload to an unqueued image');
    requireFormats(meta, current);
    if (copyFrom !== undefined) s.imports.checkCopyFrom(copyFrom);
    return async (id: string) => {
      const caller = callerOf(ctx);
      if (data) await s.data.upload(caller, id, data);
      else if (meta.location !== undefined) await s.data.setLocation(caller, id, meta.location, meta.size);
      else await s.imports.copyFrom(caller, id, copyFrom!);
    };
  };

  /** An image the caller may see, as the v1 answers need it (404 with Glance v1's words). */
  const visible = (ctx: RequestCtx) => s.images.get(callerOf(ctx), ctx.params.image_id);

  return [
    { method: 'GET', url: '/v1/images', policy: 'get_images', target: (ctx) => ({ project_id: ctx.auth.projectId ?? null }), handler: list(true) },
    { method: 'GET', url: '/v1/images/detail', policy: 'get_images', target: (ctx) => ({ project_id: ctx.auth.projectId ?? null }), handler: list(false) },
    {
      method: 'POST', url: '/v1/images', policy: 'authenticated', status: 201,
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const meta = readMeta(ctx);
        checkFormats(meta);
        const store = await source(ctx, meta);
        const created = await s.images.create(caller, createBody(meta, caller.isAdmin));
        if (store) await store(created.id);
        const image = (await s.deps.images.get(created.id)) ?? created;
        ctx.reply.header('location', `${baseUrl(ctx.req)}/v1/images/${image.id}`);
        if (image.checksum) ctx.reply.header('etag', image.checksum);
        return { image: v1Image(image) };
      },
    },
    {
      method: 'HEAD', url: '/v1/images/:image_id', policy: 'authenticated',
      handler: async (ctx) => {
        setMetaHeaders(ctx.reply, await visible(ctx));
        return ctx.reply.code(200).send();
      },
    },
    {
      method: 'GET', url: '/v1/images/:image_id', policy: 'authenticated',
      handler: async (ctx) => {
        const image = await visible(ctx);
        if (image.status === 'deactivated' && !ctx.allowed('context_is_admin')) {
          throw forbidden('The requested image has been deactivated. Image data download is forbidden.');
        }
        if (image.status !== 'active' && image.status !== 'deactivated') throw notFound(`Image ${image.id} is not active.`);
        const dl = await s.data.download(callerOf(ctx), image.id);
        setMetaHeaders(ctx.reply, image);
        ctx.reply.header('content-type', 'application/octet-stream');
        if (!dl) return ctx.reply.code(200).header('content-length', '0').send('');
        ctx.reply.header('content-length', String(dl.length));
        if (dl.checksum) ctx.reply.header('x-image-meta-checksum', dl.checksum);
        return ctx.reply.code(200).send(dl.stream);
      },
    },
    {
      method: 'PUT', url: '/v1/images/:image_id', policy: 'authenticated',
      handler: async (ctx) => {
        const caller = callerOf(ctx);
        const meta = readMeta(ctx);
        const image = await visible(ctx);
        checkFormats(meta, image);
        const store = await source(ctx, meta, image);
        const purge = String(ctx.req.headers['x-glance-registry-purge-props'] ?? 'false').toLowerCase() === 'true';
        const changes = updateChanges(meta, image, caller.isAdmin, purge);
        if (changes.length) await s.images.update(caller, image.id, changes);
        if (store) await store(image.id);
        return { image: v1Image((await s.deps.images.get(image.id)) ?? image) };
      },
    },
    {
      method: 'DELETE', url: '/v1/images/:image_id', policy: 'authenticated',
      handler: async (ctx) => {
        await s.images.delete(callerOf(ctx), ctx.params.image_id);
        return ctx.reply.code(200).send();
      },
    },
  ];
}
