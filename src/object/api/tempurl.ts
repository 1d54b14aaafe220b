import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { ObjectRepo } from '../db/repo.js';
import { swiftError } from './common.js';

/** What /info says of TempURL. */
export const TEMPURL_INFO = {
  methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
  incoming_remove_headers: ['x-timestamp'],
  incoming_allow_headers: [],
  outgoing_remove_headers: ['x-object-meta-*'],
  outgoing_allow_headers: ['x-object-meta-public-*'],
  allowed_digests: ['sha1', 'sha256', 'sha512'],
};

const DIGEST_BY_HEX_LENGTH: Record<number, string> = { 40: 'sha1', 64: 'sha256', 128: 'sha512' };

/** The digest and raw bytes of a temp_url_sig: hex (by length) or "<digest>:<base64>". */
export function parseSig(sig: string): { digest: string; bytes: Buffer } | undefined {
  const m = /^(sha1|sha256|sha512):(.+)$/.exec(sig);
  if (m) return { digest: m[1], bytes: Buffer.from(m[2].replaceAll('-', '+').replaceAll('_', '/'), 'base64') };
  const digest = DIGEST_BY_HEX_LENGTH[sig.length];
  if (!digest || !/^[0-9a-fA-F]+$/.test(sig)) return undefined;
  return { digest, bytes: Buffer.from(sig, 'hex') };
}

function parseExpires(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v)) return Date.parse(v) / 1000;
  return undefined;
}

/** The account's and container's Temp-URL-Key(-2) values (TempURL and FormPOST sign with them). */
export async function tempUrlKeys(repo: ObjectRepo, account: string, container: string): Promise<string[]> {
  const a = await repo.accountMeta(account);
  const c = await repo.container(account, container);
  return [
    a?.meta['x-account-meta-temp-url-key'], a?.meta['x-account-meta-temp-url-key-2'],
    c?.meta['x-container-meta-temp-url-key'], c?.meta['x-container-meta-temp-url-key-2'],
  ].filter((k): k is string => !!k);
}

/**
 * Checks a TempURL request (temp_url_sig/temp_url_expires in the query) against the account's
 * and container's Temp-URL-Key(-2) metadata; throws 401 unless a key signed this method (HEAD
 * accepts GET/PUT/POST signatures), path (or temp_url_prefix) and expiry. Sets the
 * Content-Disposition a GET answers with (inline, filename=).
 */
export async function checkTempUrl(
  repo: ObjectRepo, reply: FastifyReply, method: string, path: string,
  loc: { account: string; container?: string; object?: string }, query: Record<string, string>,
): Promise<void> {
  const invalid = () => swiftError(401, `<html><h1>Unauthorized</h1><p>Temp URL invalid</p></html>`);
  if (!loc.container || !loc.object) throw invalid();
  const expires = parseExpires(query.temp_url_expires);
  if (expires === undefined) throw invalid();
  if (expires < Date.now() / 1000) throw swiftError(401, `<html><h1>Unauthorized</h1><p>Temp URL expired</p></html>`);
  const sig = parseSig(query.temp_url_sig ?? '');
  if (!sig) throw invalid();
  const prefix = query.temp_url_prefix;
  if (prefix !== undefined && !loc.object.startsWith(prefix)) throw invalid();
  const signedPath = prefix !== undefined ? `prefix:/v1/${loc.account}/${loc.container}/${prefix}` : path;
  const keys = await tempUrlKeys(repo, loc.account, loc.container);
  const methods = method === 'HEAD' ? ['HEAD', 'GET', 'PUT', 'POST'] : [method];
  const ok = keys.some((key) => methods.some((m) => {
    const mac = createHmac(sig.digest, key).update(`${m}\n${query.temp_url_expires}\n${signedPath}`).digest();
    return mac.length === sig.bytes.length && timingSafeEqual(mac, sig.bytes);
  }));
  if (!ok) throw invalid();
  if (method === 'GET') {
    const filename = query.filename ?? loc.object.split('/').pop()!;
    const quoted = filename.replaceAll('"', '\\"');
    if (query.inline !== undefined) reply.header('content-disposition', query.filename !== undefined ? `inline; filename="${quoted}"` : 'inline');
    else reply.header('content-disposition', `attachment; filename="${quoted}"`);
  }
}
