import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../core/db/database.js';
import type { ImageDB, MemberRow } from './schema.js';

/** Image memberships: which projects an image is shared with, and whether they accepted. */
export class MemberRepo {
  constructor(private readonly db: Kysely<ImageDB>) {}

  /** An image's memberships; `onlyFor` narrows them to one project's own. */
  list(imageId: string, onlyFor?: string): Promise<MemberRow[]> {
    let q = this.db.selectFrom('image_member').selectAll().where('image_id', '=', imageId);
    if (onlyFor !== undefined) q = q.where('member', '=', onlyFor);
    return q.orderBy('created_at').orderBy('member').execute();
  }

  /** The memberships of one project, across images. */
  listByMember(member: string): Promise<MemberRow[]> {
    return this.db.selectFrom('image_member').selectAll().where('member', '=', member).orderBy('created_at').orderBy('image_id').execute();
  }

  get(imageId: string, member: string): Promise<MemberRow | undefined> {
    return this.db.selectFrom('image_member').selectAll().where('image_id', '=', imageId).where('member', '=', member).executeTakeFirst();
  }

  async count(imageId: string): Promise<number> {
    const r = await this.db.selectFrom('image_member').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('image_id', '=', imageId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Adds a pending membership; false when the project is already a member. */
  async add(row: MemberRow): Promise<boolean> {
    try {
      await this.db.insertInto('image_member').values(row).execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async setStatus(imageId: string, member: string, status: string, now: string): Promise<MemberRow | undefined> {
    await this.db.updateTable('image_member').set({ status, updated_at: now })
      .where('image_id', '=', imageId).where('member', '=', member).execute();
    return this.get(imageId, member);
  }

  async remove(imageId: string, member: string): Promise<boolean> {
    const r = await this.db.deleteFrom('image_member').where('image_id', '=', imageId).where('member', '=', member).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
