import type { Kysely } from 'kysely';
import type { ImageDB, TaskRow } from './schema.js';

/** Import tasks (Glance's api_image_import tasks), shown by GET /v2/images/{id}/tasks. */
export class TaskRepo {
  constructor(private readonly db: Kysely<ImageDB>) {}

  async insert(row: TaskRow): Promise<void> {
    await this.db.insertInto('image_task').values(row).execute();
  }

  async update(id: string, change: Partial<Pick<TaskRow, 'status' | 'result' | 'message' | 'expires_at'>>): Promise<void> {
    await this.db.updateTable('image_task').set({ ...change, updated_at: new Date().toISOString() }).where('id', '=', id).execute();
  }

  get(id: string): Promise<TaskRow | undefined> {
    return this.db.selectFrom('image_task').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listByImage(imageId: string): Promise<TaskRow[]> {
    return this.db.selectFrom('image_task').selectAll().where('image_id', '=', imageId).orderBy('created_at').execute();
  }

  /** Tasks still pending or processing (a restart fails them). */
  unfinished(): Promise<TaskRow[]> {
    return this.db.selectFrom('image_task').selectAll().where('status', 'in', ['pending', 'processing']).execute();
  }
}
