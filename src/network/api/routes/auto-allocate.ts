/** Auto-allocated topology (/v2.0/auto-allocated-topology/{project_id}). */
import type { RequestCtx, Route } from '../../../core/http/routes.js';
import type { NetworkContext } from '../../service/context.js';
import { autoAllocate, checkAutoAllocation, deleteAutoAllocated } from '../../service/auto-allocate.js';
import { neutronError } from '../../service/errors.js';
import { fieldsOf } from '../common.js';

export const autoAllocatePolicy: Record<string, string> = {
  get_auto_allocated_topology: 'rule:admin_or_owner',
  delete_auto_allocated_topology: 'rule:admin_or_owner',
};

const target = (ctx: RequestCtx) => ({ project_id: ctx.params.project_id });

export function autoAllocateRoutes(c: NetworkContext): Route[] {
  return [
    {
      method: 'GET', url: '/v2.0/auto-allocated-topology/:project_id', policy: 'get_auto_allocated_topology', target,
      handler: async (ctx) => {
        const projectId = ctx.params.project_id;
        const fields = fieldsOf(ctx);
        if (fields.includes('dry-run')) {
          await checkAutoAllocation(c);
          return { auto_allocated_topology: { id: 'dry-run=pass', tenant_id: projectId, project_id: projectId } };
        }
        if (fields.length) throw neutronError(400, 'BadRequest', 'Bad auto_allocate request: Unrecognized field.');
        const id = await autoAllocate(c, projectId);
        return { auto_allocated_topology: { id, tenant_id: projectId, project_id: projectId } };
      },
    },
    {
      method: 'DELETE', url: '/v2.0/auto-allocated-topology/:project_id', policy: 'delete_auto_allocated_topology', target,
      handler: async (ctx) => { await deleteAutoAllocated(c, ctx.params.project_id); },
    },
  ];
}
