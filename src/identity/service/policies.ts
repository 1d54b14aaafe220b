import { badRequest, notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseJson, type Db } from './deps.js';

/** A stored policy blob (Keystone's deprecated /v3/policies: opaque to the server). */
export interface Policy {
  id: string;
  type: string;
  blob: string;
  extra: Record<string, unknown>;
}

const toPolicy = (r: { id: string; type: string; blob: string; extra: string }): Policy => ({ id: r.id, type: r.type, blob: r.blob, extra: parseJson(r.extra) });

/** /v3/policies: blobs of a MIME type that other services may fetch; Keystone never reads them. */
export class Policies {
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<Policy> {
    const r = await this.db.selectFrom('policy').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find policy: ${id}.`);
    return toPolicy(r);
  }

  async list(f: { type?: string } = {}): Promise<Policy[]> {
    let q = this.db.selectFrom('policy').selectAll();
    if (f.type !== undefined) q = q.where('type', '=', f.type);
    return (await q.orderBy('id').execute()).map(toPolicy);
  }

  async create(input: { type: string; blob: string; extra?: Record<string, unknown> }): Promise<Policy> {
    const row = { id: newId(), type: input.type, blob: input.blob, extra: JSON.stringify(input.extra ?? {}) };
    await this.db.insertInto('policy').values(row).execute();
    return toPolicy(row);
  }

  async update(id: string, input: { id?: string; type?: string; blob?: string; extra?: Record<string, unknown> }): Promise<Policy> {
    if (input.id !== undefined && input.id !== id) throw badRequest('Cannot change policy ID.');
    const cur = await this.get(id);
    await this.db.updateTable('policy').set({
      type: input.type ?? cur.type,
      blob: input.blob ?? cur.blob,
      extra: JSON.stringify({ ...cur.extra, ...(input.extra ?? {}) }),
    }).where('id', '=', id).execute();
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.db.deleteFrom('policy').where('id', '=', id).execute();
  }
}
