import { HttpError } from '../errors.js';

/** A microversion "X.Y" as a comparable pair. */
export interface Microversion {
  major: number;
  minor: number;
}

export const parseVersion = (s: string): Microversion | null => {
  const m = /^(\d+)\.(\d+)$/.exec(s.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
};
export const formatVersion = (v: Microversion) => `${v.major}.${v.minor}`;
export const compareVersions = (a: Microversion, b: Microversion) => a.major - b.major || a.minor - b.minor;

/**
 * Negotiates the microversion of a request the way Nova, Cinder and Placement do: the
 * `OpenStack-API-Version: <service> X.Y` header (or a legacy header), "latest" = max, absent = min;
 * outside [min, max] → 406 Not Acceptable. Responses must echo the chosen version.
 */
export function negotiateMicroversion(
  headers: Record<string, string | string[] | undefined>,
  service: string,
  range: { min: string; max: string },
  legacyHeader?: string,
): Microversion {
  const min = parseVersion(range.min)!;
  const max = parseVersion(range.max)!;
  let requested: string | undefined;
  const raw = headers['openstack-api-version'];
  for (const entry of (Array.isArray(raw) ? raw.join(',') : raw ?? '').split(',')) {
    const [svc, ver] = entry.trim().split(/\s+/);
    if (svc?.toLowerCase() === service.toLowerCase() && ver) requested = ver;
  }
  if (requested === undefined && legacyHeader) {
    const legacy = headers[legacyHeader.toLowerCase()];
    requested = Array.isArray(legacy) ? legacy[0] : legacy;
  }
  if (requested === undefined) return min;
  if (requested.toLowerCase() === 'latest') return max;
  const v = parseVersion(requested);
  if (!v) throw new HttpError(400, `Invalid microversion format: '${requested}'.`);
  if (compareVersions(v, min) < 0 || compareVersions(v, max) > 0) {
    throw new HttpError(406, `Version ${requested} is not supported by the API. Minimum is ${range.min} and maximum is ${range.max}.`);
  }
  return v;
}

/** True when the negotiated version is at least `since` (for per-version behaviour). */
export const atLeast = (v: Microversion, since: string) => compareVersions(v, parseVersion(since)!) >= 0;
