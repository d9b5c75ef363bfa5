import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';

/** Where `npm run build` puts the back office web application (apps/back-office, built by Vite). */
export const BACK_OFFICE_DIR = resolve(__dirname, '../../../../back-office');

/**
 * Serves the back office web application under /back-office/ from the gateway itself: one origin for
 * the pages and the API, so the staff token is sent to no one else and no CORS is needed. The pages
 * are public files; everything they show comes from the API with the staff token. Without a build
 * (a gateway run from sources in tests) /back-office answers 404.
 */
export function serveBackOffice(app: INestApplication, dir = BACK_OFFICE_DIR): void {
  if (!existsSync(join(dir, 'index.html'))) return;
  const http = app.getHttpAdapter().getInstance() as express.Express;
  http.use('/back-office', express.static(dir, { index: 'index.html', fallthrough: true, maxAge: 0 }));
  http.get('/back-office', (_request: Request, response: Response) => response.redirect(301, '/back-office/'));
  http.use('/back-office', (request: Request, response: Response, next: NextFunction) => {
    if (request.method !== 'GET') return next();
    response.sendFile(join(dir, 'index.html'));
  });
}
