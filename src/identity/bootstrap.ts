import { randomBytes } from 'node:crypto';
import type { NuboConfig, ServiceName } from '../core/config.js';
import type { IdentityServices } from './service/index.js';

/** Catalog entries for Nubo's own services: type, name and the path after host:port. */
const CATALOG: Partial<Record<ServiceName, { type: string; name: string; path: string }>> = {
  identity: { type: 'identity', name: 'keystone', path: '/v3' },
  compute: { type: 'compute', name: 'nova', path: '/v2.1' },
  placement: { type: 'placement', name: 'placement', path: '' },
  image: { type: 'image', name: 'glance', path: '' },
  network: { type: 'network', name: 'neutron', path: '' },
  volume: { type: 'block-storage', name: 'cinder', path: '/v3/$(project_id)s' },
  object: { type: 'object-store', name: 'swift', path: '/v1/AUTH_$(project_id)s' },
  orchestration: { type: 'orchestration', name: 'heat', path: '/v1/$(project_id)s' },
};

/** More catalog services on the same endpoint, as devstack registers Cinder (Tempest and older clients look for volumev3). */
const ALIASES: Partial<Record<ServiceName, { type: string; name: string }[]>> = {
  volume: [{ type: 'volumev3', name: 'cinderv3' }],
};

export interface BootstrapResult {
  adminPassword: string;
  demoPassword: string;
  adminProjectId: string;
  demoProjectId: string;
  /** True on the very first start (passwords were just chosen). */
  created: boolean;
}

export const generatePassword = () => randomBytes(12).toString('base64url');

/**
 * First start: the Default domain, admin/member/reader roles (admin implies member implies
 * reader), the admin and demo projects and users. Every start: the catalog endpoints of the
 * enabled services, so a changed port or host is reflected. Idempotent.
 */
export async function bootstrapIdentity(s: IdentityServices, cfg: NuboConfig, known: { adminPassword?: string; demoPassword?: string }): Promise<BootstrapResult> {
  let created = false;
  if (!(await s.projects.get('default'))) {
    created = true;
    await s.projects.createDomain({ id: 'default', name: 'Default', description: 'The default domain' });
  }
  const role = async (name: string) => (await s.roles.findByName(name)) ?? s.roles.create({ name });
  const admin = await role('admin');
  const member = await role('member');
  const reader = await role('reader');
  await role('service');
  // Swift's reseller admin (any account, account quotas), as keystoneauth's reseller_admin_role.
  if (cfg.services.includes('object')) await role('ResellerAdmin');
  await s.roles.addImplied(admin.id, member.id).catch(() => undefined);
  await s.roles.addImplied(member.id, reader.id).catch(() => undefined);

  const project = async (name: string, description: string) =>
    (await s.projects.findByName(name, 'default')) ?? s.projects.createProject({ name, domainId: 'default', description });
  const adminProject = await project('admin', 'Bootstrap project for initializing the cloud.');
  const demoProject = await project('demo', 'A project for trying the cloud as a member.');
  await project('service', 'Service users\' project.');

  const adminPassword = cfg.identity.adminPassword ?? known.adminPassword ?? generatePassword();
  const demoPassword = known.demoPassword ?? generatePassword();
  let adminUser = await s.users.findByName('admin', 'default');
  if (!adminUser) {
    adminUser = await s.users.create({ name: 'admin', domainId: 'default', password: adminPassword, defaultProjectId: adminProject.id, options: { ignore_lockout_failure_attempts: true } });
  } else if (cfg.identity.adminPassword && known.adminPassword !== cfg.identity.adminPassword) {
    // An operator-set password wins over the stored one, as keystone-manage bootstrap does.
    await s.users.update(adminUser.id, { password: cfg.identity.adminPassword });
  }
  let demoUser = await s.users.findByName('demo', 'default');
  if (!demoUser) demoUser = await s.users.create({ name: 'demo', domainId: 'default', password: demoPassword, defaultProjectId: demoProject.id });

  await s.assignments.grant({ user: adminUser.id }, { project: adminProject.id }, admin.id);
  await s.assignments.grant({ user: adminUser.id }, { system: 'all' }, admin.id);
  await s.assignments.grant({ user: adminUser.id }, { domain: 'default' }, admin.id);
  await s.assignments.grant({ user: demoUser.id }, { project: demoProject.id }, member.id);

  await registerEndpoints(s, cfg);
  s.tokens.adminProjectId = adminProject.id;
  return { adminPassword, demoPassword, adminProjectId: adminProject.id, demoProjectId: demoProject.id, created };
}

async function registerEndpoints(s: IdentityServices, cfg: NuboConfig): Promise<void> {
  const region = cfg.identity.region;
  if (!(await s.catalog.listRegions({})).some((r) => r.id === region)) await s.catalog.createRegion({ id: region });
  for (const name of cfg.services) {
    const main = CATALOG[name];
    if (!main) continue;
    for (const entry of [main, ...(ALIASES[name] ?? [])]) {
      const url = `http://${cfg.publicHost}:${cfg.ports[name]}${main.path}`;
      const service = (await s.catalog.listServices({ type: entry.type }))[0] ?? (await s.catalog.createService({ type: entry.type, name: entry.name, description: `Nubo ${name}` }));
      const existing = await s.catalog.listEndpoints({ serviceId: service.id });
      for (const iface of ['public', 'internal', 'admin']) {
        const ep = existing.find((e) => e.interface === iface && e.regionId === region);
        if (!ep) await s.catalog.createEndpoint({ serviceId: service.id, interface: iface, url, regionId: region });
        else if (ep.url !== url) await s.catalog.updateEndpoint(ep.id, { url });
      }
    }
  }
}
