import type { NextFunction, Request, Response } from 'express';
import { PROBLEM_BASE, ProblemException } from '@dh/platform';

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export const UNSUPPORTED_MEDIA_TYPE = PROBLEM_BASE + 'unsupported-media-type';

function hasBody(request: Request): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * The gateway's request bodies are JSON: a POST/PUT/PATCH with a body of another type answers 415
 * problem+json (the JSON parser would skip it and the handler would see an empty body). Paths under
 * `exemptPrefixes` (`NON_JSON_BODY_PATHS`, comma-separated) may accept other types.
 */
export function jsonOnlyMiddleware(exemptPrefixes: readonly string[] = []) {
  return (request: Request, _response: Response, next: NextFunction): void => {
    if (!BODY_METHODS.has(request.method) || !hasBody(request)) return next();
    const path = request.originalUrl.split('?')[0] ?? '';
    if (exemptPrefixes.some((prefix) => path.startsWith(prefix))) return next();
    const type = request.headers['content-type'] ?? '';
    if (JSON_TYPE.test(type)) return next();
    next(
      new ProblemException({
        type: UNSUPPORTED_MEDIA_TYPE,
        title: 'Unsupported media type',
        status: 415,
        detail: 'Request bodies must be application/json.',
      }),
    );
  };
}
