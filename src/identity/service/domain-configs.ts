import { forbidden, notFound } from '../../core/errors.js';
import type { Db } from './deps.js';

/** {group: {option: value}} — a domain's identity-backend configuration. */
export type DomainConfig = Record<string, Record<string, unknown>>;

/**
 * The options a domain may set (Keystone's whitelisted_options): only what the
 * domain-specific identity drivers use. Anything else is refused.
 */
export const DOMAIN_CONFIG_OPTIONS: Record<string, string[]> = {
  identity: ['driver', 'list_limit'],
  ldap: [
    'url', 'user', 'suffix', 'query_scope', 'page_size', 'alias_dereferencing', 'debug_level', 'chase_referrals',
    'user_tree_dn', 'user_filter', 'user_objectclass', 'user_id_attribute', 'user_name_attribute', 'user_mail_attribute',
    'user_description_attribute', 'user_pass_attribute', 'user_enabled_attribute', 'user_enabled_invert',
    'user_enabled_mask', 'user_enabled_default', 'user_attribute_ignore', 'user_default_project_id_attribute',
    'user_enabled_emulation', 'user_enabled_emulation_dn', 'user_enabled_emulation_use_group_config',
    'user_additional_attribute_mapping', 'group_tree_dn', 'group_filter', 'group_objectclass', 'group_id_attribute',
    'group_name_attribute', 'group_members_are_ids', 'group_member_attribute', 'group_desc_attribute',
    'group_attribute_ignore', 'group_additional_attribute_mapping', 'tls_cacertfile', 'tls_cacertdir', 'use_tls',
    'tls_req_cert', 'use_pool', 'pool_size', 'pool_retry_max', 'pool_retry_delay', 'pool_connection_timeout',
    'pool_connection_lifetime', 'use_auth_pool', 'auth_pool_size', 'auth_pool_connection_lifetime',
  ],
};

/** Options stored apart and never returned by the API. */
export const SENSITIVE_OPTIONS: Record<string, string[]> = { identity: [], ldap: ['password'] };

/** The defaults a domain without its own configuration gets (Keystone's [identity] and [ldap] defaults). */
export const DOMAIN_CONFIG_DEFAULTS: DomainConfig = {
  identity: { driver: 'sql', list_limit: null },
  ldap: {
    url: 'ldap://localhost', user: null, suffix: 'cn=example,cn=com', query_scope: 'one', page_size: 0,
    alias_dereferencing: 'default', debug_level: null, chase_referrals: null, user_tree_dn: null, user_filter: null,
    user_objectclass: 'inetOrgPerson', user_id_attribute: 'cn', user_name_attribute: 'sn', user_mail_attribute: 'mail',
    user_description_attribute: 'description', user_pass_attribute: 'userPassword', user_enabled_attribute: 'enabled',
    user_enabled_invert: false, user_enabled_mask: 0, user_enabled_default: 'True', user_attribute_ignore: ['default_project_id'],
    user_default_project_id_attribute: null, user_enabled_emulation: false, user_enabled_emulation_dn: null,
    user_enabled_emulation_use_group_config: false, user_additional_attribute_mapping: [], group_tree_dn: null,
    group_filter: null, group_objectclass: 'groupOfNames', group_id_attribute: 'cn', group_name_attribute: 'ou',
    group_members_are_ids: false, group_member_attribute: 'member', group_desc_attribute: 'description',
    group_attribute_ignore: [], group_additional_attribute_mapping: [], tls_cacertfile: null, tls_cacertdir: null,
    use_tls: false, tls_req_cert: 'demand', use_pool: true, pool_size: 10, pool_retry_max: 3, pool_retry_delay: 0.1,
    pool_connection_timeout: -1, pool_connection_lifetime: 600, use_auth_pool: true, auth_pool_size: 100,
    auth_pool_connection_lifetime: 60,
  },
};

/** Keystone's InvalidDomainConfig is a 403. */
const invalid = (reason: string) => forbidden(`Invalid domain specific configuration: ${reason}.`);
const missing = (domainId: string, what: string) => notFound(`Could not find ${what} in domain configuration for domain ${domainId}.`);
const describe = (group?: string, option?: string) => (option ? `option ${option} in group ${group}` : group ? `group ${group}` : 'any options');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface OptionRow { group: string; option: string; value: unknown; sensitive: boolean }

/** Domain-specific identity configuration (/v3/domains/{id}/config), stored option by option. */
export class DomainConfigs {
  constructor(private readonly db: Db) {}

  /** Group and option must be ones a domain may set; none means "everything". */
  assertValidGroupAndOption(group?: string, option?: string): void {
    if (!group) return;
    if (!(group in DOMAIN_CONFIG_OPTIONS)) throw invalid(`Group ${group} is not supported for domain specific configurations`);
    if (option && !DOMAIN_CONFIG_OPTIONS[group].includes(option) && !SENSITIVE_OPTIONS[group].includes(option)) {
      throw invalid(`Option ${option} in group ${group} is not supported for domain specific configurations`);
    }
  }

  private assertValidConfig(config: unknown): asserts config is DomainConfig {
    if (!isObject(config) || Object.keys(config).length === 0) throw invalid('No options specified');
    for (const [group, opts] of Object.entries(config)) {
      if (!isObject(opts) || Object.keys(opts).length === 0) {
        throw invalid(`The value of group ${group} specified in the config should be a dictionary of options`);
      }
      for (const option of Object.keys(opts)) this.assertValidGroupAndOption(group, option);
    }
  }

  private toRows(config: DomainConfig): OptionRow[] {
    return Object.entries(config).flatMap(([group, opts]) =>
      Object.entries(opts).map(([option, value]) => ({ group, option, value, sensitive: SENSITIVE_OPTIONS[group]?.includes(option) ?? false })));
  }

