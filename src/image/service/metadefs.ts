import { randomUUID } from 'node:crypto';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import type { ItemKind, MetadefRepo } from '../db/metadefs-repo.js';
import type { AssociationRow, MetadefItemRow, NamespaceRow } from '../db/schema.js';
import type { Caller } from './context.js';
import { pyRepr } from './image-schema.js';

/** A namespace with what it holds, as the service hands it to the API's views. */
export interface NamespaceDetail {
  ns: NamespaceRow;
  associations: AssociationRow[];
  objects?: MetadefItemRow[];
  properties?: MetadefItemRow[];
  tags?: MetadefItemRow[];
}

const PROPERTY_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string', null];
const NAMESPACE_KEYS = ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'resource_type_associations', 'properties', 'objects', 'tags'];
const READONLY = ['self', 'schema', 'created_at', 'updated_at'];
const now = () => new Date().toISOString();
const kindNames: Record<ItemKind, string> = { object: 'object', property: 'property', tag: 'tag' };

function obj(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Body expected in request.');
  return body as Record<string, unknown>;
}

function invalid(schema: string, reason: string) {
  return badRequest(`Provided object does not match schema '${schema}': ${reason}`);
}

function checkString(schema: string, b: Record<string, unknown>, key: string, max: number, required = false): void {
  const v = b[key];
  if (v === undefined) {
    if (required) throw invalid(schema, `${pyRepr(key)} is a required property`);
    return;
  }
  if (typeof v !== 'string') throw invalid(schema, `${pyRepr(v)} is not of type 'string'`);
  if ([...v].length > max) throw invalid(schema, `${pyRepr(v)} is too long`);
}

/** A property definition (a JSON-schema fragment) as Glance accepts it, without its name. */
function checkProperty(p: unknown, needName: boolean): Record<string, unknown> {
  const b = obj(p);
  for (const k of READONLY) if (k in b) throw forbidden(`Attribute '${k}' is read-only.`);
  if (needName) checkString('property', b, 'name', 80, true);
  checkString('property', b, 'title', 255, true);
  if (!('type' in b)) throw invalid('property', "'type' is a required property");
  if (!PROPERTY_TYPES.includes(b.type as string)) throw invalid('property', `${pyRepr(b.type)} is not one of ${pyRepr(PROPERTY_TYPES)}`);
  if ('enum' in b && !Array.isArray(b.enum)) throw invalid('property', `${pyRepr(b.enum)} is not of type 'array'`);
  return Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'name'));
}

/**
 * Metadata definitions (Glance "metadefs"): namespaces of property schemas, objects and tags
 * that UIs offer for images, flavors and volumes, associated with resource types. Readers see
 * public namespaces and their project's; only admins change them (Glance's default policy).
 */
export class Metadefs {
  constructor(private readonly repo: MetadefRepo) {}

  private target(ns?: NamespaceRow, caller?: Caller) {
    return ns ? { project_id: ns.owner, visibility: ns.visibility } : { project_id: caller?.projectId ?? null };
  }

  private require(caller: Caller, rule: string, ns?: NamespaceRow): void {
    if (!caller.allowed(rule, this.target(ns, caller))) throw forbidden(`You are not authorized to perform the requested action: ${rule}.`);
  }

  /** A namespace the caller may see; else 404 (others' private namespaces do not exist for it). */
  async namespace(caller: Caller, name: string): Promise<NamespaceRow> {
    const ns = await this.repo.namespace(name);
    if (!ns || !caller.allowed('get_metadef_namespace', this.target(ns))) throw notFound(`Metadata definition namespace=${name} was not found.`);
    return ns;
  }

  async detail(caller: Caller, name: string, withContents: boolean): Promise<NamespaceDetail> {
    const ns = await this.namespace(caller, name);
    const d: NamespaceDetail = { ns, associations: await this.repo.associations(ns.id) };
    if (withContents) {
      d.objects = await this.repo.items(ns.id, 'object');
      d.properties = await this.repo.items(ns.id, 'property');
      d.tags = await this.repo.items(ns.id, 'tag');
    }
    return d;
  }

