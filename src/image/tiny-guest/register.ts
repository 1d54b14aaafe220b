import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readCloudsYaml } from '../../core/clouds-yaml.js';
import type { Logger } from '../../core/logger.js';
import { BUILDER_VERSION, IMAGE_NAMES, type TinyGuestBuild, type TinyGuestFile } from './builder.js';
import { createProgress, type Progress } from './progress.js';

/**
 * Registers a tiny guest build in the image service through the Glance v2 REST API, as any
 * client would: a token from Keystone with the credentials of a clouds.yaml entry, the
 * `image` endpoint from the token's catalog, then per image `POST /v2/images` and
 * `PUT /v2/images/{id}/file`. Four public images:
 *
 *   tinyos-kernel   aki/aki      the bzImage
 *   tinyos-ramdisk  ari/ari      the initramfs
 *   tinyos          ami/ami      the ext4 root filesystem, with kernel_id and ramdisk_id
 *   tinyos-disk     qcow2/bare   the whole-disk image
 *
 * An image of that name whose checksum (md5) matches is kept as it is (and reused for
 * kernel_id/ramdisk_id); older tinyos builds under the same name are hidden (os_hidden).
 */

export interface CloudTarget {
  /** clouds.yaml to read (the data dir's by default) */
  cloudsYaml: string;
  /** entry name (default nubo = admin) */
  cloud: string;
}

export interface RegisteredImage { name: string; id: string; reused: boolean }
export interface Registration { imageEndpoint: string; images: Record<keyof typeof IMAGE_NAMES, RegisteredImage> }

interface Session { token: string; imageUrl: string }
type Json = Record<string, unknown>;

async function api(s: Session, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: Json | undefined; text: string }> {
  const r = await fetch(`${s.imageUrl}${path}`, {
    method,
    headers: { 'x-auth-token': s.token, accept: 'application/json', ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await r.text();
  let json: Json | undefined;
  try { json = text ? (JSON.parse(text) as Json) : undefined; } catch { json = undefined; }
  return { status: r.status, json, text };
}

function fail(what: string, r: { status: number; text: string }): never {
  throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
}

/** Reads the credentials of `cloud` from clouds.yaml; throws a readable error when absent. */
export function cloudCredentials(t: CloudTarget) {
  const entry = readCloudsYaml(t.cloudsYaml).clouds[t.cloud];
  if (!entry?.auth?.auth_url) throw new Error(`no cloud '${t.cloud}' with auth_url in ${t.cloudsYaml}`);
  return entry;
}

/** Whether the cloud's identity endpoint answers at all (for "register when a cloud is reachable"). */
export async function cloudReachable(t: CloudTarget): Promise<boolean> {
  try {
    const url = cloudCredentials(t).auth.auth_url;
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await r.arrayBuffer();
    return r.status < 500;
  } catch {
    return false;
  }
}

/** Password authentication (project scope) and the image endpoint from the catalog. */
export async function openSession(t: CloudTarget): Promise<Session> {
  const c = cloudCredentials(t);
  const base = c.auth.auth_url.replace(/\/+$/, '');
  const url = /\/v3$/.test(base) ? `${base}/auth/tokens` : `${base}/v3/auth/tokens`;
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: c.auth.username, domain: { name: c.auth.user_domain_name ?? 'Default' }, password: c.auth.password } } },
        scope: { project: { name: c.auth.project_name, domain: { name: c.auth.project_domain_name ?? 'Default' } } },
      },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  if (r.status !== 201) fail(`authentication as ${c.auth.username} at ${url}`, { status: r.status, text });
  const token = r.headers.get('x-subject-token')!;
  const catalog = ((JSON.parse(text) as { token: { catalog?: Array<{ type: string; endpoints: Array<{ interface: string; region?: string; region_id?: string; url: string }> }> } }).token.catalog) ?? [];
  const svc = catalog.find((e) => e.type === 'image');
  if (!svc) throw new Error(`the cloud '${t.cloud}' has no image service in its catalog (is the image service running?)`);
  const want = c.interface ?? 'public';
  const ep = svc.endpoints.find((e) => e.interface === want && (!c.region_name || (e.region_id ?? e.region) === c.region_name))
    ?? svc.endpoints.find((e) => e.interface === want) ?? svc.endpoints[0];
  if (!ep) throw new Error(`the image service of cloud '${t.cloud}' lists no endpoint`);
  // Glance's catalog URL is the service root (no version); /v2 is added here
  return { token, imageUrl: ep.url.replace(/\/+$/, '').replace(/\/v2(\.\d+)?$/, '') + '/v2' };
}

