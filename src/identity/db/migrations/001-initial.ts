import type { Kysely, Migration } from 'kysely';

const text = 'text' as const;

/** The whole identity schema as of the first release. */
export const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('project')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('parent_id', 'varchar(64)')
      .addColumn('description', text)
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('is_domain', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .addUniqueConstraint('project_domain_name', ['domain_id', 'name'])
      .execute();
    await db.schema.createIndex('project_parent').on('project').column('parent_id').execute();
    await db.schema.createTable('project_tag')
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull().references('project.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_tag_pk', ['project_id', 'name'])
      .execute();

    await db.schema.createTable('user')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('default_project_id', 'varchar(64)')
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .addColumn('options', text, (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('last_active_at', 'varchar(32)')
      .addColumn('failed_auth_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed_auth_at', 'varchar(32)')
      .addUniqueConstraint('user_domain_name', ['domain_id', 'name'])
      .execute();
    await db.schema.createTable('password')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('hash', text, (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)')
      .addColumn('self_service', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('password_user').on('password').columns(['user_id', 'created_at']).execute();

    await db.schema.createTable('group')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(64)', (c) => c.notNull())
      .addColumn('description', text)
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .addUniqueConstraint('group_domain_name', ['domain_id', 'name'])
      .execute();
    await db.schema.createTable('user_group_membership')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('group_id', 'varchar(64)', (c) => c.notNull().references('group.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('membership_pk', ['user_id', 'group_id'])
      .execute();
    await db.schema.createIndex('membership_group').on('user_group_membership').column('group_id').execute();

    await db.schema.createTable('role')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('description', text)
      .addColumn('options', text, (c) => c.notNull().defaultTo('{}'))
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .addUniqueConstraint('role_name_domain', ['name', 'domain_id'])
      .execute();
    await db.schema.createTable('implied_role')
      .addColumn('prior_role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addColumn('implied_role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('implied_role_pk', ['prior_role_id', 'implied_role_id'])
      .execute();
    await db.schema.createTable('assignment')
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('actor_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('inherited', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('assignment_pk', ['type', 'actor_id', 'target_id', 'role_id', 'inherited'])
      .execute();
    await db.schema.createIndex('assignment_actor').on('assignment').column('actor_id').execute();
    await db.schema.createIndex('assignment_target').on('assignment').column('target_id').execute();
    await db.schema.createIndex('assignment_role').on('assignment').column('role_id').execute();

    await db.schema.createTable('region')
      .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('description', text, (c) => c.notNull().defaultTo(''))
      .addColumn('parent_region_id', 'varchar(255)')
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createTable('service')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(255)', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createTable('endpoint')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('service_id', 'varchar(64)', (c) => c.notNull().references('service.id').onDelete('cascade'))
      .addColumn('interface', 'varchar(8)', (c) => c.notNull())
      .addColumn('url', text, (c) => c.notNull())
      .addColumn('region_id', 'varchar(255)')
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createTable('endpoint_group')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('description', text)
      .addColumn('filters', text, (c) => c.notNull())
      .execute();
    await db.schema.createTable('project_endpoint_group')
      .addColumn('endpoint_group_id', 'varchar(64)', (c) => c.notNull().references('endpoint_group.id').onDelete('cascade'))
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_endpoint_group_pk', ['endpoint_group_id', 'project_id'])
      .execute();
    await db.schema.createTable('project_endpoint')
      .addColumn('endpoint_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('project_endpoint_pk', ['endpoint_id', 'project_id'])
      .execute();
    await db.schema.createTable('policy')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(255)', (c) => c.notNull())
      .addColumn('blob', text, (c) => c.notNull())
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .execute();

    await db.schema.createTable('credential')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)')
      .addColumn('type', 'varchar(255)', (c) => c.notNull())
      .addColumn('blob', text, (c) => c.notNull())
      .addColumn('access_key', 'varchar(255)')
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createIndex('credential_user').on('credential').column('user_id').execute();
    await db.schema.createIndex('credential_access_key').on('credential').column('access_key').execute();

    await db.schema.createTable('trust')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('trustor_user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('trustee_user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)')
      .addColumn('impersonation', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)')
      .addColumn('remaining_uses', 'integer')
      .addColumn('redelegated_trust_id', 'varchar(64)')
      .addColumn('redelegation_count', 'integer')
      .addColumn('deleted_at', 'varchar(32)')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createTable('trust_role')
      .addColumn('trust_id', 'varchar(64)', (c) => c.notNull().references('trust.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('trust_role_pk', ['trust_id', 'role_id'])
      .execute();

    await db.schema.createTable('application_credential')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('secret_hash', text, (c) => c.notNull())
      .addColumn('description', text)
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)')
      .addColumn('system', 'varchar(64)')
      .addColumn('expires_at', 'varchar(32)')
      .addColumn('unrestricted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addUniqueConstraint('app_cred_user_name', ['user_id', 'name'])
      .execute();
    await db.schema.createTable('application_credential_role')
      .addColumn('application_credential_id', 'varchar(64)', (c) => c.notNull().references('application_credential.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('app_cred_role_pk', ['application_credential_id', 'role_id'])
      .execute();
    await db.schema.createTable('access_rule')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('service', 'varchar(64)', (c) => c.notNull())
      .addColumn('path', 'varchar(128)', (c) => c.notNull())
      .addColumn('method', 'varchar(16)', (c) => c.notNull())
      .addUniqueConstraint('access_rule_unique', ['user_id', 'service', 'path', 'method'])
      .execute();
    await db.schema.createTable('application_credential_access_rule')
      .addColumn('application_credential_id', 'varchar(64)', (c) => c.notNull().references('application_credential.id').onDelete('cascade'))
      .addColumn('access_rule_id', 'varchar(64)', (c) => c.notNull().references('access_rule.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('app_cred_access_rule_pk', ['application_credential_id', 'access_rule_id'])
      .execute();

    await db.schema.createTable('consumer')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('description', text)
      .addColumn('secret', text, (c) => c.notNull())
      .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createTable('domain_config')
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('group', 'varchar(255)', (c) => c.notNull())
      .addColumn('option', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', text, (c) => c.notNull())
      .addColumn('sensitive', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('domain_config_pk', ['domain_id', 'group', 'option'])
      .execute();

    await db.schema.createTable('registered_limit')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('region_id', 'varchar(255)')
      .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('default_limit', 'integer', (c) => c.notNull())
      .addColumn('description', text)
      .execute();
    await db.schema.createTable('limit')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(64)')
      .addColumn('domain_id', 'varchar(64)')
      .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('region_id', 'varchar(255)')
      .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('resource_limit', 'integer', (c) => c.notNull())
      .addColumn('description', text)
      .execute();

    await db.schema.createTable('revocation_event')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('domain_id', 'varchar(64)')
      .addColumn('project_id', 'varchar(64)')
      .addColumn('user_id', 'varchar(64)')
      .addColumn('role_id', 'varchar(64)')
      .addColumn('trust_id', 'varchar(64)')
      .addColumn('consumer_id', 'varchar(64)')
      .addColumn('audit_id', 'varchar(64)')
      .addColumn('audit_chain_id', 'varchar(64)')
      .addColumn('issued_before', 'varchar(32)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('revoked_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    // Validation looks events up by these keys only, so the cost stays flat as events accumulate.
    for (const col of ['audit_id', 'user_id', 'project_id', 'domain_id', 'trust_id', 'audit_chain_id']) {
      await db.schema.createIndex(`revocation_${col}`).on('revocation_event').column(col).execute();
    }
    await db.schema.createIndex('revocation_expires').on('revocation_event').column('expires_at').execute();
  },
};