  async list(caller: Caller, f: { visibility?: string; resourceTypes?: string[] }): Promise<NamespaceDetail[]> {
    this.require(caller, 'get_metadef_namespaces');
    const rows = await this.repo.namespaces({ projectId: caller.projectId, isAdmin: caller.isAdmin }, f);
    const visible = rows.filter((ns) => caller.allowed('get_metadef_namespace', this.target(ns)));
    return Promise.all(visible.map(async (ns) => ({ ns, associations: await this.repo.associations(ns.id) })));
  }

  private checkNamespace(b: Record<string, unknown>, create: boolean): void {
    for (const k of READONLY) if (k in b) throw forbidden(`Attribute '${k}' is read-only.`);
    for (const k of Object.keys(b)) {
      if (!NAMESPACE_KEYS.includes(k)) throw invalid('namespace', `Additional properties are not allowed (${pyRepr(k)} was unexpected)`);
    }
    checkString('namespace', b, 'namespace', 80, true);
    checkString('namespace', b, 'display_name', 80);
    checkString('namespace', b, 'description', 500);
    checkString('namespace', b, 'owner', 255);
    if (b.visibility !== undefined && !['public', 'private'].includes(b.visibility as string)) {
      throw invalid('namespace', `${pyRepr(b.visibility)} is not one of ['public', 'private']`);
    }
    if (b.protected !== undefined && typeof b.protected !== 'boolean') throw invalid('namespace', `${pyRepr(b.protected)} is not of type 'boolean'`);
    if (!create) return;
    for (const k of ['resource_type_associations', 'objects', 'tags'] as const) {
      if (b[k] !== undefined && !Array.isArray(b[k])) throw invalid('namespace', `${pyRepr(b[k])} is not of type 'array'`);
    }
  }

  async create(caller: Caller, body: unknown): Promise<NamespaceDetail> {
    const b = obj(body);
    this.checkNamespace(b, true);
    const t = now();
    const ns: NamespaceRow = {
      id: randomUUID(), namespace: b.namespace as string, display_name: (b.display_name as string | undefined) ?? null,
      description: (b.description as string | undefined) ?? null, visibility: (b.visibility as string | undefined) ?? 'private',
      protected: b.protected === true ? 1 : 0, owner: (b.owner as string | undefined) ?? caller.projectId ?? '', created_at: t, updated_at: t,
    };
    this.require(caller, 'add_metadef_namespace', ns);
    const items: MetadefItemRow[] = [];
    for (const [name, p] of Object.entries(obj(b.properties ?? {}))) {
      items.push(this.itemRow(ns.id, 'property', name, this.propertyBody(p, false), t));
    }
    for (const o of (b.objects as unknown[] | undefined) ?? []) items.push(this.objectRow(ns.id, o, t));
    for (const tg of (b.tags as unknown[] | undefined) ?? []) items.push(this.tagRow(ns.id, obj(tg).name, t));
    if (!(await this.repo.insertNamespace(ns))) throw conflict(`The metadata definition namespace=${ns.namespace} already exists.`);
    try {
      if (!(await this.repo.insertItems(items))) throw conflict(`A metadata definition with a duplicate name was given in namespace=${ns.namespace}.`);
      for (const a of (b.resource_type_associations as unknown[] | undefined) ?? []) await this.associateRow(ns, a);
    } catch (e) {
      await this.repo.deleteNamespace(ns.id);
      throw e;
    }
    return this.detail(caller, ns.namespace, true);
  }

  async update(caller: Caller, name: string, body: unknown): Promise<NamespaceDetail> {
    const ns = await this.namespace(caller, name);
    this.require(caller, 'modify_metadef_namespace', ns);
    const b = obj(body);
    this.checkNamespace(b, false);
    const change: Partial<NamespaceRow> = {
      namespace: b.namespace as string, display_name: (b.display_name as string | undefined) ?? null,
      description: (b.description as string | undefined) ?? null, visibility: (b.visibility as string | undefined) ?? ns.visibility,
      protected: b.protected === undefined ? ns.protected : b.protected ? 1 : 0, owner: (b.owner as string | undefined) ?? ns.owner, updated_at: now(),
    };
    if (!(await this.repo.updateNamespace(ns.id, change))) throw conflict(`The metadata definition namespace=${change.namespace} already exists.`);
    return this.detail(caller, change.namespace!, false);
  }

