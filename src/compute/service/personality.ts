import type { Kysely } from 'kysely';
import { badRequest, HttpError } from '../../core/errors.js';
import type { InjectedFile } from '../agent/metadata.js';
import type { ComputeDB } from '../db/schema.js';

/**
 * Personality (Nova's file injection, create and rebuild before microversion 2.57): a list of
 * {path, contents (base64)}. Kept per server and handed to the guest as Nova's config drive
 * and metadata service do: `files` in meta_data.json, the bytes under openstack/content/NNNN.
 */
export interface PersonalityFile { path: string; contents: string }

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Nova's personality schema: an array of objects with a string path and base64 contents, nothing else. */
export function parsePersonality(v: unknown): PersonalityFile[] {
  const bad = (why: string) => badRequest(`Invalid input for field/attribute personality. Value: ${JSON.stringify(v)}. ${why}`);
  if (!Array.isArray(v)) throw bad(`${JSON.stringify(v)} is not of type 'array'`);
  return v.map((f) => {
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw bad(`${JSON.stringify(f)} is not of type 'object'`);
    const o = f as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'path' && k !== 'contents') throw bad(`Additional properties are not allowed ('${k}' was unexpected)`);
    if (typeof o.path !== 'string') throw bad(`${JSON.stringify(o.path ?? null)} is not of type 'string'`);
    if (typeof o.contents !== 'string') throw bad(`${JSON.stringify(o.contents ?? null)} is not of type 'string'`);
    const packed = o.contents.replace(/\s+/g, '');
    if (!BASE64.test(packed) || packed.length % 4 !== 0) throw bad(`'${o.contents}' is not a 'base64'`);
    return { path: o.path, contents: packed };
  });
}

/**
 * Nova's _check_injected_file_quota: the number of files, then the longest path and the
 * largest decoded contents against injected_files / injected_file_path_bytes /
 * injected_file_content_bytes (-1: unlimited); over quota is a 403 as Nova words it.
 */
export function checkPersonalityQuota(limits: Record<string, number>, files: PersonalityFile[]): void {
  const over = (limit: number | undefined, n: number) => limit !== undefined && limit >= 0 && n > limit;
  if (over(limits.injected_files, files.length)) throw new HttpError(403, 'Personality file limit exceeded');
  const maxPath = Math.max(0, ...files.map((f) => Buffer.byteLength(f.path)));
  const maxContent = Math.max(0, ...files.map((f) => Buffer.from(f.contents, 'base64').length));
  if (over(limits.injected_file_path_bytes, maxPath)) throw new HttpError(403, `Personality file path exceeds maximum ${limits.injected_file_path_bytes}`);
  if (over(limits.injected_file_content_bytes, maxContent)) throw new HttpError(403, `Personality file content exceeds maximum ${limits.injected_file_content_bytes}`);
}

/** Replaces the server's personality files (a rebuild with personality replaces them all). */
export async function storePersonality(db: Kysely<ComputeDB>, instanceUuid: string, files: PersonalityFile[]): Promise<void> {
  await db.deleteFrom('instance_file').where('instance_uuid', '=', instanceUuid).execute();
  if (files.length) await db.insertInto('instance_file').values(files.map((f, seq) => ({ instance_uuid: instanceUuid, seq, path: f.path, contents: f.contents }))).execute();
}

/** The server's files, decoded, in the order they were given. */
export async function injectedFiles(db: Kysely<ComputeDB>, instanceUuid: string): Promise<InjectedFile[]> {
  const rows = await db.selectFrom('instance_file').selectAll().where('instance_uuid', '=', instanceUuid).orderBy('seq').execute();
  return rows.map((r) => ({ path: r.path, contents: Buffer.from(r.contents, 'base64') }));
}
