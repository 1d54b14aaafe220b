import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';

/** STUB: replaced by its owner. */
export const serverGroupsPolicy: Record<string, string> = {};
export function serverGroupsRoutes(_c: ComputeContext): Route[] {
  return [];
}
