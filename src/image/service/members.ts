import { HttpError, badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import type { ImageRecord } from '../db/images-repo.js';
import type { MemberRow } from '../db/schema.js';
import { imageTarget, type Caller, type ImageDeps } from './context.js';
import type { Images } from './images.js';

/** Glance's image_member_quota. */
export const MEMBER_QUOTA = 128;
const STATUSES = ['pending', 'accepted', 'rejected'];

/**
 * Image sharing (visibility 'shared'): the owner adds and removes member projects; a member
 * accepts or rejects; a member sees only its own membership, the owner all of them.
 */
export class Members {
  constructor(private readonly deps: ImageDeps, private readonly images: Images) {}

  private async image(caller: Caller, id: string): Promise<ImageRecord> {
    try {
      return await this.images.get(caller, id);
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) throw notFound(`Image ${id} not found.`);
      throw e;
    }
  }

  /** Members the caller may see: all for the owner (and admins), else the caller's own. */
  private visibleTo(caller: Caller, image: ImageRecord): string | undefined {
    return caller.isAdmin || caller.projectId === image.owner ? undefined : caller.projectId ?? '';
  }

  private policy(caller: Caller, image: ImageRecord, rule: string): boolean {
    return caller.allowed(rule, imageTarget(image, caller));
  }

  async add(caller: Caller, id: string, body: unknown): Promise<MemberRow> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest(body === undefined ? 'Body expected in request.' : 'Expected a member in the form: {"member": "image_id"}');
    }
    const memberId = (body as Record<string, unknown>).member;
    if (!('member' in body)) throw badRequest('Member to be added not specified');
    if (!memberId) throw badRequest("Member can't be empty");
    if (typeof memberId !== 'string' || memberId.length > 255) throw badRequest('Expected a member in the form: {"member": "image_id"}');
    const image = await this.image(caller, id);
    if (image.visibility !== 'shared' || !this.policy(caller, image, 'add_member')) throw forbidden(`Not allowed to create members for image ${id}.`);
    if ((await this.deps.members.count(id)) >= MEMBER_QUOTA) {
      throw new HttpError(413, `Image member limit exceeded for image ${id}: Maximum number of members exceeded: Attempted: ${MEMBER_QUOTA + 1}, Maximum: ${MEMBER_QUOTA}:`);
    }
    const t = new Date().toISOString();
    const row: MemberRow = { image_id: id, member: memberId, status: 'pending', created_at: t, updated_at: t };
    if (!(await this.deps.members.add(row))) throw conflict(`Member ${memberId} is duplicated for image ${id}`);
    return row;
  }

  async list(caller: Caller, id: string): Promise<MemberRow[]> {
    const image = await this.image(caller, id);
    if (image.visibility !== 'shared') throw forbidden(`Not allowed to list members for image ${id}: Only shared images have members.`);
    if (!this.policy(caller, image, 'get_members')) throw forbidden(`Not allowed to list members for image ${id}.`);
    return this.deps.members.list(id, this.visibleTo(caller, image));
  }

  async get(caller: Caller, id: string, memberId: string): Promise<MemberRow> {
    const image = await this.image(caller, id);
    if (image.visibility !== 'shared') throw notFound('Only shared images have members.');
    return this.lookup(caller, image, memberId, true);
  }

  private async lookup(caller: Caller, image: ImageRecord, memberId: string, hide: boolean): Promise<MemberRow> {
    if (!this.policy(caller, image, 'get_member')) {
      const msg = `You are not authorized to lookup the members of the image ${image.id}.`;
      throw hide ? notFound(msg) : forbidden(msg);
    }
    const only = this.visibleTo(caller, image);
    const m = only === undefined || only === memberId ? await this.deps.members.get(image.id, memberId) : undefined;
    if (!m) throw notFound(`${memberId} not found in the member list of the image ${image.id}.`);
    return m;
  }

  async update(caller: Caller, id: string, memberId: string, body: unknown): Promise<MemberRow> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest(body === undefined ? 'Body expected in request.' : 'Expected a status in the form: {"status": "status"}');
    }
    if (!('status' in body)) throw badRequest('Status not specified');
    const status = (body as Record<string, unknown>).status;
    const image = await this.image(caller, id);
    if (image.visibility !== 'shared') throw forbidden(`Not allowed to update members for image ${id}.`);
    await this.lookup(caller, image, memberId, false);
    if (!this.policy(caller, image, 'modify_member')) throw forbidden(`Not allowed to update members for image ${id}.`);
    if (typeof status !== 'string' || !STATUSES.includes(status)) {
      throw badRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".');
    }
    return (await this.deps.members.setStatus(id, memberId, status, new Date().toISOString()))!;
  }

  async remove(caller: Caller, id: string, memberId: string): Promise<void> {
    const image = await this.image(caller, id);
    if (image.visibility !== 'shared') throw forbidden(`Not allowed to delete members for image ${id}.`);
    await this.lookup(caller, image, memberId, false);
    if (!this.policy(caller, image, 'delete_member')) throw forbidden(`Not allowed to delete members for image ${id}.`);
    await this.deps.members.remove(id, memberId);
  }

  // ---- Glance v1: members without a status of their own (added = shared) ----

  /** v1 PUT /images/{id}/members/{member}: adds the member unless it is one already. */
  async share(caller: Caller, id: string, memberId: string): Promise<void> {
    try {
      await this.add(caller, id, { member: memberId });
    } catch (e) {
      if (!(e instanceof HttpError && e.status === 409)) throw e;
    }
  }

  /** v1 PUT /images/{id}/members: the member list becomes exactly `memberIds`. */
  async replaceAll(caller: Caller, id: string, memberIds: string[]): Promise<void> {
    const image = await this.image(caller, id);
    if (image.visibility !== 'shared' || !this.policy(caller, image, 'add_member') || !this.policy(caller, image, 'delete_member')) {
      throw forbidden(`Not allowed to update members for image ${id}.`);
    }
    const wanted = new Set(memberIds);
    if (wanted.size > MEMBER_QUOTA) {
      throw new HttpError(413, `Image member limit exceeded for image ${id}: Maximum number of members exceeded: Attempted: ${wanted.size}, Maximum: ${MEMBER_QUOTA}:`);
    }
    const current = await this.deps.members.list(id);
    for (const m of current) if (!wanted.has(m.member)) await this.deps.members.remove(id, m.member);
    const have = new Set(current.map((m) => m.member));
    const t = new Date().toISOString();
    for (const member of wanted) {
      if (!have.has(member)) await this.deps.members.add({ image_id: id, member, status: 'pending', created_at: t, updated_at: t });
    }
  }

  /**
   * v1 GET /shared-images/{member}: the memberships of a project, on the images the caller may
   * see and whose members it may list (the project itself, the images' owners, admins).
   */
  async sharedWith(caller: Caller, memberId: string): Promise<MemberRow[]> {
    const out: MemberRow[] = [];
    for (const m of await this.deps.members.listByMember(memberId)) {
      const image = await this.images.get(caller, m.image_id).catch(() => undefined);
      if (!image || image.visibility !== 'shared' || !this.policy(caller, image, 'get_members')) continue;
      if (this.visibleTo(caller, image) === undefined || caller.projectId === memberId) out.push(m);
    }
    return out;
  }
}
