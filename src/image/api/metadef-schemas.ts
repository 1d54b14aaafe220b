/** The /v2/schemas/metadefs/* documents Glance publishes (JSON schemas of the metadef API). */

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string', null];
const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
const time = (what: string) => ({ type: 'string', readOnly: true, description: what, format: 'date-time' });

const BASE_DEFINITIONS = {
  positiveInteger: { type: 'integer', minimum: 0 },
  positiveIntegerDefault0: { allOf: [ref('positiveInteger'), { default: 0 }] },
  stringArray: { type: 'array', items: { type: 'string' }, uniqueItems: true },
};

/** The fields of a property definition (itself a JSON-schema fragment). */
const PROPERTY_FIELDS = {
  name: { type: 'string', maxLength: 80 },
  title: { type: 'string' },
  description: { type: 'string' },
  operators: { type: 'array', items: { type: 'string' } },
  type: { type: 'string', enum: TYPES },
  required: ref('stringArray'),
  minimum: { type: 'number' },
  maximum: { type: 'number' },
  maxLength: ref('positiveInteger'),
  minLength: ref('positiveIntegerDefault0'),
  pattern: { type: 'string', format: 'regex' },
  enum: { type: 'array' },
  readonly: { type: 'boolean' },
  default: {},
  items: { type: 'object', properties: { type: { type: 'string', enum: TYPES }, enum: { type: 'array' } } },
  maxItems: ref('positiveInteger'),
  minItems: ref('positiveIntegerDefault0'),
  uniqueItems: { type: 'boolean', default: false },
  additionalItems: { type: 'boolean' },
};

const DEFINITIONS = {
  ...BASE_DEFINITIONS,
  property: { type: 'object', additionalProperties: { type: 'object', required: ['title', 'type'], properties: PROPERTY_FIELDS } },
};

const ASSOCIATION = {
  name: 'resource_type_association',
  properties: {
    name: { type: 'string', maxLength: 80, description: 'Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html' },
    prefix: { type: 'string', maxLength: 80, description: 'Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :).' },
    properties_target: { type: 'string', maxLength: 80, description: 'Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.' },
    created_at: time('Date and time of resource type association'),
    updated_at: time('Date and time of the last resource type association modification'),
  },
  required: ['name'],
  additionalProperties: false,
};

const NAMESPACE = {
  name: 'namespace',
  properties: {
    namespace: { type: 'string', maxLength: 80, description: 'The unique namespace text.' },
    display_name: { type: 'string', maxLength: 80, description: 'The user friendly name for the namespace. Used by UI if available.' },
    description: { type: 'string', maxLength: 500, description: 'Provides a user friendly description of the namespace.' },
    visibility: { type: 'string', enum: ['public', 'private'], description: 'Scope of namespace accessibility.' },
    protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
    owner: { type: 'string', maxLength: 255, description: 'Owner of the namespace.' },
    created_at: time('Date and time of namespace creation'),
    updated_at: time('Date and time of the last namespace modification'),
    schema: { type: 'string', readOnly: true },
    self: { type: 'string', readOnly: true },
    resource_type_associations: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, prefix: { type: 'string' }, properties_target: { type: 'string' } } } },
    properties: ref('property'),
    objects: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, description: { type: 'string' }, required: ref('stringArray'), properties: ref('property') } } },
    tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
  },
  required: ['namespace'],
  additionalProperties: false,
  definitions: DEFINITIONS,
};

const OBJECT = {
  name: 'object',
  properties: {
    name: { type: 'string', maxLength: 80 },
    description: { type: 'string' },
    required: ref('stringArray'),
    properties: ref('property'),
    schema: { type: 'string', readOnly: true },
    self: { type: 'string', readOnly: true },
    created_at: time('Date and time of object creation'),
    updated_at: time('Date and time of the last object modification'),
  },
  required: ['name'],
  additionalProperties: false,
  definitions: DEFINITIONS,
};

const PROPERTY = { name: 'property', properties: PROPERTY_FIELDS, required: ['type', 'title', 'name'], additionalProperties: false, definitions: BASE_DEFINITIONS };

const TAG = {
  name: 'tag',
  properties: { name: { type: 'string', maxLength: 80 }, created_at: time('Date and time of tag creation'), updated_at: time('Date and time of the last tag modification') },
  required: ['name'],
  additionalProperties: false,
};

/** A collection document: the items' definitions move to the top, as Glance's CollectionSchema does. */
function collection(name: string, item: Record<string, unknown>) {
  const { definitions, ...rest } = item as { definitions?: object };
  return {
    name,
    properties: { [name]: { type: 'array', items: rest }, schema: { type: 'string' }, first: { type: 'string' }, next: { type: 'string' } },
    links: [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }, { rel: 'describedby', href: '{schema}' }],
    ...(definitions ? { definitions } : {}),
  };
}

export const METADEF_SCHEMA_DOCS: Record<string, () => object> = {
  'metadefs/namespace': () => NAMESPACE,
  'metadefs/namespaces': () => collection('namespaces', NAMESPACE),
  'metadefs/object': () => OBJECT,
  'metadefs/objects': () => collection('objects', OBJECT),
  'metadefs/property': () => PROPERTY,
  'metadefs/properties': () => collection('properties', PROPERTY),
  'metadefs/tag': () => TAG,
  'metadefs/tags': () => collection('tags', TAG),
  'metadefs/resource_type': () => ASSOCIATION,
  'metadefs/resource_types': () => collection('resource_type_associations', ASSOCIATION),
};
