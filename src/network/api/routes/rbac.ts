/** RBAC policies (/v2.0/rbac-policies). */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import { badRequest } from '../../../core/errors.js';
import type { RbacPolicyRow } from '../../db/schema.js';
import type { NetworkContext } from '../../service/context.js';
import { createRbacPolicy, deleteRbacPolicy, getRbacPolicy, listRbacPolicies, updateRbacPolicy } from '../../service/rbac.js';
import { bodyOf, callerOf, fieldsOf, listBody, onlyKnown, ownerOf, pickFields, strAttr, type View } from '../common.js';

export const rbacPolicy: Record<string, string> = {
  // Neutron's field:rbac_policy:target_tenant=* check, as a literal match
  restrict_wildcard: "(not '*':%(target_tenant)s) or rule:admin_only",
  create_rbac_policy: '',
  'create_rbac_policy:target_tenant': 'rule:restrict_wildcard',
  update_rbac_policy: 'rule:admin_or_owner',
  'update_rbac_policy:target_tenant': 'rule:restrict_wildcard and rule:admin_or_owner',
  get_rbac_policy: 'rule:admin_or_owner',
  delete_rbac_policy: 'rule:admin_or_owner',
};

const CREATE_KEYS = ['object_type', 'object_id', 'action', 'target_tenant', 'target_project', 'project_id', 'tenant_id', 'description'] as const;
const UPDATE_KEYS = ['target_tenant', 'target_project', 'description'] as const;

export function rbacView(r: RbacPolicyRow): View {
  return {
    id: r.id, project_id: r.project_id, tenant_id: r.project_id, object_type: r.object_type, object_id: r.object_id,
    action: r.action, target_tenant: r.target_tenant, target_project: r.target_tenant, description: r.description,
  };
}

/** target_tenant or its newer name target_project (they must agree when both are given). */
function targetOf(b: Record<string, unknown>): string | undefined {
  if (b.target_tenant !== undefined && b.target_project !== undefined && b.target_tenant !== b.target_project) {
    throw badRequest("'target_tenant' and 'target_project' do not match");
  }
  const t = b.target_project ?? b.target_tenant;
  if (t === undefined) return undefined;
  if (typeof t !== 'string' || t === '' || t.length > 255) throw badRequest(`Invalid input for target_tenant. Reason: '${String(t)}' is not a valid string.`);
  return t;
}

export function rbacRoutes(c: NetworkContext): Route[] {
  const target = async (ctx: RequestCtx) => ({ project_id: (await getRbacPolicy(c, callerOf(ctx), ctx.params.id)).project_id });
  return [
    {
      method: 'GET', url: '/v2.0/rbac-policies', policy: 'authenticated',
      handler: async (ctx) => listBody(ctx, 'rbac_policies', (await listRbacPolicies(c, callerOf(ctx))).map(rbacView)),
    },
    {
      method: 'GET', url: '/v2.0/rbac-policies/:id', policy: 'get_rbac_policy', target,
      handler: async (ctx) => ({ rbac_policy: pickFields(rbacView(await getRbacPolicy(c, callerOf(ctx), ctx.params.id)), fieldsOf(ctx)) }),
    },
    {
      method: 'POST', url: '/v2.0/rbac-policies', policy: 'create_rbac_policy', status: 201,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'rbac_policy');
        onlyKnown(b, CREATE_KEYS);
        const caller = callerOf(ctx);
        const projectId = ownerOf(ctx, b, caller);
        const t = targetOf(b);
        for (const k of ['object_type', 'object_id', 'action'] as const) {
          if (typeof b[k] !== 'string') throw badRequest(`Failed to parse request. Required attribute '${k}' not specified`);
        }
        if (t === undefined) throw badRequest("Failed to parse request. Required attribute 'target_tenant' not specified");
        ctx.enforce('create_rbac_policy:target_tenant', { project_id: projectId, target_tenant: t });
        const row = await createRbacPolicy(c, caller, {
          projectId, objectType: b.object_type as string, objectId: b.object_id as string, action: b.action as string, target: t,
          description: strAttr(b, 'description', ''),
        });
        return { rbac_policy: rbacView(row) };
      },
    },
    {
      method: 'PUT', url: '/v2.0/rbac-policies/:id', policy: 'update_rbac_policy', target,
      handler: async (ctx) => {
        const b = bodyOf(ctx, 'rbac_policy');
        onlyKnown(b, UPDATE_KEYS);
        const caller = callerOf(ctx);
        const t = targetOf(b);
        if (t !== undefined) {
          const cur = await getRbacPolicy(c, caller, ctx.params.id);
          ctx.enforce('update_rbac_policy:target_tenant', { project_id: cur.project_id, target_tenant: t });
        }
        const row = await updateRbacPolicy(c, caller, ctx.params.id, { target: t, description: b.description === undefined ? undefined : strAttr(b, 'description', '') });
        return { rbac_policy: rbacView(row) };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/rbac-policies/:id', policy: 'delete_rbac_policy', target,
      handler: async (ctx) => { await deleteRbacPolicy(c, callerOf(ctx), ctx.params.id); },
    },
  ];
}
