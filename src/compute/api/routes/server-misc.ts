/**
 * Small server APIs: os-server-password (the password a guest posted to the metadata service;
 * this cloud's metadata service takes none, so it is always empty) and os-server-external-events
 * (the events Neutron and Cinder send; accepted per event for servers that have a host).
 */
import { badRequest } from '../../../core/errors.js';
import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';
import { at, isObj } from '../common.js';
import { serverTarget } from './servers.js';

export const serverMiscPolicy: Record<string, string> = {
  'os_compute_api:os-server-password:show': 'rule:project_reader_or_admin',
  'os_compute_api:os-server-password:clear': 'rule:project_member_or_admin',
  'os_compute_api:os-server-external-events:create': 'rule:context_is_admin',
};

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const EVENT_STATUSES = ['failed', 'completed', 'in-progress'];
/** Events that must carry a tag (Nova's TAG_REQUIRED). */
const TAG_REQUIRED = new Set(['volume-extended', 'power-update', 'accelerator-request-bound']);
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const invalid = (field: string, v: unknown, why: string) => badRequest(`Invalid input for field/attribute ${field}. Value: ${show(v)}. ${why}`);

/** The event names each microversion's schema accepts. */
function eventNames(ctx: Parameters<Route['handler']>[0]): string[] {
  const names = ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted'];
  if (at(ctx, '2.51')) names.push('volume-extended');
  if (at(ctx, '2.76')) names.push('power-update');
  if (at(ctx, '2.82')) names.push('accelerator-request-bound');
  if (at(ctx, '2.93')) names.push('volume-reimaged');
  return names;
}

type ClientEvent = { server_uuid: string; name: string; status?: string; tag?: string };

function parseEvents(ctx: Parameters<Route['handler']>[0]): ClientEvent[] {
  const body = ctx.body;
  if (!isObj(body)) throw invalid('request body', body, `${show(body)} is not of type 'object'`);
  const extra = Object.keys(body).filter((k) => k !== 'events');
  if (extra.length) throw invalid('request body', body, `Additional properties are not allowed ('${extra.join("', '")}' ${extra.length > 1 ? 'were' : 'was'} unexpected)`);
  const events = body.events;
  if (events === undefined) throw invalid('events', body, "'events' is a required property");
  if (!Array.isArray(events)) throw invalid('events', events, `${show(events)} is not of type 'array'`);
  if (events.length < 1) throw invalid('events', events, '[] is too short');
  const names = eventNames(ctx);
  return events.map((e) => {
    if (!isObj(e)) throw invalid('events', e, `${show(e)} is not of type 'object'`);
    const unexpected = Object.keys(e).filter((k) => !['server_uuid', 'name', 'status', 'tag'].includes(k));
    if (unexpected.length) throw invalid('events', e, `Additional properties are not allowed ('${unexpected.join("', '")}' ${unexpected.length > 1 ? 'were' : 'was'} unexpected)`);
    for (const req of ['server_uuid', 'name']) if (!(req in e)) throw invalid('events', e, `'${req}' is a required property`);
    if (typeof e.server_uuid !== 'string') throw invalid('server_uuid', e.server_uuid, `${show(e.server_uuid)} is not of type 'string'`);
    if (!UUID_RE.test(e.server_uuid)) throw invalid('server_uuid', e.server_uuid, `'${e.server_uuid}' is not a 'uuid'`);
    if (typeof e.name !== 'string') throw invalid('name', e.name, `${show(e.name)} is not of type 'string'`);
    if (!names.includes(e.name)) throw invalid('name', e.name, `'${e.name}' is not one of ['${names.join("', '")}']`);
    if (e.status !== undefined) {
      if (typeof e.status !== 'string') throw invalid('status', e.status, `${show(e.status)} is not of type 'string'`);
      if (!EVENT_STATUSES.includes(e.status)) throw invalid('status', e.status, `'${e.status}' is not one of ['${EVENT_STATUSES.join("', '")}']`);
    }
    if (e.tag !== undefined) {
      if (typeof e.tag !== 'string') throw invalid('tag', e.tag, `${show(e.tag)} is not of type 'string'`);
      if (e.tag.length > 255) throw invalid('tag', e.tag, `'${e.tag}' is too long`);
    }
    return e as ClientEvent;
  });
}

/**
 * Nova's create: each event answers with its own code (200 accepted, 404 unknown server, 400 a
 * required tag missing, 422 a server without a host) and status; the response is 200 when every
 * event was accepted, else 207. Accepted events need no dispatch here: the drivers plug their
 * interfaces synchronously, so there is nothing waiting on them.
 */
async function createEvents(c: ComputeContext, ctx: Parameters<Route['handler']>[0]) {
  const events = parseEvents(ctx);
  const uuids = [...new Set(events.map((e) => e.server_uuid))];
  const rows = await c.db.selectFrom('instance').select(['uuid', 'host']).where('uuid', 'in', uuids).where('deleted', '=', 0).execute();
  const hosts = new Map(rows.map((r) => [r.uuid, r.host]));
  let result = 200;
  const out = events.map((e) => {
    const ev: Record<string, unknown> = { ...e };
    if (!hosts.has(e.server_uuid)) {
      result = 207;
      return Object.assign(ev, { status: 'failed', code: 404 });
    }
    if (TAG_REQUIRED.has(e.name) && e.tag === undefined) {
      result = 207;
      return Object.assign(ev, { status: 'failed', code: 400 });
    }
    if (hosts.get(e.server_uuid)) return Object.assign(ev, { status: 'completed', code: 200 });
    result = 207;
    return Object.assign(ev, { status: 'failed', code: 422 });
  });
  return ctx.reply.code(result).send({ events: out });
}

export function serverMiscRoutes(c: ComputeContext): Route[] {
  return [
    {
      method: 'GET', url: '/v2.1/servers/:id/os-server-password', policy: 'os_compute_api:os-server-password:show', target: serverTarget(c),
      handler: () => ({ password: '' }),
    },
    {
      method: 'DELETE', url: '/v2.1/servers/:id/os-server-password', policy: 'os_compute_api:os-server-password:clear', target: serverTarget(c),
      handler: () => undefined,
    },
    {
      method: 'POST', url: '/v2.1/os-server-external-events', policy: 'os_compute_api:os-server-external-events:create', target: () => ({}),
      handler: (ctx) => createEvents(c, ctx),
    },
  ];
}

