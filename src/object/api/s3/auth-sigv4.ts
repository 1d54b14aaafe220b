/**
 * AWS Signature Version 4 with EC2 credentials: the Authorization header or a presigned URL,
 * and the payload it promises (a SHA-256, UNSIGNED-PAYLOAD, or aws-chunked streaming bodies).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { IdentityClient } from '../../../identity/client.js';
import { pipeRequestBody } from '../../../core/http/request-body.js';
import { IncompleteBodyError } from '../../service/objects.js';
import { s3Error } from './errors.js';

export interface S3Auth {
  accessKey: string;
  userId: string;
  projectId: string;
  /** x-amz-content-sha256: a hex digest, UNSIGNED-PAYLOAD or a STREAMING-* mode. */
  payload: string;
  signingKey: Buffer;
  scope: string;
  amzDate: string;
  signature: string;
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept; '/' kept in paths). */
export function awsEncode(s: string, keepSlash: boolean): string {
  const e = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? e.replace(/%2F/g, '/') : e;
}

const safeDecode = (s: string) => { try { return decodeURIComponent(s); } catch { return s; } };

/** Is this request for the S3 front end (SigV4 signed, in a header or presigned)? */
export function isSigV4(req: FastifyRequest): boolean {
  const a = req.headers.authorization;
  if (typeof a === 'string' && a.startsWith('AWS4-HMAC-SHA256 ')) return true;
  const q = req.url.indexOf('?');
  return q >= 0 && /(^|&)X-Amz-Algorithm=AWS4-HMAC-SHA256(&|$)/.test(req.url.slice(q + 1));
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** Checks the request's signature; the caller's identity and payload mode, or an S3Error. */
export async function authenticate(req: FastifyRequest, identity: IdentityClient): Promise<S3Auth> {
  const [rawPath, rawQuery = ''] = req.url.split('?', 2) as [string, string?];
  const pairs = rawQuery === '' ? [] : rawQuery.split('&').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [safeDecode(p), ''] : [safeDecode(p.slice(0, i)), safeDecode(p.slice(i + 1))];
  }) as [string, string][];
  const q = new Map(pairs);
  const header = req.headers.authorization;
  let credential: string; let signedHeaders: string; let signature: string; let amzDate: string; let payload: string;
  const presigned = !(typeof header === 'string' && header.startsWith('AWS4-HMAC-SHA256 '));
  if (!presigned) {
    const fields: Record<string, string> = {};
    for (const part of header.slice('AWS4-HMAC-SHA256 '.length).split(',')) {
      const i = part.indexOf('=');
      if (i > 0) fields[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
    if (!fields.Credential || !fields.SignedHeaders || !fields.Signature) throw s3Error('AuthorizationHeaderMalformed');
    ({ Credential: credential, SignedHeaders: signedHeaders, Signature: signature } = fields as Record<string, string>);
    amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate && typeof req.headers.date === 'string') {
      const d = new Date(req.headers.date);
      amzDate = Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    }
    payload = String(req.headers['x-amz-content-sha256'] ?? '');
    if (!payload) throw s3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  } else {
    credential = q.get('X-Amz-Credential') ?? '';
    signedHeaders = q.get('X-Amz-SignedHeaders') ?? '';
    signature = q.get('X-Amz-Signature') ?? '';
    amzDate = q.get('X-Amz-Date') ?? '';
    payload = String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD');
    if (!credential || !signedHeaders || !signature || !amzDate) throw s3Error('AuthorizationQueryParametersError', 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  const scopeParts = credential.split('/');
  if (scopeParts.length !== 5 || scopeParts[4] !== 'aws4_request') throw s3Error('AuthorizationHeaderMalformed');
  const [accessKey, date, region, service] = scopeParts as [string, string, string, string];
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m || !amzDate.startsWith(date)) throw s3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const when = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (presigned) {
    const expires = Number(q.get('X-Amz-Expires') ?? '');
    if (!Number.isInteger(expires) || expires < 0 || expires > 604800) throw s3Error('AuthorizationQueryParametersError', 'X-Amz-Expires must be between 0 and 604800 seconds');
    if (Date.now() > when + expires * 1000) throw s3Error('AccessDenied', 'Request has expired');
    if (when - Date.now() > 15 * 60_000) throw s3Error('AccessDenied', 'Request is not valid yet');
  } else if (Math.abs(Date.now() - when) > 15 * 60_000) throw s3Error('RequestTimeTooSkewed');

  const cred = await identity.ec2Credential(accessKey);
  if (!cred) throw s3Error('InvalidAccessKeyId');

  const canonicalQuery = pairs.filter(([k]) => !(presigned && k === 'X-Amz-Signature'))
    .map(([k, v]) => [awsEncode(k, false), awsEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
  const names = signedHeaders.split(';');
  const canonicalHeaders = names.map((n) => {
    const v = req.headers[n];
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    return `${n}:${String(value).trim().replace(/\s+/g, ' ')}\n`;
  }).join('');
  const canonicalRequest = [req.method, awsEncode(safeDecode(rawPath), true), canonicalQuery, canonicalHeaders, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = signingKey(cred.secret, date, region, service);
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) throw s3Error('SignatureDoesNotMatch');
  return { accessKey, userId: cred.userId, projectId: cred.projectId, payload, signingKey: key, scope, amzDate, signature };
}

/** Fails at the end when the body's SHA-256 is not the one that was signed. */
class Sha256Check extends Transform {
  private readonly hash = createHash('sha256');
  constructor(private readonly expected: string) { super({ highWaterMark: 1024 * 1024 }); }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void { this.hash.update(chunk); done(null, chunk); }
  override _flush(done: TransformCallback): void {
    done(this.hash.digest('hex') === this.expected.toLowerCase() ? null : s3Error('XAmzContentSHA256Mismatch'));
  }
}

/** Decodes an aws-chunked body, checking each chunk's signature when the payload is signed. */
class ChunkDecoder extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes of chunk data still to come; -1 while reading a chunk header, -2 for the CRLF after data. */
  private left = -1;
  private chunkSig = '';
  private hash = createHash('sha256');
  private prevSig: string;
  private done = false;
  decoded = 0;
  constructor(private readonly auth: S3Auth, private readonly signed: boolean) {
    super({ highWaterMark: 1024 * 1024 });
    this.prevSig = auth.signature;
  }

  private verify(): void {
    if (!this.signed) return;
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', this.auth.amzDate, this.auth.scope, this.prevSig, EMPTY_SHA256, this.hash.digest('hex')].join('\n');
    const sig = createHmac('sha256', this.auth.signingKey).update(sts).digest('hex');
    if (sig !== this.chunkSig) throw s3Error('SignatureDoesNotMatch', 'The chunk signature does not match.');
    this.prevSig = sig;
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    try {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      while (this.buf.length && !this.done) {
        if (this.left === -1) {
          const nl = this.buf.indexOf('\r\n');
          if (nl < 0) {
            if (this.buf.length > 4096) throw s3Error('IncompleteBody', 'Malformed aws-chunked body');
            break;
          }
          const line = this.buf.subarray(0, nl).toString('latin1');
          this.buf = this.buf.subarray(nl + 2);
          const [size, ...ext] = line.split(';');
          const n = parseInt(size, 16);
          if (!/^[0-9a-fA-F]+$/.test(size) || !Number.isFinite(n)) throw s3Error('IncompleteBody', 'Malformed aws-chunked body');
          this.chunkSig = ext.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length) ?? '';
          this.hash = createHash('sha256');
          if (n === 0) {
            this.verify();
            this.done = true; // trailers (checksums) follow; they are not kept
            break;
          }
          this.left = n;
        } else if (this.left === -2) {
          if (this.buf.length < 2) break;
          this.buf = this.buf.subarray(2);
          this.left = -1;
        } else {
          const take = Math.min(this.left, this.buf.length);
          const data = this.buf.subarray(0, take);
          this.buf = this.buf.subarray(take);
          this.hash.update(data);
          this.push(data);
          this.decoded += take;
          this.left -= take;
          if (this.left === 0) {
            this.verify();
            this.left = -2;
          }
        }
      }
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    cb(this.done ? null : s3Error('IncompleteBody'));
  }
}

/** The request's payload, decoded and checked as it streams by. */
export function payloadStream(req: FastifyRequest, auth: S3Auth): Readable {
  const p = auth.payload;
  const early = () => new IncompleteBodyError('the request body ended early');
  if (p === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' || p === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') return pipeRequestBody(req.raw, new ChunkDecoder(auth, true), early);
  if (p === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return pipeRequestBody(req.raw, new ChunkDecoder(auth, false), early);
  if (p === 'UNSIGNED-PAYLOAD') return req.raw;
  if (!/^[0-9a-fA-F]{64}$/.test(p)) throw s3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.');
  return pipeRequestBody(req.raw, new Sha256Check(p), early);
}

/** The content length the client meant: x-amz-decoded-content-length for chunked bodies. */
export function payloadLength(req: FastifyRequest, auth: S3Auth): number | undefined {
  const v = auth.payload.startsWith('STREAMING-') ? req.headers['x-amz-decoded-content-length'] : req.headers['content-length'];
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** A small body (XML) read whole and checked. */
export async function readPayload(req: FastifyRequest, auth: S3Auth, max = 2 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of payloadStream(req, auth)) {
    n += (c as Buffer).length;
    if (n > max) throw s3Error('MalformedXML', 'The request body is too large.');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}
