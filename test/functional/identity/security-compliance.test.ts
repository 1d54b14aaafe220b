import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

describe('identity: lockout, password history, self-service change', () => {
  let c: TestCloud;
  let admin: string;
  before(async () => {
    c = await startTestCloud({ identity: { lockoutFailureAttempts: 2, lockoutDuration: 1, uniqueLastPasswordCount: 2 } });
    admin = await c.adminToken();
  });
  after(() => c.stop());

  const newUser = async (password: string) =>
    (await c.request('POST', '/v3/users', { token: admin, body: { user: { name: uniq('u'), password } } })).body.user.id as string;
  const login = (id: string, password: string) =>
    c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { id, password } } } } } });

  it('locks an account after 2 failures for the lockout duration', async () => {
    const id = await newUser('right-pw');
    assert.equal((await login(id, 'right-pw')).status, 201);
    assert.equal((await login(id, 'wrong')).status, 401);
    assert.equal((await login(id, 'wrong')).status, 401);
    const locked = await login(id, 'right-pw');
    assert.equal(locked.status, 401);
    assert.match(locked.body.error.message, /locked/);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await login(id, 'right-pw')).status, 201);
  });

  it('changes a password, revokes old tokens, and refuses the last 2 passwords', async () => {
    const id = await newUser('pw-1');
    const old = (await login(id, 'pw-1')).headers.get('x-subject-token')!;
    const change = (original: string, password: string) =>
      c.request('POST', `/v3/users/${id}/password`, { body: { user: { original_password: original, password } } });
    assert.equal((await change('wrong', 'pw-2')).status, 401);
    assert.equal((await change('pw-1', 'pw-2')).status, 204);
    assert.equal((await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': old } })).status, 404);
    assert.equal((await login(id, 'pw-1')).status, 401);
    assert.equal((await login(id, 'pw-2')).status, 201);
    const reuse = await change('pw-2', 'pw-2');
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error.code, 400);
    assert.equal((await change('pw-2', 'pw-1')).status, 400);
    assert.equal((await change('pw-2', 'pw-3')).status, 204);
    // pw-1 has left the window of the last 2
    assert.equal((await change('pw-3', 'pw-1')).status, 204);
  });

  it('lets an admin reset a password without history checks', async () => {
    const id = await newUser('pw-a');
    assert.equal((await c.request('PATCH', `/v3/users/${id}`, { token: admin, body: { user: { password: 'pw-a' } } })).status, 200);
    assert.equal((await login(id, 'pw-a')).status, 201);
  });
});
