/**
 * The image JSON schema Glance publishes at /v2/schemas/image (base properties plus the
 * custom properties of its default schema-image.json), and a validator for request bodies
 * that answers as Glance's jsonschema validation does.
 */

export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
export const IMAGE_STATUSES = ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'];
export const VISIBILITIES = ['community', 'public', 'private', 'shared'];
const UUID_PATTERN = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

export interface PropertySchema {
  type?: string | string[];
  description?: string;
  enum?: (string | null)[];
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  readOnly?: boolean;
  writeOnly?: boolean;
  items?: PropertySchema;
  properties?: Record<string, PropertySchema>;
  required?: string[];
  additionalProperties?: boolean | PropertySchema;
  is_base?: boolean;
}

/** Glance's base image properties (glance.api.v2.images.get_base_properties). */
export const BASE_PROPERTIES: Record<string, PropertySchema> = {
  id: { type: 'string', description: 'An identifier for the image', pattern: UUID_PATTERN },
  name: { type: ['null', 'string'], description: 'Descriptive name for the image', maxLength: 255 },
  status: { type: 'string', readOnly: true, description: 'Status of the image', enum: IMAGE_STATUSES },
  visibility: { type: 'string', description: 'Scope of image accessibility', enum: VISIBILITIES },
  protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
  os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
  checksum: { type: ['null', 'string'], readOnly: true, description: 'md5 hash of image contents.', maxLength: 32 },
  os_hash_algo: { type: ['null', 'string'], readOnly: true, description: 'Algorithm to calculate the os_hash_value', maxLength: 64 },
  os_hash_value: {
    type: ['null', 'string'], readOnly: true, maxLength: 128,
    description: 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo',
  },
  owner: { type: ['null', 'string'], description: 'Owner of the image', maxLength: 255 },
  size: { type: ['null', 'integer'], readOnly: true, description: 'Size of image file in bytes' },
  virtual_size: { type: ['null', 'integer'], readOnly: true, description: 'Virtual size of image in bytes' },
  container_format: { type: ['null', 'string'], description: 'Format of the container', enum: [null, ...CONTAINER_FORMATS] },
  disk_format: { type: ['null', 'string'], description: 'Format of the disk', enum: [null, ...DISK_FORMATS] },
  created_at: { type: 'string', readOnly: true, description: 'Date and time of image registration' },
  updated_at: { type: 'string', readOnly: true, description: 'Date and time of the last image modification' },
  tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
  direct_url: { type: 'string', readOnly: true, description: 'URL to access the image file kept in external store' },
  min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
  min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
  self: { type: 'string', readOnly: true, description: 'An image self url' },
  file: { type: 'string', readOnly: true, description: 'An image file url' },
  stores: {
    type: 'string', readOnly: true,
    description: 'Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers.',
  },
  schema: { type: 'string', readOnly: true, description: 'An image schema url' },
  locations: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        url: { type: 'string', maxLength: 255 },
        metadata: { type: 'object' },
        validation_data: {
          description: "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
          type: 'object', writeOnly: true, additionalProperties: false,
          properties: {
            checksum: { type: 'string', minLength: 32, maxLength: 32 },
            os_hash_algo: { type: 'string', maxLength: 64 },
            os_hash_value: { type: 'string', maxLength: 128 },
          },
          required: ['os_hash_algo', 'os_hash_value'],
        },
      },
      required: ['url', 'metadata'],
    },
    description: 'A set of URLs to access the image file kept in external store',
  },
};

/** The custom properties Glance ships in etc/schema-image.json (typed, but not base). */
export const CUSTOM_PROPERTIES: Record<string, PropertySchema> = {
  kernel_id: {
    type: ['null', 'string'], pattern: UUID_PATTERN, is_base: false,
    description: 'ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.',
  },
  ramdisk_id: {
    type: ['null', 'string'], pattern: UUID_PATTERN, is_base: false,
    description: 'ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.',
  },
  instance_uuid: {
    type: 'string', is_base: false,
    description: 'Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)',
  },
  architecture: { type: 'string', is_base: false, description: 'Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html' },
  os_distro: { type: 'string', is_base: false, description: 'Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html' },
  os_version: { type: 'string', is_base: false, description: 'Operating system version as specified by the distributor.' },
  description: { type: 'string', is_base: false, description: 'A human-readable string describing this image.' },
};

export const IMAGE_PROPERTIES: Record<string, PropertySchema> = { ...BASE_PROPERTIES, ...CUSTOM_PROPERTIES };

/** The /v2/schemas/image document. */
export function imageSchemaDoc() {
  return {
    name: 'image',
    properties: IMAGE_PROPERTIES,
    additionalProperties: { type: 'string' },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

/** Python's repr of a JSON value, as jsonschema's messages print them. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as object).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

const typeOk = (t: string, v: unknown): boolean => {
  switch (t) {
    case 'null': return v === null;
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number';
    case 'boolean': return typeof v === 'boolean';
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    default: return true;
  }
};

/** The first violation of a value against a property schema, in jsonschema's words. */
export function violation(schema: PropertySchema, v: unknown): string | undefined {
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeOk(t, v))) return `${pyRepr(v)} is not of type ${types.map(pyRepr).join(', ')}`;
  }
  if (schema.enum && !schema.enum.includes(v as string | null)) return `${pyRepr(v)} is not one of ${pyRepr(schema.enum)}`;
  if (typeof v === 'string') {
    if (schema.maxLength !== undefined && [...v].length > schema.maxLength) return `${pyRepr(v)} is too long`;
    if (schema.minLength !== undefined && [...v].length < schema.minLength) return `${pyRepr(v)} is too short`;
    if (schema.pattern && !new RegExp(schema.pattern).test(v)) return `${pyRepr(v)} does not match ${pyRepr(schema.pattern)}`;
  }
  if (Array.isArray(v) && schema.items) {
    for (const item of v) {
      const bad = violation(schema.items, item);
      if (bad) return bad;
    }
  }
  if (typeOk('object', v) && schema.properties) {
    const obj = v as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) return `${pyRepr(r)} is a required property`;
    for (const [k, x] of Object.entries(obj)) {
      const sub = schema.properties[k];
      if (sub) {
        const bad = violation(sub, x);
        if (bad) return bad;
      } else if (schema.additionalProperties === false) {
        return `Additional properties are not allowed (${pyRepr(k)} was unexpected)`;
      }
    }
  }
  return undefined;
}

/**
 * Validates (part of) an image body against the image schema: known properties by their
 * schema, any other property must be a string. Returns Glance's 400 message, or undefined.
 */
export function validateImage(body: Record<string, unknown>): string | undefined {
  for (const [k, v] of Object.entries(body)) {
    const schema = IMAGE_PROPERTIES[k] ?? { type: 'string' };
    const bad = violation(schema, v);
    if (bad) return `Provided object does not match schema 'image': ${bad}`;
  }
  return undefined;
}
