import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dropSchemas, startTestCloud, TEST_DATABASE, uniq } from '../../helpers/cloud.js';

describe('identity: state survives a restart', () => {
  it('keeps projects, passwords, tokens and revocations across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nubo-restart-'));
    const schemaPrefix = TEST_DATABASE ? `t${randomBytes(4).toString('hex')}_` : undefined;
    try {
      let c = await startTestCloud({ dataDir, schemaPrefix });
      const admin = await c.adminToken();
      const name = uniq('keep');
      const created = await c.request('POST', '/v3/projects', { token: admin, body: { project: { name } } });
      assert.equal(created.status, 201);
      const revoked = await c.adminToken();
      assert.equal((await c.request('DELETE', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': revoked } })).status, 204);
      const password = c.cloud.admin.password;
      await c.stop();
      assert.equal(statSync(join(dataDir, 'fernet-keys', '1')).mode & 0o777, 0o600);

      c = await startTestCloud({ dataDir, schemaPrefix });
      try {
        assert.equal(c.cloud.admin.password, password);
        const again = await c.request('GET', `/v3/projects/${created.body.project.id}`, { token: admin });
        assert.equal(again.status, 200, 'a token from before the restart still works');
        assert.equal(again.body.project.name, name);
        assert.equal((await c.request('GET', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': revoked } })).status, 404);
      } finally {
        await c.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      if (schemaPrefix) await dropSchemas(schemaPrefix);
    }
  });
});
