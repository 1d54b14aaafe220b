import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';

/** STUB: replaced by its owner. */
export const usagePolicy: Record<string, string> = {};
export function usageRoutes(_c: ComputeContext): Route[] {
  return [];
}
