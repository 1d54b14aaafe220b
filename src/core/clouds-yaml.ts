import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';

export interface CloudEntry {
  auth: { auth_url: string; username: string; password: string; project_name: string; user_domain_name: string; project_domain_name: string };
  region_name: string;
  interface: string;
  identity_api_version: number;
}

/** Reads a clouds.yaml (empty when missing). */
export function readCloudsYaml(path: string): { clouds: Record<string, CloudEntry> } {
  if (!existsSync(path)) return { clouds: {} };
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as { clouds?: Record<string, CloudEntry> };
  return { ...doc, clouds: doc.clouds ?? {} };
}

/** Sets entries in a clouds.yaml, keeping every other cloud in it; written atomically, mode 0600. */
export function upsertClouds(path: string, entries: Record<string, CloudEntry>): void {
  const doc = readCloudsYaml(path);
  doc.clouds = { ...doc.clouds, ...entries };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, stringify(doc), { mode: 0o600 });
  renameSync(tmp, path);
}
