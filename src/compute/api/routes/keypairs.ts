import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';

/** STUB: replaced by its owner. */
export const keypairsPolicy: Record<string, string> = {};
export function keypairsRoutes(_c: ComputeContext): Route[] {
  return [];
}
