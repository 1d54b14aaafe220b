import { imageSchemaDoc } from '../service/image-schema.js';
import { METADEF_SCHEMA_DOCS } from './metadef-schemas.js';

/** The collection document Glance derives from an item schema. */
function collection(name: string, item: object) {
  return {
    name,
    properties: {
      [name]: { type: 'array', items: item },
      schema: { type: 'string' },
      first: { type: 'string' },
      next: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

const UUID = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

export function memberSchemaDoc() {
  return {
    name: 'member',
    properties: {
      member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
      image_id: { type: 'string', description: 'An identifier for the image', pattern: UUID },
      created_at: { type: 'string', description: 'Date and time of image member creation' },
      updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
      status: { type: 'string', description: 'The status of this image member', enum: ['pending', 'accepted', 'rejected'] },
      schema: { readOnly: true, type: 'string' },
    },
    additionalProperties: false,
  };
}

export function taskSchemaDoc() {
  return {
    name: 'task',
    properties: {
      id: { type: 'string', description: 'An identifier for the task', pattern: UUID },
      type: { type: 'string', description: 'The type of task represented by this content', enum: ['import', 'api_image_import'] },
      status: { type: 'string', description: 'The current status of this task', enum: ['pending', 'processing', 'success', 'failure'] },
      input: { type: ['null', 'object'], description: 'The parameters required by task, JSON blob' },
      result: { type: ['null', 'object'], description: 'The result of current task, JSON blob' },
      owner: { type: 'string', description: 'An identifier for the owner of this task' },
      message: { type: 'string', description: 'Human-readable informative message only included when appropriate (usually on failure)' },
      image_id: { type: 'string', description: 'Image associated with the task' },
      request_id: { type: 'string', description: 'Human-readable informative request-id' },
      user_id: { type: 'string', description: 'User associated with the task' },
      expires_at: { type: ['null', 'string'], description: 'Datetime when this resource would be subject to removal' },
      created_at: { type: 'string', description: 'Datetime when this resource was created' },
      updated_at: { type: 'string', description: 'Datetime when this resource was updated' },
      self: { type: 'string' },
      schema: { type: 'string' },
    },
    additionalProperties: false,
  };
}

/** /v2/schemas/{name}: the documents python-glanceclient and Tempest fetch. */
export const SCHEMA_DOCS: Record<string, () => object> = {
  image: imageSchemaDoc,
  images: () => collection('images', imageSchemaDoc()),
  member: memberSchemaDoc,
  members: () => collection('members', memberSchemaDoc()),
  task: taskSchemaDoc,
  tasks: () => collection('tasks', taskSchemaDoc()),
  ...METADEF_SCHEMA_DOCS,
};
