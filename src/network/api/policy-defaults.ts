/**
 * Neutron's base rules. Visibility (owner, shared, external, RBAC) is decided in the service
 * layer as Neutron's DB layer does; these rules gate the actions and admin-only attributes.
 */
export const networkBasePolicy: Record<string, string> = {
  context_is_admin: 'role:admin',
  admin_only: 'rule:context_is_admin',
  owner: 'project_id:%(project_id)s',
  admin_or_owner: 'rule:context_is_admin or rule:owner',
  regular_user: '',
};
