/** JSON schemas shared by identity's routes (Keystone accepts extra attributes on most resources). */
export const nameSchema = { type: 'string', minLength: 1, maxLength: 255 };
export const shortName = { type: 'string', minLength: 1, maxLength: 64 };
export const nullableString = { type: ['string', 'null'] };
export const bool = { type: 'boolean' };
export const tags = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 255 }, maxItems: 80 };

/** {"<key>": {...}} with the inner object's schema. */
export const wrap = (key: string, inner: object, required = true) => ({
  type: 'object',
  required: required ? [key] : [],
  properties: { [key]: { type: 'object', ...inner } },
});

/** Splits known fields from the extra attributes Keystone stores as-is. */
export function splitExtra<T extends Record<string, unknown>>(obj: T, known: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !known.includes(k)));
}
