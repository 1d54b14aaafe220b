import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';

/** STUB: replaced by its owner. */
export const quotasPolicy: Record<string, string> = {};
export function quotasRoutes(_c: ComputeContext): Route[] {
  return [];
}
