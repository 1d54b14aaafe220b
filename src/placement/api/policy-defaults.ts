/**
 * Placement's default policy (Zed): everything but the root document is for admins (nova and
 * other services call with an admin/service token). An operator's policy file overrides them.
 */
const ADMIN = 'rule:admin_api';
const RULES = [
  'resource_providers:list', 'resource_providers:create', 'resource_providers:show', 'resource_providers:update', 'resource_providers:delete',
  'resource_classes:list', 'resource_classes:create', 'resource_classes:show', 'resource_classes:update', 'resource_classes:delete',
  'resource_providers:inventories:list', 'resource_providers:inventories:create', 'resource_providers:inventories:show',
  'resource_providers:inventories:update', 'resource_providers:inventories:delete',
  'resource_providers:aggregates:list', 'resource_providers:aggregates:update',
  'resource_providers:usages', 'usages',
  'traits:list', 'traits:show', 'traits:update', 'traits:delete',
  'resource_providers:traits:list', 'resource_providers:traits:update', 'resource_providers:traits:delete',
  'allocations:manage', 'allocations:update', 'allocations:list', 'allocations:delete', 'resource_providers:allocations:list',
  'allocation_candidates:list', 'reshaper:reshape',
];
export const placementPolicyDefaults: Record<string, string> = {
  admin_api: 'role:admin',
  ...Object.fromEntries(RULES.map((r) => [`placement:${r}`, ADMIN])),
};
