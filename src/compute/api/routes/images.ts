import { HttpError, badRequest, forbidden, notFound } from '../../../core/errors.js';
import type { Route, RequestCtx } from '../../../core/http/routes.js';
import { customProperties, type ImageListFilters, type ImageViewer } from '../../../image/client.js';
import type { ComputeContext } from '../../service/context.js';
import { effectiveLimits } from '../../service/quotas.js';
import { at, baseUrl, callerOf, isObj, links, mv, novaTime, q1 } from '../common.js';

/**
 * Nova's image proxy (GET/DELETE /v2.1/images, /v2.1/images/{id}/metadata): a view of the image
 * service's images for compute clients. Deprecated: the images routes answer 404 from microversion
 * 2.36 on, the image metadata routes from 2.39 on (MAX_IMAGE_META_PROXY_API_VERSION = 2.38).
 * Nova enforces no policy of its own here; the image service decides what the caller may see and do.
 */
export const imagesPolicy: Record<string, string> = {};

type Meta = Record<string, string>;

/** Glance status -> Nova status and progress (nova/api/openstack/compute/views/images.py). */
const STATUS: Record<string, string> = {
  active: 'ACTIVE', queued: 'SAVING', saving: 'SAVING', deleted: 'DELETED', pending_delete: 'DELETED', killed: 'ERROR',
};
const PROGRESS: Record<string, number> = { queued: 25, saving: 50, active: 100 };

const NOT_FOUND = 'Image not found.';
const MAX_LIMIT = 1000;
/** Nova's metadata key/value rules (parameter_types.metadata). */
const META_KEY = /^[a-zA-Z0-9-_:. ]{1,255}$/;

/** The request's microversion must be below `until` ("2.36"), else Nova's 404 for a removed method. */
function before(ctx: RequestCtx, until: string): void {
  if (at(ctx, until)) {
    const v = mv(ctx);
    throw notFound(`API version ${v.major}.${v.minor} is not supported on this method.`);
  }
}

/** Validates {"<key>": {k: v, ...}} as Nova's image_metadata schemas do; `single`: exactly one item. */
function metaBody(body: unknown, key: 'metadata' | 'meta', single = false): Meta {
  const bad = (why: string) => badRequest(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(isObj(body) ? body[key] : body)}. ${why}`);
  if (!isObj(body)) throw badRequest(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(body ?? null)}. '${key}' is a required property`);
  if (!(key in body)) throw badRequest(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(body)}. '${key}' is a required property`);
  const extra = Object.keys(body).filter((k) => k !== key);
  if (extra.length) throw badRequest(`Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
  const meta = body[key];
  if (!isObj(meta)) throw bad(`${JSON.stringify(meta)} is not of type 'object'`);
  const keys = Object.keys(meta);
  if (single && keys.length < 1) throw bad(`${JSON.stringify(meta)} does not have enough properties`);
  if (single && keys.length > 1) throw bad(`${JSON.stringify(meta)} has too many properties`);
  for (const [k, v] of Object.entries(meta)) {
    if (!META_KEY.test(k)) throw bad(`Additional properties are not allowed ('${k}' was unexpected)`);
    if (typeof v !== 'string') throw bad(`${JSON.stringify(v)} is not of type 'string'`);
    if (v.length > 255) throw bad(`'${v}' is too long`);
  }
  return meta as Meta;
}

