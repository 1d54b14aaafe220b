import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The layering DESIGN.md asks for, checked on the TypeScript sources. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');
const SERVICES = ['identity', 'compute', 'placement', 'image', 'network', 'volume', 'object', 'orchestration', 'dashboard'];

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    out.push(relative(root, resolve(dirname(file), m[1])).replace(/\.js$/, '.ts'));
  }
  return out;
}

describe('module boundaries', () => {
  const violations: string[] = [];
  for (const file of files(root)) {
    const from = relative(root, file);
    const [area] = from.split('/');
    for (const to of imports(file)) {
      const [toArea] = to.split('/');
      if (area === 'core' && SERVICES.includes(toArea)) violations.push(`${from} → ${to}: core must not depend on a service`);
      if (SERVICES.includes(area) && SERVICES.includes(toArea) && toArea !== area && !to.endsWith('/client.ts')) {
        violations.push(`${from} → ${to}: services talk to each other only through client.ts`);
      }
      if (from.includes('/drivers/') && to.includes('/db/')) violations.push(`${from} → ${to}: drivers never touch the database`);
    }
  }
  it('core depends on no service; services only on each other\'s client.ts; drivers not on db/', () => {
    assert.deepEqual(violations, []);
  });
  it('keeps files small (no god files)', () => {
    const big = [...files(root)].map((f) => [relative(root, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 600);
    assert.deepEqual(big, []);
  });
});
