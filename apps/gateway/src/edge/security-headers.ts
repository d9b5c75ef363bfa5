import type { INestApplication } from '@nestjs/common';
import type { Express, NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

/**
 * Response headers for an API that carries personal data (OWASP API8:2023, security misconfiguration):
 * helmet's defaults (HSTS, nosniff, no framing, no referrer, no cross-origin opener/resource sharing)
 * with a Content-Security-Policy that allows nothing for the API (it serves JSON, never a page) and
 * helmet's default policy for the OpenAPI page; `Cache-Control: no-store` so no proxy or browser
 * keeps a customer's data. Since nothing keeps an answer, nothing revalidates one either: Express computes
 * no `ETag` (a SHA-1 over every body, 50–90 KiB for a portal consumption view); so neither does the
 * OpenAPI document. The back office's static files keep theirs (`express.static` and `sendFile` make their own).
 */
export function applySecurityHeaders(app: INestApplication): void {
  (app.getHttpAdapter().getInstance() as Express).set('etag', false);
  const api = helmet({ contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } }, referrerPolicy: { policy: 'no-referrer' } });
  const docs = helmet({ referrerPolicy: { policy: 'no-referrer' } });
  app.use((request: Request, response: Response, next: NextFunction) => {
    // The OpenAPI page and the back office web application are pages: helmet's default policy (same origin only).
    if (request.path.startsWith('/api/docs') || request.path.startsWith('/back-office')) return docs(request, response, next);
    response.setHeader('Cache-Control', 'no-store');
    return api(request, response, next);
  });
}

/**
 * CORS for the customer portal's origins only (`PORTAL_ORIGINS`, comma-separated, e.g.
 * `https://min.elselskab.dk`). The systems (ERP, CRM, payment) call server to server and need none;
 * with no origins configured, no cross-origin browser call is allowed at all.
 */
export function applyCors(app: INestApplication, env: NodeJS.ProcessEnv = process.env): void {
  const origins = (env.PORTAL_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    const url = new URL(origin);
    if (url.origin !== origin) throw new Error(`PORTAL_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path)`);
  }
  if (origins.length === 0) return;
  app.enableCors({
    origin: origins,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
    exposedHeaders: ['Retry-After', 'RateLimit-Policy'],
    credentials: false,
    maxAge: 600,
  });
}
