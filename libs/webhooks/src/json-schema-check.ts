/**
 * A small JSON Schema (draft 2020-12) checker for the subset our public event schemas use. It refuses
 * any keyword it does not implement (so a schema can never pass because a rule was silently ignored).
 * Supported: $schema/$id/title/description/$comment/x-* (annotations), $defs, $ref (local `#/...`),
 * type, const, enum, required, properties, additionalProperties (boolean), items, minItems, oneOf,
 * anyOf, pattern, minLength, minimum, maximum, format (`date-time` checked, others annotations).
 */
export type JsonSchema = { readonly [keyword: string]: unknown } | boolean;

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', '$comment', 'version', 'examples', 'default']);
const KEYWORDS = new Set([
  '$defs',
  '$ref',
  'type',
  'const',
  'enum',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'minItems',
  'oneOf',
  'anyOf',
  'pattern',
  'minLength',
  'minimum',
  'maximum',
  'format',
]);

export class UnsupportedSchemaError extends Error {
  override readonly name = 'UnsupportedSchemaError';
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      throw new UnsupportedSchemaError(`unknown type ${JSON.stringify(type)}`);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#')) throw new UnsupportedSchemaError(`only local $ref is supported, got ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter((p) => p !== '')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) || !(part in node)) throw new UnsupportedSchemaError(`$ref ${ref} does not resolve`);
    node = node[part];
  }
  if (typeof node !== 'boolean' && !isObject(node)) throw new UnsupportedSchemaError(`$ref ${ref} is not a schema`);
  return node as JsonSchema;
}

function check(root: JsonSchema, schema: JsonSchema, value: unknown, at: string, errors: string[]): void {
  if (schema === true) return;
  if (schema === false) {
    errors.push(`${at}: not allowed`);
    return;
  }
  for (const keyword of Object.keys(schema)) {
    if (!KEYWORDS.has(keyword) && !ANNOTATIONS.has(keyword) && !keyword.startsWith('x-')) throw new UnsupportedSchemaError(`keyword ${keyword} at ${at} is not supported`);
  }
  const s = schema as { [key: string]: unknown };
  if (typeof s.$ref === 'string') check(root, resolveRef(root, s.$ref), value, at, errors);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(t, value))) {
      errors.push(`${at}: must be of type ${types.join('|')}`);
      return;
    }
  }
  if ('const' in s && !deepEqual(s.const, value)) errors.push(`${at}: must equal ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((option) => deepEqual(option, value))) errors.push(`${at}: must be one of ${JSON.stringify(s.enum)}`);
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && [...value].length < s.minLength) errors.push(`${at}: shorter than ${s.minLength}`);
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${at}: does not match ${s.pattern}`);
    if (s.format === 'date-time' && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) errors.push(`${at}: not a date-time`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${at}: below ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${at}: above ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) errors.push(`${at}: fewer than ${s.minItems} items`);
    if (s.items !== undefined) value.forEach((item, i) => check(root, s.items as JsonSchema, item, `${at}[${i}]`, errors));
  }
  if (isObject(value)) {
    const properties = isObject(s.properties) ? (s.properties as { [key: string]: JsonSchema }) : {};
    if (Array.isArray(s.required)) {
      for (const name of s.required as string[]) if (!(name in value)) errors.push(`${at}: missing ${name}`);
    }
    for (const [name, v] of Object.entries(value)) {
      if (name in properties) check(root, properties[name]!, v, `${at}.${name}`, errors);
      else if (s.additionalProperties === false) errors.push(`${at}: unexpected property ${name}`);
      else if (isObject(s.additionalProperties)) check(root, s.additionalProperties as JsonSchema, v, `${at}.${name}`, errors);
    }
  }
  for (const combinator of ['oneOf', 'anyOf'] as const) {
    const options = s[combinator];
    if (!Array.isArray(options)) continue;
    const results = options.map((option: JsonSchema) => {
      const sub: string[] = [];
      check(root, option, value, at, sub);
      return sub;
    });
    const passing = results.filter((r) => r.length === 0).length;
    if (combinator === 'oneOf' && passing !== 1) errors.push(`${at}: must match exactly one schema of oneOf, matched ${passing} (${results.map((r) => r.join(', ')).join(' | ')})`);
    if (combinator === 'anyOf' && passing === 0) errors.push(`${at}: must match a schema of anyOf (${results.map((r) => r.join(', ')).join(' | ')})`);
  }
}

/** The violations of `value` against `schema` (empty when valid). Throws on unsupported keywords. */
export function checkJsonSchema(schema: JsonSchema, value: unknown): string[] {
  const errors: string[] = [];
  check(schema, schema, value, '$', errors);
  return errors;
}