export function imagesRoutes(c: ComputeContext): Route[] {
  const viewerOf = (ctx: RequestCtx): ImageViewer & { userId: string } => {
    const caller = callerOf(ctx);
    return { projectId: ctx.auth.projectId ?? null, isAdmin: caller.isAdmin, userId: caller.userId, roles: ctx.auth.roles.map((r) => r.name) };
  };
  const imageHref = (id: string) => `http://${c.config.publicHost}:${c.config.ports.image}/images/${id}`;
  const imageLinks = (ctx: RequestCtx, id: string) => [
    ...links(ctx, 'images', id),
    { rel: 'alternate', type: 'application/vnd.openstack.image', href: imageHref(id) },
  ];

  const basic = (ctx: RequestCtx, img: Record<string, unknown>) => ({
    id: img.id as string, name: (img.name ?? null) as string | null, links: imageLinks(ctx, img.id as string),
  });
  const detail = (ctx: RequestCtx, img: Record<string, unknown>) => {
    const status = String(img.status);
    const metadata = customProperties(img);
    const view: Record<string, unknown> = {
      id: img.id,
      name: img.name ?? null,
      minRam: Number(img.min_ram ?? 0),
      minDisk: Number(img.min_disk ?? 0),
      metadata,
      created: novaTime(img.created_at as string | null),
      updated: novaTime(img.updated_at as string | null),
      status: STATUS[status] ?? 'UNKNOWN',
      progress: PROGRESS[status] ?? 0,
      // Nova's Glance client turns an unknown size into 0.
      'OS-EXT-IMG-SIZE:size': typeof img.size === 'number' ? img.size : 0,
      links: imageLinks(ctx, img.id as string),
    };
    const server = metadata.instance_uuid;
    if (typeof server === 'string') view.server = { id: server, links: links(ctx, 'servers', server) };
    const adc = metadata.auto_disk_config;
    if (typeof adc === 'string') view['OS-DCF:diskConfig'] = ['1', 't', 'true', 'on', 'y', 'yes'].includes(adc.toLowerCase()) ? 'AUTO' : 'MANUAL';
    return view;
  };

  const getImage = async (ctx: RequestCtx, id: string) => {
    const img = id ? await c.image.getImage(id, viewerOf(ctx)) : undefined;
    if (!img) throw notFound(NOT_FOUND);
    return img;
  };

  /** Nova's filters (name, status, changes-since, server, type, minRam, minDisk, property-*) for the image service. */
  const filtersOf = (ctx: RequestCtx): ImageListFilters => {
    const f: ImageListFilters = {};
    const props: Meta = {};
    const name = q1(ctx, 'name');
    if (name !== undefined) f.name = name;
    const status = q1(ctx, 'status');
    if (status !== undefined) f.status = status.toLowerCase();
    const since = q1(ctx, 'changes-since');
    if (since !== undefined) f.changesSince = since;
    const server = q1(ctx, 'server');
    if (server !== undefined) props.instance_uuid = server.includes('/') ? server.slice(server.lastIndexOf('/') + 1) : server;
    const type = q1(ctx, 'type');
    if (type !== undefined) props.image_type = type;
    for (const [k, q] of [['minRam', 'minRam'], ['minDisk', 'minDisk']] as const) {
      const v = q1(ctx, q);
      if (v === undefined) continue;
      if (!/^\s*\d+\s*$/.test(v)) throw badRequest(`Invalid ${k} filter value: ${v}`);
      f[k] = Number(v);
    }
    for (const k of Object.keys(ctx.query)) {
      if (k.startsWith('property-') && k.length > 'property-'.length) props[k.slice('property-'.length)] = q1(ctx, k)!;
    }
    if (Object.keys(props).length) f.properties = props;
    const limit = q1(ctx, 'limit');
    if (limit !== undefined) {
      if (!/^\s*-?\d+\s*$/.test(limit)) throw badRequest('limit param must be an integer');
      const n = Number(limit);
      if (n < 0) throw badRequest('limit param must be positive');
      f.limit = n;
    }
    const marker = q1(ctx, 'marker');
    if (marker !== undefined) f.marker = marker;
    return f;
  };

  const list = (full: boolean) => async (ctx: RequestCtx) => {
    before(ctx, '2.36');
    const f = filtersOf(ctx);
    const images = await c.image.listImages(viewerOf(ctx), f);
    const body: Record<string, unknown> = { images: images.map((img) => (full ? detail(ctx, img) : basic(ctx, img))) };
    // A full page (the limit asked for, at most Nova's max_limit) gets a link to the next one.
    const pageSize = f.limit === undefined || f.limit > MAX_LIMIT ? MAX_LIMIT : f.limit;
    if (pageSize > 0 && images.length === pageSize) {
      const u = new URL(ctx.req.url, baseUrl(ctx));
      u.searchParams.set('marker', String(images[images.length - 1].id));
      body.images_links = [{ rel: 'next', href: `${baseUrl(ctx)}${u.pathname}?${u.searchParams.toString()}` }];
    }
    return body;
  };

  /** Writes properties within the caller's metadata_items quota (Nova: 403 "Image metadata limit exceeded"). */
  const checkQuota = async (ctx: RequestCtx, meta: Meta) => {
    const limits = await effectiveLimits(c.db, ctx.auth.projectId ?? '', ctx.auth.userId);
    const max = limits.metadata_items ?? 128;
    if (max >= 0 && Object.keys(meta).length > max) throw forbidden('Image metadata limit exceeded');
  };
  const update = async (ctx: RequestCtx, id: string, set: Meta, remove: string[]) => {
    try {
      return await c.image.updateImageProperties(id, viewerOf(ctx), set, remove);
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) throw notFound(NOT_FOUND);
      if (e instanceof HttpError && e.status === 413) throw forbidden('Image metadata limit exceeded');
      throw e;
    }
  };

  const meta = (handler: Route['handler']): Route['handler'] => (ctx) => {
    before(ctx, '2.39');
    return handler(ctx);
  };
  const base = '/v2.1/images';
  return [
    { method: 'GET', url: base, policy: 'authenticated', handler: list(false) },
    { method: 'GET', url: `${base}/detail`, policy: 'authenticated', handler: list(true) },
    {
      method: 'GET', url: `${base}/:id`, policy: 'authenticated',
      handler: async (ctx) => {
        before(ctx, '2.36');
        return { image: detail(ctx, await getImage(ctx, ctx.params.id)) };
      },
    },
    {
      method: 'DELETE', url: `${base}/:id`, policy: 'authenticated', status: 204,
      handler: async (ctx) => {
        before(ctx, '2.36');
        if (!ctx.params.id) throw notFound(NOT_FOUND);
        try {
          await c.image.deleteImageOrFail(ctx.params.id, viewerOf(ctx));
        } catch (e) {
          if (e instanceof HttpError && e.status === 404) throw notFound(NOT_FOUND);
          if (e instanceof HttpError && e.status === 403) throw forbidden('You are not allowed to delete the image.');
          throw e;
        }
        return undefined;
      },
    },
    {
      method: 'GET', url: `${base}/:id/metadata`, policy: 'authenticated',
      handler: meta(async (ctx) => ({ metadata: customProperties(await getImage(ctx, ctx.params.id)) })),
    },
    {
      // update_all: the body's metadata replaces every custom property.
      method: 'PUT', url: `${base}/:id/metadata`, policy: 'authenticated',
      handler: meta(async (ctx) => {
        const metadata = metaBody(ctx.body, 'metadata');
        const current = customProperties(await getImage(ctx, ctx.params.id));
        await checkQuota(ctx, metadata);
        const set = Object.fromEntries(Object.entries(metadata).filter(([k, v]) => current[k] !== v));
        await update(ctx, ctx.params.id, set, Object.keys(current).filter((k) => !(k in metadata)));
        return { metadata };
      }),
    },
    {
      // create: merges the body's metadata into the image's properties.
      method: 'POST', url: `${base}/:id/metadata`, policy: 'authenticated',
      handler: meta(async (ctx) => {
        const metadata = metaBody(ctx.body, 'metadata');
        const current = customProperties(await getImage(ctx, ctx.params.id));
        await checkQuota(ctx, { ...current, ...metadata });
        const set = Object.fromEntries(Object.entries(metadata).filter(([k, v]) => current[k] !== v));
        const img = Object.keys(set).length ? await update(ctx, ctx.params.id, set, []) : undefined;
        return { metadata: img ? customProperties(img) : current };
      }),
    },
    {
      method: 'GET', url: `${base}/:id/metadata/:key`, policy: 'authenticated',
      handler: meta(async (ctx) => {
        const current = customProperties(await getImage(ctx, ctx.params.id));
        if (!Object.hasOwn(current, ctx.params.key)) throw notFound('The resource could not be found.');
        return { meta: { [ctx.params.key]: current[ctx.params.key] } };
      }),
    },
    {
      method: 'PUT', url: `${base}/:id/metadata/:key`, policy: 'authenticated',
      handler: meta(async (ctx) => {
        const item = metaBody(ctx.body, 'meta', true);
        const key = ctx.params.key;
        if (!Object.hasOwn(item, key)) throw badRequest('Request body and URI mismatch');
        const current = customProperties(await getImage(ctx, ctx.params.id));
        await checkQuota(ctx, { ...current, ...item });
        if (current[key] !== item[key]) await update(ctx, ctx.params.id, { [key]: item[key] }, []);
        return { meta: item };
      }),
    },
    {
      method: 'DELETE', url: `${base}/:id/metadata/:key`, policy: 'authenticated', status: 204,
      handler: meta(async (ctx) => {
        const current = customProperties(await getImage(ctx, ctx.params.id));
        if (!Object.hasOwn(current, ctx.params.key)) throw notFound('Invalid metadata key');
        await update(ctx, ctx.params.id, {}, [ctx.params.key]);
        return undefined;
      }),
    },
  ];
}
