import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { deflatePart } from '@dh/read-models';
import { gzipOf } from './gzip-answer';

/**
 * A stitched gzip answer (stored blocks, sync-flushed parts, an empty final block, a combined CRC-32) in a real browser:
 * Debian's Chromium, as the portal's users have it, inflates it to exactly the text, through `fetch` and as a page.
 */

jest.setTimeout(60_000);

const hour = (day: number, h: number): string =>
  `{"start":"2025-10-${String(day).padStart(2, '0')}T${String(h).padStart(2, '0')}:00+02:00","end":"2025-10-${String(day).padStart(2, '0')}T${String(h + 1).padStart(2, '0')}:00+02:00","quantity_kwh":"0.${String((day * 37 + h * 11) % 1000).padStart(3, '0')}","estimated":false,"missing":false}`;
const days = Array.from({ length: 31 }, (_, d) => Array.from({ length: 24 }, (_, h) => hour(d + 1, h)).join(','));
// A frame with non-ASCII text and one longer than a stored block (65,535 bytes).
const open = `{"note":"Ærø ${'å'.repeat(40_000)}","values":[`;
const close = '],"total_kwh":"12.345"}';
const text = `${open}${days.join(',')}${close}`;

describe('a stitched gzip answer in Chromium', () => {
  let server: Server;
  let base: string;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    const parts = await Promise.all(days.map((d) => deflatePart(d)));
    const body = gzipOf([open, ...parts.flatMap((part, i) => (i === 0 ? [part] : [',', part])), close]);
    server = createServer((req, res) => {
      if (req.url === '/answer') {
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Encoding': 'gzip', 'Content-Length': body.length });
        res.end(body);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><title>gzip</title><p>ok</p>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'gzip-answer-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('inflates to exactly the text answer (fetch from a page, and the answer opened as a page)', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    const fetched = await page.evaluate(async () => {
      const res = await fetch('/answer');
      return { status: res.status, encoding: res.headers.get('content-encoding'), text: await res.text() };
    });
    expect(fetched.status).toBe(200);
    expect(fetched.encoding).toBe('gzip');
    expect(fetched.text).toBe(text);
    expect((JSON.parse(fetched.text) as { values: unknown[] }).values).toHaveLength(31 * 24);

    const opened = await page.goto(`${base}/answer`);
    expect(await opened?.text()).toBe(text);
  });
});
