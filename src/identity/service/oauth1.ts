import { randomBytes } from 'node:crypto';
import { notFound } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseJson, type Db } from './deps.js';

export interface Consumer {
  id: string;
  description: string | null;
  extra: Record<string, unknown>;
}

/**
 * OS-OAUTH1 consumers. The secret is generated here, shown once (at creation) and kept in
 * clear, as Keystone does, because OAuth1 signatures (HMAC-SHA1) need it to be verified.
 */
export class OAuth1Consumers {
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<Consumer> {
    const r = await this.db.selectFrom('consumer').select(['id', 'description', 'extra']).where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find consumer: ${id}.`);
    return { id: r.id, description: r.description, extra: parseJson(r.extra) };
  }

  async list(): Promise<Consumer[]> {
    const rows = await this.db.selectFrom('consumer').select(['id', 'description', 'extra']).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, description: r.description, extra: parseJson(r.extra) }));
  }

  /** Creates a consumer; the only time its secret is returned. */
  async create(input: { description?: string | null; extra?: Record<string, unknown> }): Promise<Consumer & { secret: string }> {
    const row = { id: newId(), description: input.description ?? null, secret: randomBytes(16).toString('hex'), extra: JSON.stringify(input.extra ?? {}) };
    await this.db.insertInto('consumer').values(row).execute();
    return { id: row.id, description: row.description, secret: row.secret, extra: input.extra ?? {} };
  }

  async update(id: string, input: { description?: string | null; extra?: Record<string, unknown> }): Promise<Consumer> {
    const cur = await this.get(id);
    await this.db.updateTable('consumer').set({
      description: input.description === undefined ? cur.description : input.description,
      extra: JSON.stringify({ ...cur.extra, ...(input.extra ?? {}) }),
    }).where('id', '=', id).execute();
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.db.deleteFrom('consumer').where('id', '=', id).execute();
  }

  /** The secret, for signature verification only; never rendered after creation. */
  async secretOf(id: string): Promise<string> {
    const r = await this.db.selectFrom('consumer').select('secret').where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find consumer: ${id}.`);
    return r.secret;
  }
}
