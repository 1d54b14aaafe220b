/**
 * Identity's tables (Kysely types). Booleans are 0/1 integers and timestamps ISO-8601 text
 * on both SQLite and PostgreSQL, so the same queries run on both. JSON is stored as text.
 */
export interface IdentityDB {
  project: ProjectRow;
  project_tag: { project_id: string; name: string };
  user: UserRow;
  password: PasswordRow;
  group: { id: string; domain_id: string; name: string; description: string | null; extra: string };
  user_group_membership: { user_id: string; group_id: string };
  role: RoleRow;
  implied_role: { prior_role_id: string; implied_role_id: string };
  assignment: AssignmentRow;
  region: { id: string; description: string; parent_region_id: string | null; extra: string };
  service: { id: string; type: string; enabled: number; extra: string };
  endpoint: EndpointRow;
  endpoint_group: { id: string; name: string; description: string | null; filters: string };
  project_endpoint_group: { endpoint_group_id: string; project_id: string };
  project_endpoint: { endpoint_id: string; project_id: string };
  policy: { id: string; type: string; blob: string; extra: string };
  credential: CredentialRow;
  trust: TrustRow;
  trust_role: { trust_id: string; role_id: string };
  application_credential: AppCredRow;
  application_credential_role: { application_credential_id: string; role_id: string };
  access_rule: { id: string; user_id: string; service: string; path: string; method: string };
  application_credential_access_rule: { application_credential_id: string; access_rule_id: string };
  consumer: { id: string; description: string | null; secret: string; extra: string };
  domain_config: { domain_id: string; group: string; option: string; value: string; sensitive: number };
  registered_limit: RegisteredLimitRow;
  limit: LimitRow;
  revocation_event: RevocationEventRow;
  cache_generation: { name: string; value: number };
}

/** Domains are projects with is_domain = 1 and domain_id = ROOT_DOMAIN_ID (as in Keystone). */
export const ROOT_DOMAIN_ID = '<<keystone.domain.root>>';
/** Global roles have domain_id = NULL_DOMAIN_ID so (name, domain_id) can be unique. */
export const NULL_DOMAIN_ID = '<<null>>';

export interface ProjectRow {
  id: string;
  name: string;
  domain_id: string;
  parent_id: string | null;
  description: string | null;
  enabled: number;
  is_domain: number;
  extra: string;
}

export interface UserRow {
  id: string;
  domain_id: string;
  name: string;
  enabled: number;
  default_project_id: string | null;
  extra: string;
  /** Keystone user options (ignore_lockout_failure_attempts, ...) as JSON. */
  options: string;
  created_at: string;
  last_active_at: string | null;
  failed_auth_count: number;
  failed_auth_at: string | null;
}

export interface PasswordRow {
  id: string;
  user_id: string;
  hash: string;
  created_at: string;
  expires_at: string | null;
  self_service: number;
}

export interface RoleRow {
  id: string;
  name: string;
  domain_id: string;
  description: string | null;
  options: string;
  extra: string;
}

export type AssignmentType = 'UserProject' | 'GroupProject' | 'UserDomain' | 'GroupDomain' | 'UserSystem' | 'GroupSystem';

export interface AssignmentRow {
  type: AssignmentType;
  actor_id: string;
  /** project or domain id; 'system' for system assignments. */
  target_id: string;
  role_id: string;
  inherited: number;
}

export interface EndpointRow {
  id: string;
  service_id: string;
  interface: string;
  url: string;
  region_id: string | null;
  enabled: number;
  extra: string;
}

export interface CredentialRow {
  id: string;
  user_id: string;
  project_id: string | null;
  type: string;
  blob: string;
  /** For ec2 credentials: the access key, so EC2/S3 signatures can find the secret. */
  access_key: string | null;
  extra: string;
}

export interface TrustRow {
  id: string;
  trustor_user_id: string;
  trustee_user_id: string;
  project_id: string | null;
  impersonation: number;
  expires_at: string | null;
  remaining_uses: number | null;
  redelegated_trust_id: string | null;
  redelegation_count: number | null;
  deleted_at: string | null;
  created_at: string;
  extra: string;
}

export interface AppCredRow {
  id: string;
  name: string;
  secret_hash: string;
  description: string | null;
  user_id: string;
  project_id: string | null;
  system: string | null;
  expires_at: string | null;
  unrestricted: number;
  created_at: string;
}

export interface RegisteredLimitRow {
  id: string;
  service_id: string;
  region_id: string | null;
  resource_name: string;
  default_limit: number;
  description: string | null;
}

export interface LimitRow {
  id: string;
  project_id: string | null;
  domain_id: string | null;
  service_id: string;
  region_id: string | null;
  resource_name: string;
  resource_limit: number;
  description: string | null;
}

export interface RevocationEventRow {
  id: string;
  domain_id: string | null;
  project_id: string | null;
  user_id: string | null;
  role_id: string | null;
  trust_id: string | null;
  consumer_id: string | null;
  audit_id: string | null;
  audit_chain_id: string | null;
  /** Tokens issued at or before this instant and matching the other fields are revoked. */
  issued_before: string;
  /** When the event can be forgotten: every token it could match has expired by then. */
  expires_at: string;
  revoked_at: string;
}