/** Streams a file as the image's data (PUT /v2/images/{id}/file), reporting progress. */
function upload(s: Session, id: string, path: string, onProgress: (done: number, total: number) => void): Promise<void> {
  const total = statSync(path).size;
  const url = new URL(`${s.imageUrl}/images/${id}/file`);
  const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
    method: 'PUT',
    headers: { 'x-auth-token': s.token, 'content-type': 'application/octet-stream', 'content-length': String(total) },
  });
  return new Promise((resolve, reject) => {
    let done = 0;
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => (res.statusCode === 204 || res.statusCode === 200 ? resolve() : reject(new Error(`upload of ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))));
    });
    req.on('error', reject);
    const rs = createReadStream(path, { highWaterMark: 1024 * 1024 });
    rs.on('data', (c) => { done += (c as Buffer).length; onProgress(done, total); });
    rs.on('error', (e) => { req.destroy(e); reject(e); });
    rs.pipe(req);
  });
}

interface ImageSpec { key: keyof typeof IMAGE_NAMES; file: TinyGuestFile; disk_format: string; container_format: string; props: Record<string, string>; min_disk?: number }

const listImages = async (s: Session, name: string): Promise<Json[]> => {
  const r = await api(s, 'GET', `/images?name=${encodeURIComponent(name)}&limit=100`);
  if (r.status !== 200) fail(`listing images named ${name}`, r);
  return (r.json?.images as Json[]) ?? [];
};

async function ensureImage(s: Session, spec: ImageSpec, progress: Progress, log?: Logger): Promise<RegisteredImage> {
  const name = IMAGE_NAMES[spec.key];
  return progress.step(`image ${name} (${spec.disk_format}/${spec.container_format}, ${(spec.file.bytes / 1e6).toFixed(1)} MB)`, async (h) => {
    const same = (await listImages(s, name)).filter((i) => i.status === 'active' && i.checksum === spec.file.md5 &&
      Object.entries(spec.props).filter(([k]) => k === 'kernel_id' || k === 'ramdisk_id').every(([k, v]) => i[k] === v));
    if (same.length) {
      h.note(`already registered as ${same[0].id as string}`);
      return { name, id: same[0].id as string, reused: true };
    }
    const created = await api(s, 'POST', '/images', {
      name, disk_format: spec.disk_format, container_format: spec.container_format, visibility: 'public',
      min_ram: 128, min_disk: spec.min_disk ?? 0, tags: ['tinyos', 'nubo'], ...spec.props,
    });
    if (created.status !== 201) fail(`creating image ${name}`, created);
    const id = created.json!.id as string;
    try {
      await upload(s, id, spec.file.path, (d, t) => h.percent(d, t, `uploading ${name}`));
      const shown = await api(s, 'GET', `/images/${id}`);
      if (shown.status !== 200) fail(`reading image ${id} back`, shown);
      if (shown.json!.status !== 'active') throw new Error(`image ${name} (${id}) is ${String(shown.json!.status)} after its upload, not active`);
      if (shown.json!.checksum && shown.json!.checksum !== spec.file.md5) {
        throw new Error(`image ${name} (${id}) has checksum ${String(shown.json!.checksum)}, the file ${spec.file.md5}`);
      }
    } catch (e) {
      await api(s, 'DELETE', `/images/${id}`).catch(() => undefined);
      throw e;
    }
    // older tinyos builds under this name: keep them (servers may use them) but out of default lists
    for (const old of await listImages(s, name)) {
      if (old.id === id || old.os_hidden === true || !(old.tags as string[] | undefined)?.includes('tinyos')) continue;
      const r = await api(s, 'PATCH', `/images/${old.id as string}`, [{ op: 'replace', path: '/os_hidden', value: true }], 'application/openstack-images-v2.1-json-patch');
      if (r.status !== 200) log?.warn({ image: old.id, status: r.status }, 'could not hide an older tinyos image');
    }
    h.note(`registered as ${id}`);
    return { name, id, reused: false };
  });
}

/** Registers (or finds) the four tinyos images; returns their ids. */
export async function registerTinyGuest(build: TinyGuestBuild, target: CloudTarget, o: { logger?: Logger; out?: NodeJS.WritableStream & { isTTY?: boolean }; progress?: Progress } = {}): Promise<Registration> {
  const progress = o.progress ?? createProgress({ logger: o.logger, out: o.out });
  const s = await progress.step(`signing in to cloud '${target.cloud}' (${target.cloudsYaml})`, async (h) => {
    const sess = await openSession(target);
    h.note(`image endpoint ${sess.imageUrl}`);
    return sess;
  });
  const common = {
    os_distro: 'tinyos', os_version: String(BUILDER_VERSION), os_type: 'linux', architecture: 'x86_64', os_admin_user: 'root',
    hw_disk_bus: 'virtio', hw_vif_model: 'virtio', hw_rng_model: 'virtio', hw_machine_type: 'pc',
    tinyos_build: build.key, tinyos_kernel: build.kernelRelease,
  };
  const kernel = await ensureImage(s, { key: 'kernel', file: build.kernel, disk_format: 'aki', container_format: 'aki', props: { ...common } }, progress, o.logger);
  const ramdisk = await ensureImage(s, { key: 'ramdisk', file: build.ramdisk, disk_format: 'ari', container_format: 'ari', props: { ...common } }, progress, o.logger);
  const machine = await ensureImage(s, {
    key: 'machine', file: build.rootfs, disk_format: 'ami', container_format: 'ami',
    props: { ...common, kernel_id: kernel.id, ramdisk_id: ramdisk.id, os_command_line: build.cmdline.uec },
  }, progress, o.logger);
  const disk = await ensureImage(s, {
    key: 'disk', file: build.disk, disk_format: 'qcow2', container_format: 'bare', min_disk: Math.ceil(build.disk.virtualBytes / 1024 ** 3),
    props: { ...common, hw_firmware_type: 'bios' },
  }, progress, o.logger);
  return { imageEndpoint: s.imageUrl, images: { kernel, ramdisk, machine, disk } };
}
