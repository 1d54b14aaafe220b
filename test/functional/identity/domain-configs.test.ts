import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud, uniq, type TestCloud } from '../../helpers/cloud.js';

const customConfig = {
  identity: { driver: 'ldap' },
  ldap: { url: 'ldap://myldap.com:389/', user_tree_dn: 'ou=Users,dc=my_new_root,dc=org' },
};

describe('identity: domain configuration', () => {
  let c: TestCloud;
  let admin: string;
  let demo: string;
  before(async () => {
    c = await startTestCloud();
    admin = await c.adminToken();
    demo = await c.token('demo', c.cloud.demo.password, 'demo');
  });
  after(() => c.stop());

  const newDomain = async () => {
    const r = await c.request('POST', '/v3/domains', { token: admin, body: { domain: { name: uniq('dom') } } });
    assert.equal(r.status, 201);
    return r.body.domain.id as string;
  };
  const url = (d: string, ...rest: string[]) => ['/v3/domains', d, 'config', ...rest].join('/');

  it('shows the default config, groups and options (Tempest test_show_default_group_config_and_options)', async () => {
    const all = await c.request('GET', '/v3/domains/config/default', { token: admin });
    assert.equal(all.status, 200);
    assert.deepEqual(Object.keys(all.body.config).sort(), ['identity', 'ldap']);
    const identity = await c.request('GET', '/v3/domains/config/identity/default', { token: admin });
    assert.equal(identity.status, 200);
    assert.equal(identity.body.config.identity.driver, 'sql');
    assert.ok('list_limit' in identity.body.config.identity);
    for (const opt of ['driver', 'list_limit']) {
      const o = await c.request('GET', `/v3/domains/config/identity/${opt}/default`, { token: admin });
      assert.equal(o.status, 200);
      assert.deepEqual(Object.keys(o.body.config), [opt]);
    }
    const ldap = await c.request('GET', '/v3/domains/config/ldap/default', { token: admin });
    assert.equal(ldap.status, 200);
    assert.equal(ldap.body.config.ldap.url, 'ldap://localhost');
    assert.ok(!('password' in ldap.body.config.ldap));
    for (const opt of Object.keys(ldap.body.config.ldap)) {
      const o = await c.request('GET', `/v3/domains/config/ldap/${opt}/default`, { token: admin });
      assert.equal(o.status, 200, opt);
      assert.deepEqual(o.body.config, { [opt]: ldap.body.config.ldap[opt] });
    }
    assert.equal((await c.request('GET', '/v3/domains/config/ldap/password/default', { token: admin })).status, 403);
    assert.equal((await c.request('GET', '/v3/domains/config/nova/default', { token: admin })).status, 403);
    assert.equal((await c.request('GET', '/v3/domains/config/identity/nothing/default', { token: admin })).status, 403);
    assert.equal((await c.request('GET', '/v3/domains/config/default', { token: demo })).status, 403);
  });

  it('creates a config and shows it whole, by group and by option (Tempest test_create_domain_config_and_show_*)', async () => {
    const d = await newDomain();
    const r = await c.request('PUT', url(d), { token: admin, body: { config: customConfig } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.config, customConfig);
    assert.deepEqual((await c.request('GET', url(d), { token: admin })).body.config, customConfig);
    for (const [group, opts] of Object.entries(customConfig)) {
      const g = await c.request('GET', url(d, group), { token: admin });
      assert.equal(g.status, 200);
      assert.deepEqual(g.body.config, { [group]: opts });
      for (const [opt, value] of Object.entries(opts)) {
        const o = await c.request('GET', url(d, group, opt), { token: admin });
        assert.equal(o.status, 200);
        assert.deepEqual(o.body.config, { [opt]: value });
      }
    }
    // HEAD answers like GET.
    assert.equal((await c.request('HEAD', url(d, 'ldap'), { token: admin })).status, 200);
    // A second PUT replaces the whole config and answers 200.
    const again = await c.request('PUT', url(d), { token: admin, body: { config: { identity: { driver: 'sql' } } } });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.config, { identity: { driver: 'sql' } });
    assert.equal((await c.request('GET', url(d, 'ldap'), { token: admin })).status, 404);
  });

  it('updates and deletes the whole config (Tempest test_create_update_and_delete_domain_config)', async () => {
    const d = await newDomain();
    await c.request('PUT', url(d), { token: admin, body: { config: customConfig } });
    const changed = structuredClone(customConfig);
    changed.ldap.url = 'ldap://other.example.org/';
    const up = await c.request('PATCH', url(d), { token: admin, body: { config: changed } });
    assert.equal(up.status, 200);
    assert.deepEqual(up.body.config, changed);
    assert.deepEqual((await c.request('GET', url(d), { token: admin })).body.config, changed);
    assert.equal((await c.request('DELETE', url(d), { token: admin })).status, 204);
    const gone = await c.request('GET', url(d), { token: admin });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 404);
  });

  it('updates and deletes groups and options (Tempest test_create_update_and_delete_domain_config_groups_and_opts)', async () => {
    const d = await newDomain();
    await c.request('PUT', url(d), { token: admin, body: { config: customConfig } });
    const g = await c.request('PATCH', url(d, 'identity'), { token: admin, body: { config: { identity: { driver: 'drv-1', list_limit: 42 } } } });
    assert.equal(g.status, 200);
    assert.equal(g.body.config.identity.driver, 'drv-1');
    assert.equal(g.body.config.identity.list_limit, 42, 'option values keep their JSON type');
    assert.deepEqual(g.body.config.ldap, customConfig.ldap);
    const o = await c.request('PATCH', url(d, 'identity', 'driver'), { token: admin, body: { config: { driver: 'drv-2' } } });
    assert.equal(o.status, 200);
    assert.equal(o.body.config.identity.driver, 'drv-2');

    // The body must name exactly the group/option of the URL, which must exist.
    assert.equal((await c.request('PATCH', url(d, 'identity'), { token: admin, body: { config: { ldap: { url: 'x' } } } })).status, 403);
    assert.equal((await c.request('PATCH', url(d, 'identity', 'driver'), { token: admin, body: { config: { list_limit: 3 } } })).status, 403);
    assert.equal((await c.request('PATCH', url(d, 'ldap', 'suffix'), { token: admin, body: { config: { suffix: 'x' } } })).status, 404);

    assert.equal((await c.request('DELETE', url(d, 'identity', 'driver'), { token: admin })).status, 204);
    assert.equal((await c.request('GET', url(d, 'identity', 'driver'), { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', url(d, 'identity', 'driver'), { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', url(d, 'identity'), { token: admin })).status, 204);
    assert.equal((await c.request('GET', url(d, 'identity'), { token: admin })).status, 404);
    assert.equal((await c.request('DELETE', url(d, 'identity'), { token: admin })).status, 404);
    assert.deepEqual((await c.request('GET', url(d), { token: admin })).body.config, { ldap: customConfig.ldap });
  });

  it('never returns the sensitive ldap password', async () => {
    const d = await newDomain();
    const r = await c.request('PUT', url(d), { token: admin, body: { config: { ldap: { url: 'ldap://x/', user: 'cn=admin', password: 's3cret' } } } });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.config, { ldap: { url: 'ldap://x/', user: 'cn=admin' } });
    const shown = await c.request('GET', url(d), { token: admin });
    assert.ok(!JSON.stringify(shown.body).includes('s3cret'));
    assert.equal((await c.request('GET', url(d, 'ldap', 'password'), { token: admin })).status, 404);
    // It can still be updated and deleted.
    const up = await c.request('PATCH', url(d, 'ldap', 'password'), { token: admin, body: { config: { password: 'n3w' } } });
    assert.equal(up.status, 200);
    assert.ok(!JSON.stringify(up.body).includes('n3w'));
    assert.equal((await c.request('DELETE', url(d, 'ldap', 'password'), { token: admin })).status, 204);
    assert.equal((await c.request('DELETE', url(d, 'ldap', 'password'), { token: admin })).status, 404);
  });

  it('refuses unsupported groups and options with 403, unknown domains with 404, bad bodies with 400', async () => {
    const d = await newDomain();
    for (const config of [{ nova: { x: 1 } }, { identity: { color: 'red' } }, {}, { identity: {} }, { identity: 'sql' }]) {
      const r = await c.request('PUT', url(d), { token: admin, body: { config } });
      assert.equal(r.status, 403, JSON.stringify(config));
      assert.equal(r.body.error.code, 403);
    }
    assert.equal((await c.request('PUT', url(d), { token: admin, body: {} })).status, 403);
    assert.equal((await c.request('PUT', url(d), { token: admin, body: { config: 'ldap' } })).status, 400);
    assert.equal((await c.request('GET', url(d, 'nova'), { token: admin })).status, 403);
    assert.equal((await c.request('GET', url(d), { token: admin })).status, 404);
    assert.equal((await c.request('PUT', url('nosuchdomain'), { token: admin, body: { config: customConfig } })).status, 404);
    assert.equal((await c.request('GET', url('nosuchdomain'), { token: admin })).status, 404);
    assert.equal((await c.request('PUT', url(d), { token: demo, body: { config: customConfig } })).status, 403);
    assert.equal((await c.request('GET', url(d), { token: demo })).status, 403);
  });

  it('reads the security compliance group of the default domain', async () => {
    const r = await c.request('GET', url('default', 'security_compliance'), { token: demo });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body.config.security_compliance).sort(), ['password_regex', 'password_regex_description']);
    const o = await c.request('GET', url('default', 'security_compliance', 'password_regex'), { token: demo });
    assert.equal(o.status, 200);
    assert.ok('password_regex' in o.body.config);
    assert.equal((await c.request('GET', url('default', 'security_compliance', 'lockout_duration'), { token: demo })).status, 403);
    const d = await newDomain();
    assert.equal((await c.request('GET', url(d, 'security_compliance'), { token: admin })).status, 403);
  });

  it('drops a domain config with its domain', async () => {
    const d = await newDomain();
    await c.request('PUT', url(d), { token: admin, body: { config: customConfig } });
    await c.request('PATCH', `/v3/domains/${d}`, { token: admin, body: { domain: { enabled: false } } });
    assert.equal((await c.request('DELETE', `/v3/domains/${d}`, { token: admin })).status, 204);
    assert.equal((await c.request('GET', url(d), { token: admin })).status, 404);
  });
});
