import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config.js';

describe('config', () => {
  it('layers defaults < file < environment < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-cfg-'));
    writeFileSync(join(dir, 'nubo.yaml'), 'host: 0.0.0.0\nlogLevel: debug\nidentity:\n  tokenExpiration: 100\n  lockoutFailureAttempts: 3\n');
    const cfg = loadConfig({ dataDir: dir, identity: { lockoutFailureAttempts: 5 } }, { NUBO_LOG_LEVEL: 'warn', NUBO_TOKEN_EXPIRATION: '200' });
    assert.equal(cfg.host, '0.0.0.0');
    assert.equal(cfg.publicHost, '127.0.0.1');
    assert.equal(cfg.logLevel, 'warn');
    assert.equal(cfg.identity.tokenExpiration, 200);
    assert.equal(cfg.identity.lockoutFailureAttempts, 5);
    assert.equal(cfg.identity.region, 'RegionOne');
  });
  it('merges a partial ports map from the file with the defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-cfg-'));
    writeFileSync(join(dir, 'nubo.yaml'), 'ports:\n  identity: 5001\n');
    const cfg = loadConfig({ dataDir: dir }, {});
    assert.equal(cfg.ports.identity, 5001);
    assert.equal(cfg.ports.compute, 8774);
  });
  it('derives every port from --base-port', () => {
    const cfg = loadConfig({ dataDir: mkdtempSync(join(tmpdir(), 'nubo-cfg-')), basePort: 20000 }, {});
    assert.equal(cfg.ports.identity, 20000);
    assert.equal(cfg.ports.compute, 20001);
    assert.equal(cfg.ports.dashboard, 20008);
  });
  it('refuses unknown services and a missing explicit config file', () => {
    assert.throws(() => loadConfig({ dataDir: '/tmp', services: ['nope' as never] }, {}), /unknown service/);
    assert.throws(() => loadConfig({ dataDir: '/tmp', configFile: '/nonexistent/nubo.yaml' }, {}), /not found/);
  });
});
