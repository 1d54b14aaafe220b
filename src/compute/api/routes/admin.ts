import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';

/** STUB: replaced by its owner. */
export const adminPolicy: Record<string, string> = {};
export function adminRoutes(_c: ComputeContext): Route[] {
  return [];
}
