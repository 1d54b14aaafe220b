import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule } from '../../src/core/policy/rule-parser.js';
import { PolicyEnforcer, type Credentials } from '../../src/core/policy/enforcer.js';

const creds = (over: Partial<Credentials> = {}): Credentials => ({
  user_id: 'u1', user_domain_id: 'default', project_id: 'p1', project_domain_id: 'default', domain_id: null,
  system_scope: null, roles: ['member', 'reader'], is_admin_project: false, ...over,
});

describe('policy rule parser', () => {
  it('parses and/or/not with precedence and keeps %(x)s parentheses intact', () => {
    const c = parseRule('role:admin or (role:member and project_id:%(target.project.id)s) and not role:banned');
    assert.equal(c.kind, 'or');
    const rhs = (c as { checks: unknown[] }).checks[1] as { kind: string; checks: { kind: string }[] };
    assert.equal(rhs.kind, 'and');
    assert.deepEqual(rhs.checks.map((x) => x.kind), ['and', 'not']);
  });
  it('treats empty rules and @ as allow, ! as deny', () => {
    assert.equal(parseRule('').kind, 'true');
    assert.equal(parseRule('@').kind, 'true');
    assert.equal(parseRule('!').kind, 'false');
  });
  it('rejects unbalanced parentheses and bare words', () => {
    assert.throws(() => parseRule('(role:admin'));
    assert.throws(() => parseRule('role:admin or'));
    assert.throws(() => parseRule('admin'));
  });
});

describe('policy enforcer', () => {
  const p = new PolicyEnforcer({
    admin_required: 'role:admin',
    owner: 'user_id:%(user_id)s',
    'x:get': 'rule:admin_required or rule:owner',
    'x:project': 'project_id:%(target.project.id)s',
    'x:system': 'role:reader and system_scope:all',
    'x:const': "'p1':%(target.project.id)s",
    'x:bool': 'is_admin_project:True',
  });
  it('evaluates role, rule and generic checks against flat and nested targets', () => {
    assert.equal(p.authorize('x:get', creds(), { user_id: 'u1' }), true);
    assert.equal(p.authorize('x:get', creds(), { user_id: 'u2' }), false);
    assert.equal(p.authorize('x:get', creds({ roles: ['admin'] }), { user_id: 'u2' }), true);
    assert.equal(p.authorize('x:project', creds(), { target: { project: { id: 'p1' } } }), true);
    assert.equal(p.authorize('x:project', creds(), { 'target.project.id': 'p1' }), true);
    assert.equal(p.authorize('x:project', creds(), { target: { project: { id: 'p2' } } }), false);
    assert.equal(p.authorize('x:project', creds({ project_id: null }), { target: { project: { id: 'p1' } } }), false);
    assert.equal(p.authorize('x:const', creds(), { target: { project: { id: 'p1' } } }), true);
  });
  it('needs both the role and the system scope for system readers', () => {
    assert.equal(p.authorize('x:system', creds(), {}), false);
    assert.equal(p.authorize('x:system', creds({ system_scope: 'all' }), {}), true);
  });
  it('compares booleans case-insensitively', () => {
    assert.equal(p.authorize('x:bool', creds({ is_admin_project: true }), {}), true);
    assert.equal(p.authorize('x:bool', creds(), {}), false);
  });
  it('throws on an unknown rule name instead of allowing', () => {
    assert.throws(() => p.authorize('x:missing', creds(), {}));
  });
});
