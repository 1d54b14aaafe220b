import { HttpError } from '../../core/errors.js';

/** A Placement error with its machine-readable code (1.23). */
export class PlacementError extends HttpError {
  constructor(status: number, message: string, readonly code: string = 'placement.undefined_code') {
    super(status, message);
  }
}

export const bad = (msg: string) => new PlacementError(400, msg);
export const missing = (msg: string) => new PlacementError(404, msg);
export const conflict = (msg: string, code?: string) => new PlacementError(409, msg, code);
export const generationConflict = (msg: string) => new PlacementError(409, msg, 'placement.concurrent_update');
