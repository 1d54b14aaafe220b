import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

describe('identity: unified limits', () => {
  let c: TestCloud;
  let admin: string;
  let demo: string;
  let serviceId: string;
  let demoProjectId: string;
  let otherProjectId: string;

  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    demo = await c.token('demo', c.cloud.demo.password, 'demo');
    const services = await c.request('GET', '/v3/services', { token: admin });
    serviceId = services.body.services.find((s: { type: string }) => s.type === 'identity').id;
    demoProjectId = (await c.request('GET', '/v3/projects?name=demo', { token: admin })).body.projects[0].id;
    otherProjectId = (await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: uniq('proj'), domain_id: 'default' } } })).body.project.id;
  });
  after(() => c.stop());

  it('tells the enforcement model to anyone', async () => {
    const r = await c.request('GET', '/v3/limits/model', { token: demo });
    assert.equal(r.status, 200);
    assert.equal(r.body.model.name, 'flat');
    assert.equal(typeof r.body.model.description, 'string');
    assert.equal((await c.request('GET', '/v3/limits/model')).status, 401);
  });

  it('creates, lists, shows, updates and deletes registered limits', async () => {
    const name = uniq('cores');
    const r = await c.request('POST', '/v3/registered_limits', {
      token: admin,
      body: { registered_limits: [
        { service_id: serviceId, resource_name: name, default_limit: 10, description: 'cores' },
        { service_id: serviceId, region_id: 'RegionOne', resource_name: name, default_limit: 20 },
      ] },
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.links, undefined);
    const [global, regional] = r.body.registered_limits;
    assert.deepEqual(Object.keys(global).sort(), ['default_limit', 'description', 'id', 'links', 'region_id', 'resource_name', 'service_id']);
    assert.equal(global.region_id, null);
    assert.equal(global.default_limit, 10);
    assert.equal(regional.region_id, 'RegionOne');
    assert.match(global.links.self, new RegExp(`/v3/registered_limits/${global.id}$`));

    const list = await c.request('GET', `/v3/registered_limits?resource_name=${name}`, { token: demo });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.registered_limits.map((x: { id: string }) => x.id).sort(), [global.id, regional.id].sort());
    const byRegion = await c.request('GET', `/v3/registered_limits?resource_name=${name}&region_id=RegionOne`, { token: admin });
    assert.deepEqual(byRegion.body.registered_limits.map((x: { id: string }) => x.id), [regional.id]);
    assert.equal((await c.request('GET', `/v3/registered_limits/${global.id}`, { token: demo })).body.registered_limit.default_limit, 10);

    const up = await c.request('PATCH', `/v3/registered_limits/${global.id}`, { token: admin, body: { registered_limit: { default_limit: 15, description: null } } });
    assert.equal(up.status, 200);
    assert.equal(up.body.registered_limit.default_limit, 15);
    assert.equal(up.body.registered_limit.description, null);
    // Moving it onto the regional one's key is a duplicate.
    assert.equal((await c.request('PATCH', `/v3/registered_limits/${global.id}`, { token: admin, body: { registered_limit: { region_id: 'RegionOne' } } })).status, 409);

    assert.equal((await c.request('DELETE', `/v3/registered_limits/${regional.id}`, { token: admin })).status, 204);
    assert.equal((await c.request('GET', `/v3/registered_limits/${regional.id}`, { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/registered_limits/${regional.id}`, { token: admin })).status, 404);
  });

  it('refuses duplicates (409), bad input (400) and non-admins (403)', async () => {
    const name = uniq('ram');
    const item = { service_id: serviceId, resource_name: name, default_limit: 1 };
    assert.equal((await c.request('POST', '/v3/registered_limits', { token: admin, body: { registered_limits: [item, item] } })).status, 409);
    assert.equal((await c.request('GET', `/v3/registered_limits?resource_name=${name}`, { token: admin })).body.registered_limits.length, 0, 'nothing of a refused batch is kept');
    assert.equal((await c.request('POST', '/v3/registered_limits', { token: admin, body: { registered_limits: [item] } })).status, 201);
    const dup = await c.request('POST', '/v3/registered_limits', { token: admin, body: { registered_limits: [item] } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.title, 'Conflict');

    const bad: unknown[] = [
      {},
      { registered_limits: [] },
      { registered_limits: item },
      { registered_limits: [{ ...item, default_limit: '5' }] },
      { registered_limits: [{ ...item, default_limit: -2 }] },
      { registered_limits: [{ ...item, default_limit: 1.5 }] },
      { registered_limits: [{ service_id: serviceId, default_limit: 1 }] },
      { registered_limits: [{ ...item, resource_name: uniq('x'), colour: 'red' }] },
      { registered_limits: [{ ...item, resource_name: uniq('x'), service_id: 'f'.repeat(32) }] },
      { registered_limits: [{ ...item, resource_name: uniq('x'), region_id: uniq('nowhere') }] },
    ];
    for (const body of bad) {
      const r = await c.request('POST', '/v3/registered_limits', { token: admin, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message', 'title']);
    }
    assert.equal((await c.request('POST', '/v3/registered_limits', { token: demo, body: { registered_limits: [{ ...item, resource_name: uniq('x') }] } })).status, 403);
    const reg = (await c.request('GET', `/v3/registered_limits?resource_name=${name}`, { token: admin })).body.registered_limits[0];
    assert.equal((await c.request('PATCH', `/v3/registered_limits/${reg.id}`, { token: demo, body: { registered_limit: { default_limit: 2 } } })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/registered_limits/${reg.id}`, { token: demo })).status, 403);
    assert.equal((await c.request('PATCH', `/v3/registered_limits/${reg.id}`, { token: admin, body: { registered_limit: { id: 'x' } } })).status, 400);
  });

  it('creates project and domain limits over a registered limit, and shows each project its own', async () => {
    const name = uniq('volumes');
    const reg = (await c.request('POST', '/v3/registered_limits', { token: admin, body: { registered_limits: [{ service_id: serviceId, resource_name: name, default_limit: 5 }] } })).body.registered_limits[0];

    const created = await c.request('POST', '/v3/limits', {
      token: admin,
      body: { limits: [
        { project_id: demoProjectId, service_id: serviceId, resource_name: name, resource_limit: 8, description: 'demo gets more' },
        { project_id: otherProjectId, service_id: serviceId, resource_name: name, resource_limit: 2 },
        { domain_id: 'default', service_id: serviceId, resource_name: name, resource_limit: 50 },
      ] },
    });
    assert.equal(created.status, 201);
    const [demoLimit, otherLimit, domainLimit] = created.body.limits;
    assert.deepEqual(Object.keys(demoLimit).sort(), ['description', 'domain_id', 'id', 'links', 'project_id', 'region_id', 'resource_limit', 'resource_name', 'service_id']);
    assert.equal(demoLimit.project_id, demoProjectId);
    assert.equal(demoLimit.domain_id, null);
    assert.equal(domainLimit.domain_id, 'default');
    assert.equal(domainLimit.project_id, null);
    assert.match(demoLimit.links.self, new RegExp(`/v3/limits/${demoLimit.id}$`));

    // No registered limit → 403; duplicate → 409; both targets → 400.
    const orphan = await c.request('POST', '/v3/limits', { token: admin, body: { limits: [{ project_id: demoProjectId, service_id: serviceId, resource_name: uniq('none'), resource_limit: 1 }] } });
    assert.equal(orphan.status, 403);
    assert.equal(orphan.body.error.title, 'Forbidden');
    assert.equal((await c.request('POST', '/v3/limits', { token: admin, body: { limits: [{ project_id: demoProjectId, service_id: serviceId, resource_name: name, resource_limit: 3 }] } })).status, 409);
    assert.equal((await c.request('POST', '/v3/limits', { token: admin, body: { limits: [{ project_id: demoProjectId, domain_id: 'default', service_id: serviceId, resource_name: name, resource_limit: 3 }] } })).status, 400);
    assert.equal((await c.request('POST', '/v3/limits', { token: admin, body: { limits: [{ service_id: serviceId, resource_name: name, resource_limit: 3 }] } })).status, 400);
    assert.equal((await c.request('POST', '/v3/limits', { token: admin, body: { limits: [{ project_id: uniq('noproj'), service_id: serviceId, resource_name: name, resource_limit: 3 }] } })).status, 400);
    assert.equal((await c.request('POST', '/v3/limits', { token: demo, body: { limits: [{ project_id: demoProjectId, service_id: serviceId, resource_name: uniq('x'), resource_limit: 3 }] } })).status, 403);

    // The registered limit is pinned while limits use it.
    assert.equal((await c.request('PATCH', `/v3/registered_limits/${reg.id}`, { token: admin, body: { registered_limit: { default_limit: 6 } } })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/registered_limits/${reg.id}`, { token: admin })).status, 403);

    // demo (member of demo) sees its own project's limit only.
    const mine = await c.request('GET', `/v3/limits?resource_name=${name}`, { token: demo });
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body.limits.map((l: { id: string }) => l.id), [demoLimit.id]);
    assert.equal((await c.request('GET', `/v3/limits/${demoLimit.id}`, { token: demo })).status, 200);
    assert.equal((await c.request('GET', `/v3/limits/${otherLimit.id}`, { token: demo })).status, 403);
    assert.equal((await c.request('GET', `/v3/limits/${domainLimit.id}`, { token: demo })).status, 403);
    assert.equal((await c.request('GET', `/v3/limits?project_id=${otherProjectId}`, { token: demo })).body.limits.length, 0);
    // The admin sees them all, and can filter.
    const all = await c.request('GET', `/v3/limits?resource_name=${name}`, { token: admin });
    assert.equal(all.body.limits.length, 3);
    const byProject = await c.request('GET', `/v3/limits?resource_name=${name}&project_id=${otherProjectId}`, { token: admin });
    assert.deepEqual(byProject.body.limits.map((l: { id: string }) => l.id), [otherLimit.id]);
    // A domain-scoped admin token sees the domain's projects and the domain.
    const domainTok = await c.request('POST', '/v3/auth/tokens', { body: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: c.cloud.admin.password } } }, scope: { domain: { id: 'default' } } } } });
    const inDomain = await c.request('GET', `/v3/limits?resource_name=${name}`, { token: domainTok.headers.get('x-subject-token')! });
    assert.equal(inDomain.body.limits.length, 3);

    const up = await c.request('PATCH', `/v3/limits/${demoLimit.id}`, { token: admin, body: { limit: { resource_limit: 0, description: null } } });
    assert.equal(up.status, 200);
    assert.equal(up.body.limit.resource_limit, 0);
    assert.equal(up.body.limit.description, null);
    assert.equal((await c.request('PATCH', `/v3/limits/${demoLimit.id}`, { token: admin, body: { limit: { resource_name: 'other' } } })).status, 400);
    assert.equal((await c.request('PATCH', `/v3/limits/${demoLimit.id}`, { token: admin, body: { limit: { resource_limit: '9' } } })).status, 400);
    assert.equal((await c.request('PATCH', `/v3/limits/${demoLimit.id}`, { token: demo, body: { limit: { resource_limit: 99 } } })).status, 403);
    assert.equal((await c.request('DELETE', `/v3/limits/${demoLimit.id}`, { token: demo })).status, 403);

    for (const l of [demoLimit, otherLimit, domainLimit]) assert.equal((await c.request('DELETE', `/v3/limits/${l.id}`, { token: admin })).status, 204);
    assert.equal((await c.request('GET', `/v3/limits/${demoLimit.id}`, { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/limits/${demoLimit.id}`, { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', `/v3/registered_limits/${reg.id}`, { token: admin })).status, 204);
  });

  it('serialises concurrent creates of the same limit (one wins, the rest conflict)', async () => {
    const name = uniq('race');
    const reg = await c.request('POST', '/v3/registered_limits', { token: admin, body: { registered_limits: [{ service_id: serviceId, resource_name: name, default_limit: 1 }] } });
    assert.equal(reg.status, 201);
    const body = { limits: [{ project_id: otherProjectId, service_id: serviceId, resource_name: name, resource_limit: 4 }] };
    const results = await Promise.all(Array.from({ length: 6 }, () => c.request('POST', '/v3/limits', { token: admin, body })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409]);
    assert.equal((await c.request('GET', `/v3/limits?resource_name=${name}`, { token: admin })).body.limits.length, 1);
  });
});
