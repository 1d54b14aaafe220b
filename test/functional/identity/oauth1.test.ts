import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';

describe('identity: OAuth1 consumers (OS-OAUTH1)', () => {
  let c: TestCloud;
  let admin: string;
  let demo: string;
  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    demo = await c.token('demo', c.cloud.demo.password, 'demo');
  });
  after(() => c.stop());

  it('creates a consumer and shows its secret only at creation', async () => {
    const r = await c.request('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: { description: 'my app' } } });
    assert.equal(r.status, 201);
    const cons = r.body.consumer;
    assert.match(cons.id, /^[0-9a-f]{32}$/);
    assert.equal(cons.description, 'my app');
    assert.match(cons.secret, /^[0-9a-f]{32}$/);
    assert.ok(cons.links.self.endsWith(`/v3/OS-OAUTH1/consumers/${cons.id}`));

    const shown = await c.request('GET', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin });
    assert.equal(shown.status, 200);
    for (const k of ['description', 'id', 'links']) assert.deepEqual(shown.body.consumer[k], cons[k]);
    assert.equal(shown.body.consumer.secret, undefined);

    const list = await c.request('GET', '/v3/OS-OAUTH1/consumers', { token: admin });
    assert.equal(list.status, 200);
    const listed = list.body.consumers.find((x: { id: string }) => x.id === cons.id);
    assert.ok(listed);
    assert.equal(listed.secret, undefined);
    assert.ok(list.body.links.self.endsWith('/v3/OS-OAUTH1/consumers'));
  });

  it('creates a consumer without a body or description, keeping extra attributes', async () => {
    const bare = await c.request('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: {} });
    assert.equal(bare.status, 201);
    assert.equal(bare.body.consumer.description, null);
    const extra = await c.request('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: { description: null, owner: 'team-a' } } });
    assert.equal(extra.status, 201);
    assert.equal(extra.body.consumer.owner, 'team-a');
    assert.equal((await c.request('GET', `/v3/OS-OAUTH1/consumers/${extra.body.consumer.id}`, { token: admin })).body.consumer.owner, 'team-a');
    assert.equal((await c.request('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: { description: 7 } } })).status, 400);
  });

  it('updates the description, refuses a new secret, id or empty update', async () => {
    const cons = (await c.request('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: { description: 'old' } } })).body.consumer;
    const up = await c.request('PATCH', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin, body: { consumer: { description: 'new' } } });
    assert.equal(up.status, 200);
    assert.equal(up.body.consumer.description, 'new');
    assert.equal(up.body.consumer.secret, undefined);
    assert.equal((await c.request('GET', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin })).body.consumer.description, 'new');

    const secret = await c.request('PATCH', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin, body: { consumer: { secret: 'mine' } } });
    assert.equal(secret.status, 400);
    assert.equal(secret.body.error.code, 400);
    assert.equal((await c.request('PATCH', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin, body: { consumer: { id: 'other' } } })).status, 400);
    assert.equal((await c.request('PATCH', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin, body: { consumer: {} } })).status, 400);
    assert.equal((await c.request('PATCH', '/v3/OS-OAUTH1/consumers/nope', { token: admin, body: { consumer: { description: 'x' } } })).status, 404);
  });

  it('deletes a consumer', async () => {
    const cons = (await c.request('POST', '/v3/OS-OAUTH1/consumers', { token: admin, body: { consumer: {} } })).body.consumer;
    assert.equal((await c.request('DELETE', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin })).status, 204);
    const gone = await c.request('GET', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.title, 'Not Found');
    assert.equal((await c.request('DELETE', `/v3/OS-OAUTH1/consumers/${cons.id}`, { token: admin })).status, 404);
  });

  it('is for admins only', async () => {
    assert.equal((await c.request('POST', '/v3/OS-OAUTH1/consumers', { token: demo, body: { consumer: {} } })).status, 403);
    assert.equal((await c.request('GET', '/v3/OS-OAUTH1/consumers', { token: demo })).status, 403);
    assert.equal((await c.request('GET', '/v3/OS-OAUTH1/consumers')).status, 401);
  });
});
