import type { NextFunction, Request, Response } from 'express';
import { PROBLEM_BASE, ProblemException } from './problem';

interface BodyParserError {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  limit?: unknown;
}

/**
 * express's JSON body parser fails with plain errors (`entity.too.large`, `entity.parse.failed`, …)
 * that the problem filter would answer with 500. This turns them into stable problems. The parser's
 * own message is never passed on: for malformed JSON it quotes the body, which may hold a CPR.
 */
export function bodyParserErrorToProblem(error: unknown): ProblemException | null {
  if (typeof error !== 'object' || error === null) return null;
  const { type, status, statusCode, limit } = error as BodyParserError;
  const httpStatus = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : null;
  if (typeof type !== 'string' || httpStatus === null || httpStatus < 400 || httpStatus >= 500) return null;
  switch (type) {
    case 'entity.too.large':
      return new ProblemException({
        type: PROBLEM_BASE + 'payload-too-large',
        title: 'Request body too large',
        status: 413,
        detail: typeof limit === 'number' ? `The request body exceeds the limit of ${limit} bytes.` : 'The request body exceeds the limit.',
      });
    case 'entity.parse.failed':
      return new ProblemException({ type: PROBLEM_BASE + 'malformed-json', title: 'Request body is not valid JSON', status: 400, detail: 'The request body could not be parsed as JSON.' });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ProblemException({ type: PROBLEM_BASE + 'unsupported-media-type', title: 'Unsupported content encoding or charset', status: 415, detail: `Unsupported ${type.split('.')[0]}.` });
    default:
      return new ProblemException({ type: PROBLEM_BASE + 'bad-request', title: 'Bad request', status: 400, detail: 'The request body could not be read.' });
  }
}

/** Express error middleware, registered right after the body parser. */
export function bodyParserErrors(error: unknown, _request: Request, _response: Response, next: NextFunction): void {
  next(bodyParserErrorToProblem(error) ?? error);
}
