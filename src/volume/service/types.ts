import { randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import type { VolumeTypeRow } from '../db/schema.js';
import { toJson, type VolumeContext } from './context.js';

export const DEFAULT_TYPE = '__DEFAULT__';

/** Creates Cinder's default type on first start; returns its row. */
export async function ensureDefaultType(c: VolumeContext): Promise<VolumeTypeRow> {
  const found = await c.db.selectFrom('volume_type').selectAll().where('name', '=', DEFAULT_TYPE).executeTakeFirst();
  if (found) return found;
  const row: VolumeTypeRow = { id: randomUUID(), name: DEFAULT_TYPE, description: 'Default Volume Type', is_public: 1, extra_specs: '{}', created_at: nowIso() };
  try {
    await c.db.insertInto('volume_type').values(row).execute();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    return (await c.db.selectFrom('volume_type').selectAll().where('name', '=', DEFAULT_TYPE).executeTakeFirstOrThrow());
  }
  return row;
}

/** A type by id or name; 404 in Cinder's words (a private type only for admins and the projects it is shared with). */
export async function findType(c: VolumeContext, idOrName: string, viewer?: { projectId: string; isAdmin: boolean }): Promise<VolumeTypeRow> {
  const row = await c.db.selectFrom('volume_type').selectAll().where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst();
  if (!row || (viewer && !viewer.isAdmin && !row.is_public && !(await typeProjects(c, row.id)).includes(viewer.projectId))) throw notFound(`Volume type ${idOrName} could not be found.`);
  return row;
}

export async function typeProjects(c: VolumeContext, typeId: string): Promise<string[]> {
  return (await c.db.selectFrom('volume_type_project').select('project_id').where('type_id', '=', typeId).execute()).map((r) => r.project_id);
}

/** addProjectAccess / removeProjectAccess of a private type. */
export async function setTypeAccess(c: VolumeContext, typeId: string, projectId: unknown, add: boolean): Promise<void> {
  const t = await findType(c, typeId);
  if (typeof projectId !== 'string' || !projectId) throw badRequest('Invalid input received: Access list is only for private types; project is required.');
  if (t.is_public) throw badRequest('Invalid volume type: Type access modification is not applicable to public volume type.');
  const has = (await typeProjects(c, t.id)).includes(projectId);
  if (add) {
    if (has) throw conflict(`Volume type access for ${t.id} / ${projectId} combination already exists.`);
    await c.db.insertInto('volume_type_project').values({ type_id: t.id, project_id: projectId }).execute();
  } else {
    if (!has) throw notFound(`Volume type access not found for ${t.id} / ${projectId} combination.`);
    await c.db.deleteFrom('volume_type_project').where('type_id', '=', t.id).where('project_id', '=', projectId).execute();
  }
}

export async function listTypes(c: VolumeContext, viewer: { projectId: string; isAdmin: boolean }): Promise<VolumeTypeRow[]> {
  const rows = await c.db.selectFrom('volume_type').selectAll().orderBy('created_at').orderBy('id').execute();
  if (viewer.isAdmin) return rows;
  const shared = new Set((await c.db.selectFrom('volume_type_project').select('type_id').where('project_id', '=', viewer.projectId).execute()).map((r) => r.type_id));
  return rows.filter((t) => t.is_public || shared.has(t.id));
}

export async function createType(c: VolumeContext, b: { name: string; description?: string | null; isPublic?: boolean; extraSpecs?: Record<string, string> }): Promise<VolumeTypeRow> {
  const name = b.name.trim();
  if (!name || name.length > 255) throw badRequest('Invalid volume type name: it must be 1 to 255 characters.');
  const row: VolumeTypeRow = { id: randomUUID(), name, description: b.description ?? null, is_public: b.isPublic === false ? 0 : 1, extra_specs: toJson(b.extraSpecs ?? {}), created_at: nowIso() };
  try {
    await c.db.insertInto('volume_type').values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(`Volume Type ${name} already exists.`);
    throw e;
  }
  return row;
}

export async function updateType(c: VolumeContext, id: string, set: Partial<Pick<VolumeTypeRow, 'name' | 'description' | 'is_public' | 'extra_specs'>>): Promise<VolumeTypeRow> {
  const row = await findType(c, id);
  if (Object.keys(set).length) {
    try {
      await c.db.updateTable('volume_type').set(set).where('id', '=', row.id).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`Volume Type ${set.name} already exists.`);
      throw e;
    }
  }
  return { ...row, ...set };
}

export async function deleteType(c: VolumeContext, id: string): Promise<void> {
  const row = await findType(c, id);
  if (row.name === DEFAULT_TYPE) throw badRequest('Default volume type can not be deleted.');
  const used = await c.db.selectFrom('volume').select('id').where('volume_type_id', '=', row.id).executeTakeFirst();
  if (used) throw badRequest(`Target volume type is still in use. Volume Type ${row.id} deletion is not allowed with volumes present with the type.`);
  await c.db.deleteFrom('volume_type_project').where('type_id', '=', row.id).execute();
  await c.db.deleteFrom('volume_type_encryption').where('volume_type_id', '=', row.id).execute();
  await c.db.deleteFrom('volume_type').where('id', '=', row.id).execute();
}
