import type { Route } from '../../../core/http/routes.js';
import type { ComputeContext } from '../../service/context.js';

/** STUB: replaced by its owner. */
export const flavorsPolicy: Record<string, string> = {};
export function flavorsRoutes(_c: ComputeContext): Route[] {
  return [];
}
