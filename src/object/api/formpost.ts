import { createHmac, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectRepo } from '../db/repo.js';
import type { ObjectData } from '../service/objects.js';
import { SWIFT_LIMITS, guessType, swiftError, type Ctx } from './common.js';
import { parseSig, tempUrlKeys } from './tempurl.js';

/** What /info says of FormPOST. */
export const FORMPOST_INFO = {};

/** Bodies of a form POST are read whole: at most this many bytes. */
const MAX_FORM_BYTES = 256 * 1024 * 1024;

interface Part { name: string; filename?: string; contentType?: string; data: Buffer }

/** Splits a multipart/form-data body into its parts. */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    let start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    let end = next;
    if (body.subarray(end - 2, end).toString() === '\r\n') end -= 2;
    const chunk = body.subarray(start, end);
    const split = chunk.indexOf('\r\n\r\n');
    const head = (split < 0 ? chunk : chunk.subarray(0, split)).toString('utf8');
    const data = split < 0 ? Buffer.alloc(0) : chunk.subarray(split + 4);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const contentType = /content-type:\s*([^\r\n]*)/i.exec(head)?.[1]?.trim();
    parts.push({ name, filename, contentType, data: Buffer.from(data) });
    pos = next;
  }
  return parts;
}

/**
 * Swift's FormPOST: a browser form (multipart/form-data) POSTed to /v1/AUTH_x/container[/prefix]
 * uploads its files as prefix + filename, when its signature (HMAC of path, redirect,
 * max_file_size, max_file_count, expires with a Temp-URL-Key) holds and it has not expired.
 */
export async function formPost(ctx: Ctx, repo: ObjectRepo, data: ObjectData, path: string): Promise<unknown> {
  const type = ctx.req.headers['content-type'] ?? '';
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  if (!boundary || !ctx.container) throw swiftError(400, 'FormPost: invalid starting boundary');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req.raw) {
    size += (c as Buffer).length;
    if (size > MAX_FORM_BYTES) throw swiftError(413, 'FormPost: max_file_size exceeded');
    chunks.push(c as Buffer);
  }
  const parts = parseMultipart(Buffer.concat(chunks), boundary[1] ?? boundary[2]);
  const field = (n: string) => parts.find((p) => p.name === n && p.filename === undefined)?.data.toString('utf8') ?? '';
  const expires = field('expires');
  if (!/^\d+$/.test(expires)) throw swiftError(401, 'FormPost: Invalid Signature');
  if (Number(expires) < Date.now() / 1000) throw swiftError(401, 'FormPost: Form Expired');
  const redirect = field('redirect');
  const maxSize = field('max_file_size');
  const maxCount = field('max_file_count');
  const sig = parseSig(field('signature'));
  const keys = await tempUrlKeys(repo, ctx.account, ctx.container);
  const body = `${path}\n${redirect}\n${maxSize}\n${maxCount}\n${expires}`;
  const valid = !!sig && keys.some((k) => {
    const mac = createHmac(sig.digest, k).update(body).digest();
    return mac.length === sig.bytes.length && timingSafeEqual(mac, sig.bytes);
  });
  if (!valid) throw swiftError(401, 'FormPost: Invalid Signature');
  const files = parts.filter((p) => p.filename !== undefined && p.filename !== '');
  let status = 201;
  let message = '';
  if (files.length > Number(maxCount || 0)) {
    status = 400;
    message = 'max_file_count exceeded';
  } else if (!(await repo.container(ctx.account, ctx.container))) {
    status = 404;
    message = 'container not found';
  } else {
    const deleteAfter = field('x_delete_after');
    const deleteAt = field('x_delete_at');
    const expiry = /^\d+$/.test(deleteAfter) ? Math.floor(Date.now() / 1000) + Number(deleteAfter) : /^\d+$/.test(deleteAt) ? Number(deleteAt) : null;
    for (const f of files) {
      if (f.data.length > Number(maxSize || 0)) {
        status = 400;
        message = 'max_file_size exceeded';
        break;
      }
      const name = `${ctx.object ?? ''}${f.filename}`;
      if (Buffer.byteLength(name) > SWIFT_LIMITS.max_object_name_length) {
        status = 400;
        message = 'object name too long';
        break;
      }
      await data.write({ account: ctx.account, container: ctx.container, name }, Readable.from([f.data]), {
        contentType: f.contentType || guessType(name), headers: {}, deleteAt: expiry, maxBytes: SWIFT_LIMITS.max_file_size,
      });
    }
  }
  if (redirect) {
    const sep = redirect.includes('?') ? '&' : '?';
    const location = `${redirect}${sep}status=${status}&message=${encodeURIComponent(message)}`;
    return ctx.reply.code(303).header('location', location).type('text/html; charset=UTF-8').send(`<html><body><p><a href="${location}">Click to continue...</a></p></body></html>`);
  }
  const title = status === 201 ? 'Created' : status === 404 ? 'Not Found' : 'Bad Request';
  return ctx.reply.code(status).type('text/html; charset=UTF-8').send(`<html><h1>${title}</h1><p>FormPost: ${message || 'files uploaded'}</p></html>`);
}
