import type { AuthContext } from '../../core/auth/context.js';

/** A parsed X-Container-Read/-Write value: referrer rules and project:user (or role) grants. */
export interface Acl {
  referrers: string[];
  listings: boolean;
  grants: string[];
}

/** Parses an ACL header the way Swift's acl.parse_acl does (comma separated, .r:/.rlistings). */
export function parseAcl(value: string | undefined): Acl {
  const acl: Acl = { referrers: [], listings: false, grants: [] };
  for (const raw of (value ?? '').split(',')) {
    const item = raw.trim();
    if (!item) continue;
    if (item === '.rlistings') acl.listings = true;
    else if (/^\.r(ef|eferer|eferrer)?:/.test(item)) acl.referrers.push(item.slice(item.indexOf(':') + 1).trim());
    else acl.grants.push(item);
  }
  return acl;
}

/** Validates an ACL value for a container PUT/POST; returns an error message or undefined. */
export function aclError(value: string): string | undefined {
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item.startsWith('.') && item !== '.rlistings' && !/^\.r(ef|eferer|eferrer)?:./.test(item)) return `Unknown designator ${item.split(':')[0]} in ACL`;
    if (/^\.r(ef|eferer|eferrer)?:\s*$/.test(item)) return 'No host/domain value after referrer designation in ACL';
  }
  return undefined;
}

/** Whether a referrer rule list lets an anonymous (or any) request through (.r:* or a host). */
export function referrerAllowed(acl: Acl, referer: string | undefined): boolean {
  let allowed = false;
  let host = '';
  try { host = referer ? new URL(referer).hostname : ''; } catch { host = ''; }
  for (const r of acl.referrers) {
    const neg = r.startsWith('-');
    const rule = neg ? r.slice(1) : r;
    const match = rule === '*' || (host !== '' && (rule.startsWith('.') ? host.endsWith(rule) : host === rule));
    if (match) allowed = !neg;
  }
  return allowed;
}

/** Whether a caller is granted by an ACL's project:user entries or role names (keystoneauth). */
export function granted(acl: Acl, auth: AuthContext): boolean {
  const roles = new Set(auth.roles.map((r) => r.name.toLowerCase()));
  for (const g of acl.grants) {
    const colon = g.indexOf(':');
    if (colon < 0) {
      if (roles.has(g.toLowerCase())) return true;
      continue;
    }
    const p = g.slice(0, colon);
    const u = g.slice(colon + 1);
    const projectOk = p === '*' || p === auth.projectId || p === auth.projectName;
    const userOk = u === '*' || u === auth.userId || u === auth.userName;
    if (projectOk && userOk) return true;
  }
  return false;
}