  async delete(caller: Caller, name: string): Promise<void> {
    const ns = await this.namespace(caller, name);
    this.require(caller, 'delete_metadef_namespace', ns);
    if (ns.protected) throw forbidden(`Metadata definition namespace ${name} is protected and cannot be deleted.`);
    await this.repo.deleteNamespace(ns.id);
  }

  // ---- objects, properties, tags ----

  private itemRow(namespaceId: string, kind: ItemKind, name: string, body: object, t: string): MetadefItemRow {
    return { namespace_id: namespaceId, kind, name, body: JSON.stringify(body), created_at: t, updated_at: t };
  }

  private propertyBody(p: unknown, needName: boolean): object {
    return checkProperty(p, needName);
  }

  private objectRow(namespaceId: string, o: unknown, t: string): MetadefItemRow {
    const b = obj(o);
    for (const k of READONLY) if (k in b) throw forbidden(`Attribute '${k}' is read-only.`);
    checkString('object', b, 'name', 80, true);
    checkString('object', b, 'description', 10000);
    if (b.required !== undefined && !Array.isArray(b.required)) throw invalid('object', `${pyRepr(b.required)} is not of type 'array'`);
    const props: Record<string, object> = {};
    for (const [n, p] of Object.entries(obj(b.properties ?? {}))) props[n] = this.propertyBody(p, false);
    return this.itemRow(namespaceId, 'object', b.name as string, { description: b.description, required: b.required, properties: props }, t);
  }

  private tagRow(namespaceId: string, name: unknown, t: string): MetadefItemRow {
    checkString('tag', { name }, 'name', 80, true);
    return this.itemRow(namespaceId, 'tag', name as string, {}, t);
  }

  private notFoundItem(kind: ItemKind, name: string, ns: string) {
    return notFound(`The metadata definition ${kindNames[kind]} with name=${name} was not found in namespace=${ns}.`);
  }

  private duplicate(kind: ItemKind, name: string, ns: string) {
    return conflict(kind === 'tag'
      ? `A metadata tag with name=${name} already exists in namespace=${ns}. (Please note that metadata tag names are case insensitive).`
      : `A metadata definition ${kindNames[kind]} with name=${name} already exists in namespace=${ns}.`);
  }

  async items(caller: Caller, namespace: string, kind: ItemKind): Promise<MetadefItemRow[]> {
    const ns = await this.namespace(caller, namespace);
    return this.repo.items(ns.id, kind);
  }

  async item(caller: Caller, namespace: string, kind: ItemKind, name: string): Promise<MetadefItemRow> {
    const ns = await this.namespace(caller, namespace);
    const it = await this.repo.item(ns.id, kind, name);
    if (!it) throw this.notFoundItem(kind, name, namespace);
    return it;
  }

  private rowFor(kind: ItemKind, nsId: string, body: unknown, t: string, fallbackName?: string): MetadefItemRow {
    if (kind === 'object') return this.objectRow(nsId, body, t);
    if (kind === 'tag') return this.tagRow(nsId, obj(body).name ?? fallbackName, t);
    const b = obj(body);
    return this.itemRow(nsId, 'property', b.name as string, this.propertyBody(b, true), t);
  }

  async addItem(caller: Caller, namespace: string, kind: ItemKind, body: unknown): Promise<MetadefItemRow> {
    const ns = await this.namespace(caller, namespace);
    this.require(caller, `add_metadef_${kind}`, ns);
    const row = this.rowFor(kind, ns.id, body, now());
    if (!(await this.repo.insertItems([row]))) throw this.duplicate(kind, row.name, namespace);
    return row;
  }

