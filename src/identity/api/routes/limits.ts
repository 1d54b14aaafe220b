import type { Route } from '../../../core/http/routes.js';
import type { IdentityServices } from '../../service/index.js';

/** TODO(issue 2): not implemented yet. */
export const limitRoutes = (_s: IdentityServices): Route[] => [];
