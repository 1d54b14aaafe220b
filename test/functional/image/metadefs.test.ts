import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertGlanceError, startImageCloud, type ImageCloud } from '../../helpers/image.js';

describe('image: metadata definitions (metadefs)', () => {
  let t: ImageCloud;
  const NS = '/v2/metadefs/namespaces';
  before(async () => { t = await startImageCloud(); });
  after(() => t.stop());

  it('serves the ten metadef schemas', async () => {
    const names: Record<string, string> = {
      namespace: 'namespace', namespaces: 'namespaces', object: 'object', objects: 'objects', property: 'property', properties: 'properties',
      tag: 'tag', tags: 'tags', resource_type: 'resource_type_association', resource_types: 'resource_type_associations',
    };
    for (const [path, name] of Object.entries(names)) {
      const r = await t.img('GET', `/v2/schemas/metadefs/${path}`, { token: t.a.reader });
      assert.equal(r.status, 200, path);
      assert.equal(r.body.name, name);
    }
    const ns = (await t.img('GET', '/v2/schemas/metadefs/namespaces', { token: t.a.reader })).body;
    assert.ok(ns.definitions.property, 'item definitions move to the collection');
  });

  it('creates a namespace with its contents, shows and lists it, protects it from deletion', async () => {
    const create = await t.img('POST', NS, {
      token: t.admin,
      body: {
        namespace: 'OS::Compute::Test', display_name: 'Test', description: 'd', visibility: 'public', protected: true,
        resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'hw_' }],
        properties: { cpu_policy: { title: 'CPU policy', type: 'string', enum: ['shared', 'dedicated'] } },
        objects: [{ name: 'Sizes', description: 'x', properties: { cores: { title: 'Cores', type: 'integer' } } }],
        tags: [{ name: 'fast' }],
      },
    });
    assert.equal(create.status, 201, JSON.stringify(create.body));
    assert.equal(create.body.self, `${NS}/OS::Compute::Test`);
    assert.equal(create.body.owner, t.adminProject);
    assert.deepEqual(create.body.properties.cpu_policy.enum, ['shared', 'dedicated']);
    assert.equal(create.body.objects[0].name, 'Sizes');
    assert.deepEqual(create.body.tags, [{ name: 'fast' }]);
    assert.equal(create.body.resource_type_associations[0].prefix, 'hw_');
    assertGlanceError(await t.img('POST', NS, { token: t.admin, body: { namespace: 'OS::Compute::Test' } }), 409);
    // readers of any project see public namespaces; members may not create them
    const shown = await t.img('GET', `${NS}/OS::Compute::Test`, { token: t.b.reader });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.visibility, 'public');
    assertGlanceError(await t.img('POST', NS, { token: t.a.member, body: { namespace: 'mine' } }), 403);
    const list = await t.img('GET', `${NS}?resource_types=OS::Glance::Image`, { token: t.a.reader });
    assert.deepEqual(list.body.namespaces.map((n: { namespace: string }) => n.namespace), ['OS::Compute::Test']);
    assert.equal(list.body.schema, '/v2/schemas/metadefs/namespaces');
    assertGlanceError(await t.img('DELETE', `${NS}/OS::Compute::Test`, { token: t.admin }), 403, 'is protected and cannot be deleted');
    const up = await t.img('PUT', `${NS}/OS::Compute::Test`, { token: t.admin, body: { namespace: 'OS::Compute::Test', visibility: 'private', protected: false } });
    assert.equal(up.status, 200);
    assert.equal(up.body.visibility, 'private');
    assert.equal(up.body.protected, false);
    // private now: another project's reader no longer sees it
    assertGlanceError(await t.img('GET', `${NS}/OS::Compute::Test`, { token: t.b.reader }), 404, 'was not found');
    assert.equal((await t.img('DELETE', `${NS}/OS::Compute::Test`, { token: t.admin })).status, 204);
    assertGlanceError(await t.img('GET', `${NS}/OS::Compute::Test`, { token: t.admin }), 404);
  });

  it('manages objects, properties, tags and resource type associations', async () => {
    assert.equal((await t.img('POST', NS, { token: t.admin, body: { namespace: 'n1', visibility: 'public' } })).status, 201);
    const base = `${NS}/n1`;
    const obj = await t.img('POST', `${base}/objects`, { token: t.admin, body: { name: 'o1', properties: { p: { title: 'P', type: 'string' } } } });
    assert.equal(obj.status, 201);
    assert.equal(obj.body.self, `${base}/objects/o1`);
    assertGlanceError(await t.img('POST', `${base}/objects`, { token: t.admin, body: { name: 'o1' } }), 409);
    const renamed = await t.img('PUT', `${base}/objects/o1`, { token: t.admin, body: { name: 'o2' } });
    assert.equal(renamed.body.name, 'o2');
    assert.deepEqual((await t.img('GET', `${base}/objects`, { token: t.a.reader })).body.objects.map((o: { name: string }) => o.name), ['o2']);
    assert.equal((await t.img('DELETE', `${base}/objects/o2`, { token: t.admin })).status, 204);
    assertGlanceError(await t.img('GET', `${base}/objects/o2`, { token: t.admin }), 404);

    const prop = await t.img('POST', `${base}/properties`, { token: t.admin, body: { name: 'hypervisor', title: 'Hypervisor', type: 'string', enum: ['kvm', 'qemu'] } });
    assert.equal(prop.status, 201);
    assert.deepEqual(prop.body, { name: 'hypervisor', title: 'Hypervisor', type: 'string', enum: ['kvm', 'qemu'] });
    assertGlanceError(await t.img('POST', `${base}/properties`, { token: t.admin, body: { name: 'bad', title: 'Bad', type: 'float' } }), 400);
    assertGlanceError(await t.img('POST', `${base}/properties`, { token: t.admin, body: { name: 'bad', type: 'string' } }), 400, "'title' is a required property");
    const list = await t.img('GET', `${base}/properties`, { token: t.a.reader });
    assert.deepEqual(Object.keys(list.body.properties), ['hypervisor']);
    const upd = await t.img('PUT', `${base}/properties/hypervisor`, { token: t.admin, body: { name: 'hypervisor', title: 'HV', type: 'string' } });
    assert.equal(upd.body.title, 'HV');
    assert.equal((await t.img('DELETE', `${base}/properties/hypervisor`, { token: t.admin })).status, 204);
    assertGlanceError(await t.img('DELETE', `${base}/properties/hypervisor`, { token: t.admin }), 404);

    const tags = await t.img('POST', `${base}/tags`, { token: t.admin, body: { tags: [{ name: 'a' }, { name: 'b' }] } });
    assert.equal(tags.status, 201);
    assert.equal((await t.img('POST', `${base}/tags/c`, { token: t.admin })).status, 201);
    assertGlanceError(await t.img('POST', `${base}/tags/c`, { token: t.admin }), 409);
    assert.equal((await t.img('PUT', `${base}/tags/c`, { token: t.admin, body: { name: 'd' } })).body.name, 'd');
    assert.deepEqual((await t.img('GET', `${base}/tags`, { token: t.a.reader })).body.tags.map((x: { name: string }) => x.name).sort(), ['a', 'b', 'd']);
    await t.img('POST', `${base}/tags`, { token: t.admin, body: { tags: [{ name: 'z' }] } });
    assert.deepEqual((await t.img('GET', `${base}/tags`, { token: t.admin })).body.tags.map((x: { name: string }) => x.name), ['z']);
    assert.equal((await t.img('DELETE', `${base}/tags`, { token: t.admin })).status, 204);
    assert.deepEqual((await t.img('GET', `${base}/tags`, { token: t.admin })).body.tags, []);

    const types = await t.img('GET', '/v2/metadefs/resource_types', { token: t.a.reader });
    assert.ok(types.body.resource_types.some((r: { name: string }) => r.name === 'OS::Glance::Image'));
    const assoc = await t.img('POST', `${base}/resource_types`, { token: t.admin, body: { name: 'OS::Nova::Flavor', prefix: 'hw:' } });
    assert.equal(assoc.status, 201);
    assert.equal(assoc.body.prefix, 'hw:');
    assertGlanceError(await t.img('POST', `${base}/resource_types`, { token: t.admin, body: { name: 'OS::Nova::Flavor' } }), 409);
    assert.deepEqual((await t.img('GET', `${base}/resource_types`, { token: t.admin })).body.resource_type_associations.map((a: { name: string }) => a.name), ['OS::Nova::Flavor']);
    assertGlanceError(await t.img('DELETE', `${base}/resource_types/OS::Nova::Flavor`, { token: t.a.member }), 403);
    assert.equal((await t.img('DELETE', `${base}/resource_types/OS::Nova::Flavor`, { token: t.admin })).status, 204);
    assertGlanceError(await t.img('DELETE', `${base}/resource_types/OS::Nova::Flavor`, { token: t.admin }), 404);
    assert.equal((await t.img('DELETE', base, { token: t.admin })).status, 204);
  });
});
