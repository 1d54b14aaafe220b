import { bad } from '../service/errors.js';
import type { RequestGroup } from '../service/candidates.js';

export const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

export const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
export const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);

/** `VCPU:1,MEMORY_MB:512` → class → amount. */
export function parseResources(s: string, allowZero = false): Map<string, number> {
  const out = new Map<string, number>();
  const form = `Badly formed resources parameter. Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: ${s}.`;
  for (const part of s.split(',')) {
    const [rc, amount, ...rest] = part.split(':');
    if (!rc || amount === undefined || rest.length || !/^\d+$/.test(amount.trim())) throw bad(form);
    const n = Number(amount);
    if (n < 1 && !allowZero) throw bad(`Requested resource ${rc.trim()} expected positive integer amount. Got: ${amount}.`);
    if (out.has(rc.trim())) throw bad(form);
    out.set(rc.trim(), n);
  }
  return out;
}

/** `required` values: `A,!B` lists and (1.39) `in:A,B` any-of lists. */
export function parseRequired(vals: string[], allowForbidden: boolean, allowAnyOf: boolean): { required: string[][]; forbidden: string[] } {
  const required: string[][] = [];
  const forbidden: string[] = [];
  for (const v of vals) {
    if (v.startsWith('in:')) {
      if (!allowAnyOf) throw bad(`Invalid query string parameters: The format of "in:" in required parameter is not supported in this version.`);
      const any = v.slice(3).split(',').map((t) => t.trim());
      if (any.some((t) => !t || t.startsWith('!'))) throw bad(`Invalid query string parameters: Expected 'required' parameter value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: ${v}`);
      required.push(any);
      continue;
    }
    for (const t of v.split(',').map((x) => x.trim())) {
      if (!t) throw bad(`Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got: ${v}`);
      if (t.startsWith('!')) {
        if (!allowForbidden) throw bad(`Invalid query string parameters: Expected 'required' parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: ${v}`);
        forbidden.push(t.slice(1));
      } else required.push([t]);
    }
  }
  return { required, forbidden };
}

/** `member_of` values: `agg`, `in:a,b`, (1.32) `!agg`, `!in:a,b`. */
export function parseMemberOf(vals: string[], allowMultiple: boolean, allowForbidden: boolean): { memberOf: string[][]; forbidden: string[] } {
  if (vals.length > 1 && !allowMultiple) throw bad('Multiple member_of parameters are not supported');
  const memberOf: string[][] = [];
  const forbidden: string[] = [];
  for (let v of vals) {
    const neg = v.startsWith('!');
    if (neg) {
      if (!allowForbidden) throw bad(`Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: ${v}`);
      v = v.slice(1);
    }
    const list = v.startsWith('in:') ? v.slice(3).split(',') : [v];
    if (neg && v.startsWith('in:') === false && v.includes(',')) throw bad(`Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: ${v}`);
    for (const a of list) if (!UUID_RE.test(a)) throw bad(`Invalid query string parameters: Expected 'member_of' parameter to contain valid UUID(s). Got: ${a}`);
    if (neg) forbidden.push(...list);
    else memberOf.push(list);
  }
  return { memberOf, forbidden };
}

/** The request groups of GET /allocation_candidates: unsuffixed and (1.25) numbered / (1.33) named. */
export function parseGroups(query: Record<string, string | string[] | undefined>, opts: { granular: boolean; anySuffix: boolean; forbidden: boolean; anyOf: boolean; multiMember: boolean; forbiddenAgg: boolean; inTree: boolean }): RequestGroup[] {
  const groups = new Map<string, RequestGroup>();
  const group = (suffix: string) => {
    let g = groups.get(suffix);
    if (!g) groups.set(suffix, (g = { suffix, resources: new Map(), required: [], forbidden: [], memberOf: [], forbiddenAggregates: [] }));
    return g;
  };
  const known = new Set(['resources', 'required', 'member_of', 'in_tree', 'limit', 'group_policy', 'root_required', 'same_subtree']);
  for (const [key, raw] of Object.entries(query)) {
    const m = /^(resources|required|member_of|in_tree)(.*)$/.exec(key);
    if (!m || (m[2] !== '' && !opts.granular) || (!m && !known.has(key))) {
      if (known.has(key)) continue;
      throw bad(`Invalid query string parameters: Additional properties are not allowed ('${key}' was unexpected)`);
    }
    const suffix = m[2];
    if (suffix !== '' && !(opts.anySuffix ? /^[_-]?[a-zA-Z0-9_-]{1,64}$/ : /^[1-9][0-9]*$/).test(suffix)) {
      throw bad(`Invalid query string parameters: Additional properties are not allowed ('${key}' was unexpected)`);
    }
    const g = group(suffix);
    const vals = values(raw);
    if (m[1] === 'resources') {
      if (vals.length !== 1) throw bad(`Invalid query string parameters: Expected one '${key}' parameter.`);
      g.resources = parseResources(vals[0]);
    } else if (m[1] === 'required') {
      const r = parseRequired(vals, opts.forbidden, opts.anyOf);
      g.required.push(...r.required);
      g.forbidden.push(...r.forbidden);
    } else if (m[1] === 'member_of') {
      const r = parseMemberOf(vals, opts.multiMember, opts.forbiddenAgg);
      g.memberOf.push(...r.memberOf);
      g.forbiddenAggregates.push(...r.forbidden);
    } else {
      if (!opts.inTree) throw bad(`Invalid query string parameters: Additional properties are not allowed ('${key}' was unexpected)`);
      const v = single(raw)!;
      if (!UUID_RE.test(v)) throw bad(`Invalid query string parameters: Expected '${key}' parameter to be a format of uuid. Got: ${v}`);
      g.inTree = v;
    }
  }
  for (const g of groups.values()) {
    if (g.suffix !== '' && g.resources.size === 0 && opts.anySuffix === false) {
      throw bad(`All request groups must specify resources.`);
    }
  }
  return [...groups.values()];
}
