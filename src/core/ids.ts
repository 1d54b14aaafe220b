import { randomUUID } from 'node:crypto';

/** OpenStack-style id: a UUID4 as 32 hex digits (Keystone's form). */
export const newId = (): string => randomUUID().replaceAll('-', '');
export const newRequestId = (): string => `req-${randomUUID()}`;
/** ISO-8601 with milliseconds; sortable as text, so the database compares it directly. */
export const nowIso = (): string => new Date().toISOString();
