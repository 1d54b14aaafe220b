/**
 * Nova's base policy rules (secure RBAC personas: admin, member, reader per project). The
 * per-API rules live beside their routes and are merged into this map by the module.
 */
export const computeBasePolicy: Record<string, string> = {
  context_is_admin: 'role:admin',
  admin_api: 'role:admin',
  project_member_api: 'role:member and project_id:%(project_id)s',
  project_reader_api: 'role:reader and project_id:%(project_id)s',
  project_member_or_admin: 'rule:project_member_api or rule:admin_api',
  project_reader_or_admin: 'rule:project_reader_api or rule:admin_api',
  admin_or_owner: 'is_admin:True or project_id:%(project_id)s',
};
