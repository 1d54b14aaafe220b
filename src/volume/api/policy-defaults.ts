/** Cinder's base rules (secure RBAC personas); per-API rules live beside their routes. */
export const volumeBasePolicy: Record<string, string> = {
  context_is_admin: 'role:admin',
  admin_api: 'role:admin',
  project_member_api: 'role:member and project_id:%(project_id)s',
  project_reader_api: 'role:reader and project_id:%(project_id)s',
  project_member_or_admin: 'rule:project_member_api or rule:admin_api',
  project_reader_or_admin: 'rule:project_reader_api or rule:admin_api',
};
