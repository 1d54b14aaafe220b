import { badRequest } from '../../core/errors.js';

type Q = Record<string, string | string[] | undefined>;

/** The single value of a query parameter (the last one when repeated). */
export function one(q: Q, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Keystone's boolean query values: "true/1/yes" vs "false/0/no"; a bare key means true. */
export function boolParam(q: Q, key: string): boolean | undefined {
  const v = one(q, key);
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (['', 'true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw badRequest(`Invalid value '${v}' for query parameter '${key}': expected a boolean.`);
}

/** Comma-separated list parameter (tags=a,b). */
export function listParam(q: Q, key: string): string[] | undefined {
  const v = one(q, key);
  return v === undefined ? undefined : v.split(',').filter((x) => x !== '');
}
