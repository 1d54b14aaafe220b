import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

const EP = '/v3/OS-EP-FILTER';

describe('identity: endpoint groups and project endpoints (OS-EP-FILTER)', () => {
  let c: TestCloud;
  let admin: string;
  let demo: string;
  let serviceA: string;
  let serviceB: string;
  let endpoints: { a1: string; a2: string; b1: string };
  let projectId: string;

  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    demo = await c.token('demo', c.cloud.demo.password, 'demo');
    const svc = async () => (await c.request('POST', '/v3/services', { token: admin, body: { service: { type: uniq('type'), name: uniq('svc') } } })).body.service.id as string;
    serviceA = await svc();
    serviceB = await svc();
    const ep = async (service_id: string, iface: string) => {
      const r = await c.request('POST', '/v3/endpoints', { token: admin, body: { endpoint: { service_id, interface: iface, url: `http://${uniq('h')}.example/`, region_id: 'RegionOne' } } });
      assert.equal(r.status, 201);
      return r.body.endpoint.id as string;
    };
    endpoints = { a1: await ep(serviceA, 'public'), a2: await ep(serviceA, 'internal'), b1: await ep(serviceB, 'public') };
    projectId = (await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: uniq('eproj'), domain_id: 'default' } } })).body.project.id;
  });
  after(() => c.stop());

  const createGroup = (body: Record<string, unknown>) => c.request('POST', `${EP}/endpoint_groups`, { token: admin, body: { endpoint_group: body } });

  it('creates, lists, shows, checks and deletes an endpoint group (Tempest test_create_list_show_check_delete_endpoint_group)', async () => {
    const name = uniq('service_group');
    const r = await createGroup({ name, description: 'desc', filters: { service_id: serviceA } });
    assert.equal(r.status, 201);
    const g = r.body.endpoint_group;
    assert.match(g.id, /^[0-9a-f]{32}$/);
    assert.equal(g.name, name);
    assert.equal(g.description, 'desc');
    assert.deepEqual(g.filters, { service_id: serviceA });
    assert.ok(g.links.self.endsWith(`/v3/OS-EP-FILTER/endpoint_groups/${g.id}`));

    const list = await c.request('GET', `${EP}/endpoint_groups`, { token: admin });
    assert.equal(list.status, 200);
    assert.ok(list.body.endpoint_groups.some((x: unknown) => JSON.stringify(x) === JSON.stringify(g)), 'the listed group equals the created one');
    const byName = await c.request('GET', `${EP}/endpoint_groups?name=${name}`, { token: admin });
    assert.deepEqual(byName.body.endpoint_groups.map((x: { id: string }) => x.id), [g.id]);

    const shown = await c.request('GET', `${EP}/endpoint_groups/${g.id}`, { token: admin });
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body.endpoint_group, g);
    assert.equal((await c.request('HEAD', `${EP}/endpoint_groups/${g.id}`, { token: admin })).status, 200);

    assert.equal((await c.request('DELETE', `${EP}/endpoint_groups/${g.id}`, { token: admin })).status, 204);
    assert.equal((await c.request('GET', `${EP}/endpoint_groups/${g.id}`, { token: admin })).status, 404);
    assert.equal((await c.request('HEAD', `${EP}/endpoint_groups/${g.id}`, { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', `${EP}/endpoint_groups/${g.id}`, { token: admin })).status, 404);
  });

  it('updates an endpoint group (Tempest test_update_endpoint_group)', async () => {
    const g = (await createGroup({ name: uniq('g'), description: 'one', filters: { service_id: serviceA } })).body.endpoint_group;
    const up = await c.request('PATCH', `${EP}/endpoint_groups/${g.id}`, { token: admin, body: { endpoint_group: { name: 'two', description: 'two', filters: { service_id: serviceB } } } });
    assert.equal(up.status, 200);
    assert.equal(up.body.endpoint_group.name, 'two');
    assert.equal(up.body.endpoint_group.description, 'two');
    assert.equal(up.body.endpoint_group.filters.service_id, serviceB);
    const partial = await c.request('PATCH', `${EP}/endpoint_groups/${g.id}`, { token: admin, body: { endpoint_group: { description: null } } });
    assert.equal(partial.body.endpoint_group.description, null);
    assert.equal(partial.body.endpoint_group.name, 'two');
    assert.equal((await c.request('PATCH', `${EP}/endpoint_groups/${g.id}`, { token: admin, body: { endpoint_group: {} } })).status, 400);
    assert.equal((await c.request('PATCH', `${EP}/endpoint_groups/${g.id}`, { token: admin, body: { endpoint_group: { filters: { url: 'x' } } } })).status, 400);
    assert.equal((await c.request('PATCH', `${EP}/endpoint_groups/nope`, { token: admin, body: { endpoint_group: { name: 'x' } } })).status, 404);
  });

  it('validates endpoint groups', async () => {
    assert.equal((await createGroup({ name: 'x' })).status, 400);
    assert.equal((await createGroup({ name: 'x', filters: {} })).status, 400);
    assert.equal((await createGroup({ name: 'x', filters: { url: 'http://x' } })).status, 400);
    assert.equal((await createGroup({ filters: { interface: 'public' } })).status, 400);
    assert.equal((await createGroup({ name: 'x', filters: 'public' })).status, 400);
    const r = await c.request('POST', `${EP}/endpoint_groups`, { token: demo, body: { endpoint_group: { name: 'x', filters: { interface: 'public' } } } });
    assert.equal(r.status, 403);
    assert.equal((await c.request('GET', `${EP}/endpoint_groups`, { token: demo })).status, 403);
  });

  it('lists the endpoints a group selects', async () => {
    const g = (await createGroup({ name: uniq('g'), filters: { service_id: serviceA } })).body.endpoint_group;
    const r = await c.request('GET', `${EP}/endpoint_groups/${g.id}/endpoints`, { token: admin });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.endpoints.map((e: { id: string }) => e.id).sort(), [endpoints.a1, endpoints.a2].sort());
    assert.equal(r.body.endpoints[0].service_id, serviceA);
    const g2 = (await createGroup({ name: uniq('g'), filters: { service_id: serviceA, interface: 'internal' } })).body.endpoint_group;
    const r2 = await c.request('GET', `${EP}/endpoint_groups/${g2.id}/endpoints`, { token: admin });
    assert.deepEqual(r2.body.endpoints.map((e: { id: string }) => e.id), [endpoints.a2]);
    assert.equal((await c.request('GET', `${EP}/endpoint_groups/nope/endpoints`, { token: admin })).status, 404);
  });

  it('associates endpoint groups with projects', async () => {
    const g = (await createGroup({ name: uniq('g'), filters: { interface: 'public' } })).body.endpoint_group;
    const assoc = `${EP}/endpoint_groups/${g.id}/projects/${projectId}`;
    assert.equal((await c.request('GET', assoc, { token: admin })).status, 404);
    assert.equal((await c.request('PUT', assoc, { token: admin })).status, 204);
    assert.equal((await c.request('PUT', assoc, { token: admin })).status, 409);
    const shown = await c.request('GET', assoc, { token: admin });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.project_endpoint_group.endpoint_group_id, g.id);
    assert.equal(shown.body.project_endpoint_group.project_id, projectId);
    assert.ok(shown.body.project_endpoint_group.links.self.endsWith(`/OS-EP-FILTER/endpoint_groups/${g.id}/projects/${projectId}`));

    const projects = await c.request('GET', `${EP}/endpoint_groups/${g.id}/projects`, { token: admin });
    assert.deepEqual(projects.body.projects.map((p: { id: string }) => p.id), [projectId]);
    const groups = await c.request('GET', `${EP}/projects/${projectId}/endpoint_groups`, { token: admin });
    assert.deepEqual(groups.body.endpoint_groups.map((x: { id: string }) => x.id), [g.id]);
    const eps = await c.request('GET', `${EP}/projects/${projectId}/endpoints`, { token: admin });
    assert.ok(eps.body.endpoints.some((e: { id: string }) => e.id === endpoints.a1));
    assert.ok(eps.body.endpoints.some((e: { id: string }) => e.id === endpoints.b1));
    assert.ok(!eps.body.endpoints.some((e: { id: string }) => e.id === endpoints.a2));

    assert.equal((await c.request('PUT', `${EP}/endpoint_groups/${g.id}/projects/nope`, { token: admin })).status, 404);
    assert.equal((await c.request('PUT', `${EP}/endpoint_groups/nope/projects/${projectId}`, { token: admin })).status, 404);
    assert.equal((await c.request('GET', `${EP}/projects/nope/endpoint_groups`, { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', assoc, { token: admin })).status, 204);
    assert.equal((await c.request('DELETE', assoc, { token: admin })).status, 404);
    assert.deepEqual((await c.request('GET', `${EP}/projects/${projectId}/endpoint_groups`, { token: admin })).body.endpoint_groups, []);

    // Deleting a group removes its associations.
    await c.request('PUT', assoc, { token: admin });
    await c.request('DELETE', `${EP}/endpoint_groups/${g.id}`, { token: admin });
    assert.deepEqual((await c.request('GET', `${EP}/projects/${projectId}/endpoint_groups`, { token: admin })).body.endpoint_groups, []);
  });

  it('associates endpoints with projects directly', async () => {
    const p2 = (await c.request('POST', '/v3/projects', { token: admin, body: { project: { name: uniq('p2'), domain_id: 'default' } } })).body.project.id;
    const link = `${EP}/projects/${p2}/endpoints/${endpoints.a2}`;
    assert.equal((await c.request('GET', link, { token: admin })).status, 404);
    assert.equal((await c.request('PUT', link, { token: admin })).status, 204);
    assert.equal((await c.request('GET', link, { token: admin })).status, 204);
    assert.equal((await c.request('HEAD', link, { token: admin })).status, 204);
    const eps = await c.request('GET', `${EP}/projects/${p2}/endpoints`, { token: admin });
    assert.equal(eps.status, 200);
    assert.deepEqual(eps.body.endpoints.map((e: { id: string }) => e.id), [endpoints.a2]);
    assert.equal(eps.body.endpoints[0].interface, 'internal');
    const projects = await c.request('GET', `${EP}/endpoints/${endpoints.a2}/projects`, { token: admin });
    assert.equal(projects.status, 200);
    assert.deepEqual(projects.body.projects.map((p: { id: string }) => p.id), [p2]);

    assert.equal((await c.request('PUT', `${EP}/projects/${p2}/endpoints/nope`, { token: admin })).status, 404);
    assert.equal((await c.request('PUT', `${EP}/projects/nope/endpoints/${endpoints.a2}`, { token: admin })).status, 404);
    assert.equal((await c.request('GET', `${EP}/endpoints/nope/projects`, { token: admin })).status, 404);
    assert.equal((await c.request('GET', `${EP}/projects/nope/endpoints`, { token: admin })).status, 404);
    assert.equal((await c.request('PUT', link, { token: demo })).status, 403);

    assert.equal((await c.request('DELETE', link, { token: admin })).status, 204);
    assert.equal((await c.request('DELETE', link, { token: admin })).status, 404);
    assert.deepEqual((await c.request('GET', `${EP}/projects/${p2}/endpoints`, { token: admin })).body.endpoints, []);
    assert.deepEqual((await c.request('GET', `${EP}/endpoints/${endpoints.a2}/projects`, { token: admin })).body.projects, []);
  });
});
