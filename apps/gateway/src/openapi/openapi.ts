import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { OperationObject, PathItemObject, ReferenceObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { DEFAULT_PUBLIC_PATHS } from '@dh/auth';
import { OPERATIONS, PROBLEM_SCHEMA, type OperationDoc } from './operations';

/** Metadata keys of `@dh/auth`'s decorators (`libs/auth/src/nest/metadata.ts`). */
const IS_PUBLIC = 'dh:auth:public';
const REQUIRED_SCOPES = 'dh:auth:scopes';
const PERSONAL_DATA_READ = 'dh:auth:personal-data-read';

export const OPENAPI_DOCS_PATH = 'api/docs';
export const OPENAPI_JSON_PATH = 'api/docs/openapi.json';

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
type HttpMethod = (typeof HTTP_METHODS)[number];

interface ScopeRequirement {
  mode: 'all' | 'any';
  scopes: readonly string[];
}

interface HandlerInfo {
  isPublic: boolean;
  scopes: ScopeRequirement | undefined;
  auditedPersonalData: boolean;
}

/** `Controller_method` → the auth metadata on the handler (method overrides class), from every module's controllers. */
function handlerInfo(app: INestApplication): Map<string, HandlerInfo> {
  const info = new Map<string, HandlerInfo>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (!controller || typeof controller !== 'function') continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const read = <T>(key: string): T | undefined => (Reflect.getMetadata(key, handler) as T | undefined) ?? (Reflect.getMetadata(key, controller) as T | undefined);
        info.set(`${controller.name}_${name}`, {
          isPublic: read<boolean>(IS_PUBLIC) === true,
          scopes: read<ScopeRequirement>(REQUIRED_SCOPES),
          auditedPersonalData: read<unknown>(PERSONAL_DATA_READ) !== undefined,
        });
      }
    }
  }
  return info;
}

function describeAccess(info: HandlerInfo | undefined): string {
  if (!info || info.isPublic) return 'Public: no credentials.';
  const scopes = info.scopes;
  let text: string;
  if (!scopes) text = 'Refused to everyone (no scope declaration).';
  else if (scopes.scopes.length === 0) text = 'Any authenticated caller.';
  else text = `Scopes: ${scopes.mode === 'all' ? 'all of' : 'any of'} \`${scopes.scopes.join('`, `')}\`.`;
  if (scopes?.scopes.includes('portal:read')) text += ' Customers see only their own data (another customer\'s id answers 404).';
  if (info.auditedPersonalData) text += ' Staff must send `X-Access-Reason`; the read is written to the audit log.';
  return text;
}

const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

/** `/api/customers/{id}` from the document, `:id` in the router: one key for both. */
export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\/+$/, '') || '/'}`;
}

/**
 * The gateway's OpenAPI 3 document: every route Nest registered (swagger scans all controllers),
 * request schemas from the DTOs' class-validator rules, security and scopes from `@dh/auth`'s
 * decorators, summaries and response schemas from `OPERATIONS`, problem+json for every error.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('DataHub 3 settlement core API')
    .setDescription(
      [
        'REST API for ERP, CRM, the customer portal, the payment service and the backoffice.',
        '',
        'Authentication: systems use an API key (`X-Api-Key: dhk_…` or `Authorization: ApiKey dhk_…`) or an OAuth2 client-credentials JWT;',
        'customers and staff use a bearer JWT from their login. Each operation lists the scopes it needs.',
        '',
        'Every error is `application/problem+json` (RFC 9457) with a stable `type` URI under `https://datahub-core.dev/problems/`.',
        'Rate limits per caller answer 429 `…/problems/rate-limited` with `Retry-After`.',
      ].join('\n'),
    )
    .setVersion('1')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'API key of an ERP, CRM or payment system: `dhk_<prefix>_<secret>`.' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'JWT of an OAuth2 client (ERP/CRM/payment), a customer (portal) or a staff member (backoffice, `roles` claim).' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (controllerKey, methodKey) => `${controllerKey}_${methodKey}` });

  const schemas = (document.components ??= {}).schemas ??= {};
  const fromValidators = validationMetadatasToSchemas({ refPointerPrefix: '#/components/schemas/' }) as Record<string, SchemaObject>;
  for (const [name, schema] of Object.entries(fromValidators)) {
    const existing = schemas[name] as SchemaObject | undefined;
    if (!existing || Object.keys(existing.properties ?? {}).length === 0) schemas[name] = schema;
  }
  schemas.Problem = PROBLEM_SCHEMA;

  const info = handlerInfo(app);
  for (const [path, item] of Object.entries(document.paths) as [string, PathItemObject][]) {
    for (const method of HTTP_METHODS) {
      const operation = item[method] as OperationObject | undefined;
      if (!operation) continue;
      const found = operation.operationId ? info.get(operation.operationId) : undefined;
      // The auth guard's public paths (health) need no credentials without a decorator.
      const handler = found && DEFAULT_PUBLIC_PATHS.some((pattern) => pattern.test(path)) ? { ...found, isPublic: true } : found;
      const doc: OperationDoc | undefined = OPERATIONS[routeKey(method, path)];
      applyDoc(operation, doc, handler, method);
    }
  }
  return document;
}

function applyDoc(operation: OperationObject, doc: OperationDoc | undefined, handler: HandlerInfo | undefined, method: HttpMethod): void {
  const access = describeAccess(handler);
  if (doc) {
    operation.summary = doc.summary;
    operation.tags = [doc.tag];
  }
  operation.description = [doc?.description, access].filter(Boolean).join('\n\n');
  const isPublic = !handler || handler.isPublic;
  operation.security = isPublic ? [] : [{ 'api-key': [] }, { bearer: [] }];
  const responses = (operation.responses ??= {});
  // Swagger guesses 200/201 with no content; the catalogue's status and schema replace the guess.
  if (doc) {
    for (const status of Object.keys(responses)) if (/^2\d\d$/.test(status)) delete responses[status];
    responses[String(doc.status ?? (method === 'post' ? 201 : 200))] = doc.response
      ? { description: doc.responseDescription ?? 'OK', content: { [doc.contentType ?? 'application/json']: { schema: doc.response as SchemaObject | ReferenceObject } } }
      : { description: doc.responseDescription ?? 'OK' };
  }
  if (['post', 'put', 'patch'].includes(method)) {
    responses['400'] ??= problemResponse('Malformed JSON (`malformed-json`) or invalid body (`validation`, field by field in `errors`).');
    responses['413'] ??= problemResponse('Body larger than the limit (`payload-too-large`).');
    responses['415'] ??= problemResponse('Body is not `application/json` (`unsupported-media-type`).');
  }
  if (!isPublic) {
    responses['401'] ??= problemResponse('No or invalid credentials (`unauthorized`).');
    responses['403'] ??= problemResponse('A required scope is missing (`forbidden`, `missingScopes`).');
  }
  for (const [status, description] of Object.entries(doc?.problems ?? {})) responses[status] ??= problemResponse(description);
  responses['429'] ??= problemResponse('Rate limit exceeded (`rate-limited`); see `Retry-After`.');
  responses['500'] ??= problemResponse('Unexpected error (`internal`); no details are disclosed.');
}

/** Serves the document (public, outside the auth guard): UI at `/api/docs`, JSON at `/api/docs/openapi.json`. */
export function setupOpenApi(app: INestApplication): OpenAPIObject {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup(OPENAPI_DOCS_PATH, app, document, { jsonDocumentUrl: OPENAPI_JSON_PATH, yamlDocumentUrl: 'api/docs/openapi.yaml', useGlobalPrefix: false });
  return document;
}
