import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { PROBLEM_BASE, ProblemException } from './problem';

/** Deeper than any request body of ours (the deepest DTO nests three levels). */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of a parsed JSON value, counted without recursion (a 100 000-deep body cannot overflow the stack here). */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, level]);
  }
  return deepest;
}

/**
 * Refuses a body nested deeper than `MAX_JSON_DEPTH` before validation: class-transformer and
 * class-validator walk bodies recursively, and 5 000 levels overflowed the stack (500).
 */
export function jsonDepthLimit(maxDepth = MAX_JSON_DEPTH) {
  return (request: Request, _response: Response, next: NextFunction): void => {
    if (request.body !== undefined && jsonDepth(request.body, maxDepth) > maxDepth) {
      next(new ProblemException({ type: PROBLEM_BASE + 'too-deeply-nested', title: 'Request body is nested too deeply', status: 400, detail: `JSON bodies may nest at most ${maxDepth} levels.` }));
      return;
    }
    next();
  };
}

function rawProblem(status: number, reason: string, type: string, title: string, detail: string): string {
  const body = JSON.stringify({ type: PROBLEM_BASE + type, title, status, detail });
  return [`HTTP/1.1 ${status} ${reason}`, 'Content-Type: application/problem+json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body].join('\r\n');
}

/**
 * Requests Node's HTTP parser refuses before any handler runs (headers too large, malformed request
 * line) are answered as problem+json too, instead of Node's bare `431` or `400` without a body.
 */
export function answerClientErrorsAsProblems(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const response =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? rawProblem(431, 'Request Header Fields Too Large', 'headers-too-large', 'Request headers too large', 'The request headers exceed the server limit.')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? rawProblem(408, 'Request Timeout', 'request-timeout', 'Request timeout', 'The request was not received in time.')
          : rawProblem(400, 'Bad Request', 'bad-request', 'Bad request', 'The request could not be parsed as HTTP.');
    socket.end(response);
  });
}