  private async rows(domainId: string, group?: string, option?: string, sensitive?: boolean): Promise<OptionRow[]> {
    let q = this.db.selectFrom('domain_config').selectAll().where('domain_id', '=', domainId);
    if (group) {
      q = q.where('group', '=', group);
      if (option) q = q.where('option', '=', option);
    }
    if (sensitive !== undefined) q = q.where('sensitive', '=', sensitive ? 1 : 0);
    const rows = await q.orderBy('group').orderBy('option').execute();
    return rows.map((r) => ({ group: r.group, option: r.option, value: JSON.parse(r.value), sensitive: r.sensitive === 1 }));
  }

  private static toConfig(rows: OptionRow[]): DomainConfig {
    const out: DomainConfig = {};
    for (const r of rows) (out[r.group] ??= {})[r.option] = r.value;
    return out;
  }

  /** The domain's stored configuration, sensitive options excluded; 404 when nothing matches. */
  async get(domainId: string, group?: string, option?: string): Promise<DomainConfig | Record<string, unknown>> {
    this.assertValidGroupAndOption(group, option);
    const rows = await this.rows(domainId, group, option, false);
    if (rows.length === 0) throw missing(domainId, describe(group, option));
    return option ? { [option]: rows[0].value } : DomainConfigs.toConfig(rows);
  }

  /** Whether the domain has any configuration at all (sensitive included). */
  async exists(domainId: string): Promise<boolean> {
    return (await this.db.selectFrom('domain_config').select('option').where('domain_id', '=', domainId).limit(1).executeTakeFirst()) !== undefined;
  }

  /** Replaces the domain's whole configuration; returns what is now visible. */
  async replace(domainId: string, config: unknown): Promise<DomainConfig> {
    this.assertValidConfig(config);
    const rows = this.toRows(config);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('domain_config').where('domain_id', '=', domainId).execute();
      await tx.insertInto('domain_config').values(rows.map((r) => ({
        domain_id: domainId, group: r.group, option: r.option, value: JSON.stringify(r.value), sensitive: r.sensitive ? 1 : 0,
      }))).execute();
    });
    return DomainConfigs.toConfig(await this.rows(domainId, undefined, undefined, false));
  }

  /**
   * Merges options into the configuration. With a group (and option) in the URL, the body must
   * hold exactly that group (option), which must already exist.
   */
  async update(domainId: string, config: unknown, group?: string, option?: string): Promise<DomainConfig | Record<string, unknown>> {
    const update = group && option ? { [group]: config } : config;
    this.assertValidConfig(update);
    this.assertValidGroupAndOption(group, option);
    if (group) {
      const groups = Object.keys(update);
      if (groups.length !== 1 || (option && Object.keys(update[groups[0]]).length !== 1)) {
        throw invalid(option
          ? `Trying to update option ${option} in group ${group}, so that, and only that, option must be specified  in the config`
          : `Trying to update group ${group}, so that, and only that, group must be specified in the config`);
      }
      if (!(group in update)) throw invalid(`request to update group ${group}, but config provided contains group ${groups[0]} instead`);
      if (option && !(option in update[group])) {
        throw invalid(`Trying to update option ${option} in group ${group}, but config provided contains option ${Object.keys(update[group])[0]} instead`);
      }
      if ((await this.rows(domainId, group, option)).length === 0) throw missing(domainId, describe(group, option));
    }
    const rows = this.toRows(update);
    await this.db.transaction().execute(async (tx) => {
      for (const r of rows) {
        await tx.deleteFrom('domain_config').where('domain_id', '=', domainId).where('group', '=', r.group).where('option', '=', r.option).execute();
        await tx.insertInto('domain_config').values({
          domain_id: domainId, group: r.group, option: r.option, value: JSON.stringify(r.value), sensitive: r.sensitive ? 1 : 0,
        }).execute();
      }
    });
    return this.get(domainId);
  }

  /** Deletes the whole configuration, a group, or one option (the last two must exist). */
  async delete(domainId: string, group?: string, option?: string): Promise<void> {
    this.assertValidGroupAndOption(group, option);
    if (group && (await this.rows(domainId, group, option)).length === 0) throw missing(domainId, describe(group, option));
    let q = this.db.deleteFrom('domain_config').where('domain_id', '=', domainId);
    if (group) {
      q = q.where('group', '=', group);
      if (option) q = q.where('option', '=', option);
    }
    await q.execute();
  }

  /** Every domain's configuration for a group it has none of its own for. */
  defaults(group?: string, option?: string): DomainConfig | Record<string, unknown> {
    this.assertValidGroupAndOption(group, option);
    if (group && option) {
      if (!DOMAIN_CONFIG_OPTIONS[group].includes(option)) throw invalid(`Reading the default for option ${option} in group ${group} is not supported`);
      return { [option]: DOMAIN_CONFIG_DEFAULTS[group][option] };
    }
    if (group) return { [group]: { ...DOMAIN_CONFIG_DEFAULTS[group] } };
    return structuredClone(DOMAIN_CONFIG_DEFAULTS);
  }

  /**
   * The readable password rules (Keystone's security_compliance group), default domain only.
   * Nubo has no password regex, so both are null, as Keystone reports them unset.
   */
  securityCompliance(domainId: string, option?: string): Record<string, unknown> {
    if (domainId !== 'default') {
      throw invalid('Reading security compliance information for any domain other than the default domain is not allowed or supported');
    }
    const readable = { password_regex: null, password_regex_description: null } as Record<string, unknown>;
    if (option) {
      if (!(option in readable)) throw invalid('Reading security compliance values other than password_regex and password_regex_description is not allowed');
      return { [option]: readable[option] };
    }
    return { security_compliance: readable };
  }
}
