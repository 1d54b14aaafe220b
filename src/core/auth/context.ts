/** Who is calling, as a validated token says (oslo.context's view of a request). */
export interface AuthContext {
  token: string;
  userId: string;
  userName: string;
  userDomainId: string;
  userDomainName: string;
  /** Exactly one of projectId / domainId / system is set for a scoped token; none for unscoped. */
  projectId?: string;
  projectName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
  domainId?: string;
  domainName?: string;
  system?: 'all';
  roles: { id: string; name: string }[];
  methods: string[];
  auditIds: string[];
  issuedAt: string;
  expiresAt: string;
  trustId?: string;
  applicationCredentialId?: string;
  /** True when the token's project is the admin project (Keystone's is_admin_project). */
  isAdminProject: boolean;
}

/** Turns an X-Auth-Token into an AuthContext or throws a 401 HttpError. */
export interface TokenVerifier {
  verify(token: string, opts?: { allowExpired?: boolean }): Promise<AuthContext>;
}

export const roleNames = (ctx: AuthContext): string[] => ctx.roles.map((r) => r.name);
