import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { AuthContext } from '../auth/context.js';
import { parseRule, type Check } from './rule-parser.js';

/** The credentials oslo.policy sees, derived from a token. */
export interface Credentials {
  user_id: string;
  user_domain_id: string;
  project_id: string | null;
  project_domain_id: string | null;
  domain_id: string | null;
  system_scope: string | null;
  roles: string[];
  is_admin_project: boolean;
  [k: string]: unknown;
}

export function credentialsOf(ctx: AuthContext): Credentials {
  return {
    user_id: ctx.userId,
    user_domain_id: ctx.userDomainId,
    project_id: ctx.projectId ?? null,
    project_domain_id: ctx.projectDomainId ?? null,
    domain_id: ctx.domainId ?? null,
    system_scope: ctx.system ?? null,
    roles: ctx.roles.map((r) => r.name.toLowerCase()),
    is_admin_project: ctx.isAdminProject,
    'token.is_admin_project': ctx.isAdminProject,
    trust_id: ctx.trustId ?? null,
  };
}

export type Target = Record<string, unknown>;

/** Looks a dotted key up either flat ({'target.user.id': x}) or nested ({target: {user: {id: x}}}). */
function lookup(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const SUBST = /^%\((.+)\)s$/;

/** Rules by name (defaults merged with the operator's overrides), evaluated oslo.policy-style. */
export class PolicyEnforcer {
  private readonly rules = new Map<string, Check>();

  constructor(defaults: Record<string, string>, overrideFile?: string) {
    for (const [name, rule] of Object.entries(defaults)) this.rules.set(name, parseRule(rule));
    if (overrideFile && existsSync(overrideFile)) {
      const overrides = (parseYaml(readFileSync(overrideFile, 'utf8')) ?? {}) as Record<string, string>;
      for (const [name, rule] of Object.entries(overrides)) this.rules.set(name, parseRule(String(rule)));
    }
  }

  /** Adds rules (a service's defaults); existing overrides win. */
  register(defaults: Record<string, string>): void {
    for (const [name, rule] of Object.entries(defaults)) if (!this.rules.has(name)) this.rules.set(name, parseRule(rule));
  }

  has(name: string): boolean {
    return this.rules.has(name);
  }

  authorize(ruleName: string, creds: Credentials, target: Target): boolean {
    const check = this.rules.get(ruleName);
    if (!check) throw new Error(`no policy rule named '${ruleName}'`);
    return this.evaluate(check, creds, target, 0);
  }

  private evaluate(c: Check, creds: Credentials, target: Target, depth: number): boolean {
    if (depth > 50) throw new Error('policy rule recursion too deep');
    switch (c.kind) {
      case 'true': return true;
      case 'false': return false;
      case 'not': return !this.evaluate(c.check, creds, target, depth + 1);
      case 'and': return c.checks.every((x) => this.evaluate(x, creds, target, depth + 1));
      case 'or': return c.checks.some((x) => this.evaluate(x, creds, target, depth + 1));
      case 'rule': {
        const r = this.rules.get(c.name);
        return r ? this.evaluate(r, creds, target, depth + 1) : false;
      }
      case 'role': {
        const m = SUBST.exec(c.role);
        const role = m ? String(lookup(target, m[1]) ?? '') : c.role;
        return creds.roles.includes(role.toLowerCase());
      }
      case 'generic': return genericCheck(c.key, c.match, creds, target);
    }
  }
}

function genericCheck(key: string, match: string, creds: Credentials, target: Target): boolean {
  const m = SUBST.exec(match);
  // 'literal':%(attr)s compares a constant with a target attribute.
  if (key.startsWith("'") && key.endsWith("'")) {
    return m ? String(lookup(target, m[1])) === key.slice(1, -1) : false;
  }
  const have = lookup(creds, key);
  if (have === undefined || have === null) return false;
  const want = m ? lookup(target, m[1]) : match;
  if (want === undefined || want === null) return false;
  if (typeof have === 'boolean') return String(have).toLowerCase() === String(want).toLowerCase();
  if (Array.isArray(have)) return have.map(String).includes(String(want));
  return String(have) === String(want);
}