  async updateItem(caller: Caller, namespace: string, kind: ItemKind, name: string, body: unknown): Promise<MetadefItemRow> {
    const ns = await this.namespace(caller, namespace);
    this.require(caller, `modify_metadef_${kind}`, ns);
    const old = await this.repo.item(ns.id, kind, name);
    if (!old) throw this.notFoundItem(kind, name, namespace);
    const row = { ...this.rowFor(kind, ns.id, body, now(), name), created_at: old.created_at };
    if (!(await this.repo.replaceItem(ns.id, kind, name, row))) throw this.duplicate(kind, row.name, namespace);
    return row;
  }

  async deleteItem(caller: Caller, namespace: string, kind: ItemKind, name?: string): Promise<void> {
    const ns = await this.namespace(caller, namespace);
    this.require(caller, kind === 'property' ? 'remove_metadef_property' : kind === 'tag' && name === undefined ? 'delete_metadef_tags' : `delete_metadef_${kind}`, ns);
    const n = await this.repo.deleteItems(ns.id, kind, name);
    if (name !== undefined && n === 0) throw this.notFoundItem(kind, name, namespace);
  }

  /** POST /tags/{name}. */
  async addTag(caller: Caller, namespace: string, name: string): Promise<MetadefItemRow> {
    return this.addItem(caller, namespace, 'tag', { name });
  }

  /** POST /tags: replaces the namespace's tags (appends with X-Openstack-Append: True). */
  async addTags(caller: Caller, namespace: string, body: unknown, append: boolean): Promise<MetadefItemRow[]> {
    const ns = await this.namespace(caller, namespace);
    this.require(caller, 'add_metadef_tags', ns);
    const tags = obj(body).tags;
    if (!Array.isArray(tags)) throw invalid('tags', `${pyRepr(tags ?? null)} is not of type 'array'`);
    const t = now();
    const rows = tags.map((tg) => this.tagRow(ns.id, obj(tg).name, t));
    const names = new Set(rows.map((r) => r.name));
    if (names.size !== rows.length) throw conflict(`Duplicate tags in the request for namespace=${namespace}.`);
    if (!(await this.repo.insertItems(rows, append ? undefined : { namespaceId: ns.id, kind: 'tag' }))) {
      throw conflict(`A metadata tag already exists in namespace=${namespace}.`);
    }
    return rows;
  }

  // ---- resource types ----

  async resourceTypes(caller: Caller) {
    this.require(caller, 'list_metadef_resource_types');
    return this.repo.resourceTypes();
  }

  async associations(caller: Caller, namespace: string): Promise<AssociationRow[]> {
    const ns = await this.namespace(caller, namespace);
    return this.repo.associations(ns.id);
  }

  private async associateRow(ns: NamespaceRow, body: unknown): Promise<AssociationRow> {
    const b = obj(body);
    checkString('resource_type_association', b, 'name', 80, true);
    checkString('resource_type_association', b, 'prefix', 80);
    checkString('resource_type_association', b, 'properties_target', 80);
    const t = now();
    await this.repo.ensureResourceType(b.name as string, t);
    const row: AssociationRow = {
      namespace_id: ns.id, resource_type: b.name as string, prefix: (b.prefix as string | undefined) ?? null,
      properties_target: (b.properties_target as string | undefined) ?? null, created_at: t, updated_at: t,
    };
    if (!(await this.repo.associate(row))) {
      throw conflict(`The metadata definition resource-type association of resource-type=${row.resource_type} to namespace=${ns.namespace} already exists.`);
    }
    return row;
  }

  async associate(caller: Caller, namespace: string, body: unknown): Promise<AssociationRow> {
    const ns = await this.namespace(caller, namespace);
    this.require(caller, 'add_metadef_resource_type_association', ns);
    return this.associateRow(ns, body);
  }

  async dissociate(caller: Caller, namespace: string, resourceType: string): Promise<void> {
    const ns = await this.namespace(caller, namespace);
    this.require(caller, 'remove_metadef_resource_type_association', ns);
    if (!(await this.repo.dissociate(ns.id, resourceType))) {
      throw notFound(`The metadata definition resource-type association of resource-type=${resourceType} to namespace=${namespace}, was not found.`);
    }
  }
}
