/**
 * oslo.policy's rule language: `role:admin`, `rule:name`, `@`, `!`, `not`, `and`, `or`,
 * parentheses, and generic checks `key:%(target.attr)s` / `key:literal` / `'literal':%(attr)s`.
 */
export type Check =
  | { kind: 'true' }
  | { kind: 'false' }
  | { kind: 'not'; check: Check }
  | { kind: 'and'; checks: Check[] }
  | { kind: 'or'; checks: Check[] }
  | { kind: 'rule'; name: string }
  | { kind: 'role'; role: string }
  | { kind: 'generic'; key: string; match: string };

/** Splits on whitespace, then peels grouping parentheses off each word (not those of %(x)s). */
function tokenize(rule: string): string[] {
  const out: string[] = [];
  for (let word of rule.split(/\s+/).filter(Boolean)) {
    while (word.startsWith('(')) { out.push('('); word = word.slice(1); }
    let closing = 0;
    const count = (c: string) => word.split(c).length - 1;
    while (word.endsWith(')') && count(')') > count('(')) { closing++; word = word.slice(0, -1); }
    if (word) out.push(word);
    for (let i = 0; i < closing; i++) out.push(')');
  }
  return out;
}

export function parseRule(rule: string): Check {
  const tokens = tokenize(rule.trim());
  if (tokens.length === 0) return { kind: 'true' };
  let pos = 0;
  const peek = () => tokens[pos]?.toLowerCase();

  const parseOr = (): Check => {
    const checks = [parseAnd()];
    while (peek() === 'or') { pos++; checks.push(parseAnd()); }
    return checks.length === 1 ? checks[0] : { kind: 'or', checks };
  };
  const parseAnd = (): Check => {
    const checks = [parseNot()];
    while (peek() === 'and') { pos++; checks.push(parseNot()); }
    return checks.length === 1 ? checks[0] : { kind: 'and', checks };
  };
  const parseNot = (): Check => {
    if (peek() === 'not') { pos++; return { kind: 'not', check: parseNot() }; }
    return parseAtom();
  };
  const parseAtom = (): Check => {
    const t = tokens[pos++];
    if (t === undefined) throw new Error(`policy rule ended early: ${rule}`);
    if (t === '(') {
      const c = parseOr();
      if (tokens[pos++] !== ')') throw new Error(`unbalanced parentheses in policy rule: ${rule}`);
      return c;
    }
    if (t === '@') return { kind: 'true' };
    if (t === '!') return { kind: 'false' };
    const i = t.indexOf(':');
    if (i < 0) throw new Error(`bad policy check '${t}' in: ${rule}`);
    const key = t.slice(0, i);
    const match = t.slice(i + 1);
    if (key === 'rule') return { kind: 'rule', name: match };
    if (key === 'role') return { kind: 'role', role: match };
    return { kind: 'generic', key, match };
  };

  const check = parseOr();
  if (pos !== tokens.length) throw new Error(`unexpected '${tokens[pos]}' in policy rule: ${rule}`);
  return check;
}
