/**
 * Glance's default policy rules (secure RBAC, as Glance Zed ships them). The project in these
 * rules is the image's owner; member_id is the caller's project when it sees a shared image
 * as a member. An operator's policy file overrides any of them.
 */
const PROJECT_MEMBER = 'role:member and project_id:%(project_id)s';
const PROJECT_READER = 'role:reader and project_id:%(project_id)s';
const IMAGE_MEMBER = 'project_id:%(member_id)s';
const COMMUNITY = "'community':%(visibility)s";
const PUBLIC = "'public':%(visibility)s";
const SHARED = "'shared':%(visibility)s";
const ADMIN_OR_PROJECT_MEMBER = `role:admin or (${PROJECT_MEMBER})`;
const ADMIN_OR_PROJECT_READER = `role:admin or (${PROJECT_READER})`;

export const imagePolicyDefaults: Record<string, string> = {
  default: '',
  context_is_admin: 'role:admin',
  add_image: `role:admin or (${PROJECT_MEMBER} and project_id:%(owner)s)`,
  delete_image: ADMIN_OR_PROJECT_MEMBER,
  get_image: `role:admin or (role:reader and (project_id:%(project_id)s or ${IMAGE_MEMBER} or ${COMMUNITY} or ${PUBLIC} or ${SHARED}))`,
  get_images: ADMIN_OR_PROJECT_READER,
  modify_image: ADMIN_OR_PROJECT_MEMBER,
  publicize_image: 'role:admin',
  communitize_image: ADMIN_OR_PROJECT_MEMBER,
  download_image: `role:admin or (role:member and (project_id:%(project_id)s or ${IMAGE_MEMBER} or ${COMMUNITY} or ${PUBLIC} or ${SHARED}))`,
  upload_image: ADMIN_OR_PROJECT_MEMBER,
  delete_image_location: 'role:admin',
  get_image_location: ADMIN_OR_PROJECT_READER,
  set_image_location: ADMIN_OR_PROJECT_MEMBER,
  add_member: ADMIN_OR_PROJECT_MEMBER,
  delete_member: ADMIN_OR_PROJECT_MEMBER,
  get_member: `role:admin or role:reader and (project_id:%(project_id)s or ${IMAGE_MEMBER})`,
  get_members: `role:admin or role:reader and (project_id:%(project_id)s or ${IMAGE_MEMBER})`,
  modify_member: `role:admin or (role:member and ${IMAGE_MEMBER})`,
  manage_image_cache: 'role:admin',
  deactivate: ADMIN_OR_PROJECT_MEMBER,
  reactivate: ADMIN_OR_PROJECT_MEMBER,
  copy_image: 'role:admin',
  stores_info_detail: 'role:admin',
  get_task: 'rule:default',
  get_tasks: 'rule:default',
  // metadata definitions: readable by project readers (public or own namespaces), managed by admins
  get_metadef_namespace: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  get_metadef_namespaces: ADMIN_OR_PROJECT_READER,
  modify_metadef_namespace: 'role:admin',
  add_metadef_namespace: 'role:admin',
  delete_metadef_namespace: 'role:admin',
  get_metadef_object: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  get_metadef_objects: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  modify_metadef_object: 'role:admin',
  add_metadef_object: 'role:admin',
  delete_metadef_object: 'role:admin',
  list_metadef_resource_types: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  get_metadef_resource_type: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  add_metadef_resource_type_association: 'role:admin',
  remove_metadef_resource_type_association: 'role:admin',
  get_metadef_property: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  get_metadef_properties: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  modify_metadef_property: 'role:admin',
  add_metadef_property: 'role:admin',
  remove_metadef_property: 'role:admin',
  get_metadef_tag: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  get_metadef_tags: `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC}))`,
  modify_metadef_tag: 'role:admin',
  add_metadef_tag: 'role:admin',
  add_metadef_tags: 'role:admin',
  delete_metadef_tag: 'role:admin',
  delete_metadef_tags: 'role:admin',
};
