import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { context, SpanStatusCode } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { startTracedSpan } from '@dh/messaging';
import type { ServiceMetrics } from './metrics';

export const CORRELATION_ID_HTTP_HEADER = 'x-correlation-id';
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** The route template (`/api/customers/:id`), never the raw path, so labels stay few. */
function routeOf(req: Request): string {
  const route: unknown = (req as Request & { route?: { path?: unknown } }).route?.path;
  return typeof route === 'string' ? `${req.baseUrl}${route}` : 'unmatched';
}

/**
 * Every request runs in a server span that continues the caller's W3C trace (`traceparent`), with a
 * correlation id (the caller's `X-Correlation-Id` or a new one, echoed back) that commands, events and
 * log lines carry on; its duration goes into the latency histogram by route template.
 */
export function httpObservability(metrics: ServiceMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.header(CORRELATION_ID_HTTP_HEADER);
    const correlationId = given && CORRELATION_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Correlation-Id', correlationId);
    const started = process.hrtime.bigint();
    const { span, context: active } = startTracedSpan({
      name: `HTTP ${req.method}`,
      kind: 'server',
      carrier: req.headers,
      correlationId,
      attributes: { 'http.request.method': req.method, 'url.path': req.path },
    });
    res.once('finish', () => {
      const route = routeOf(req);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpDuration.observe({ method: req.method, route, status_code: String(res.statusCode) }, seconds);
      span.updateName(`HTTP ${req.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(active, next);
  };
}

export const SERVICE_METRICS = Symbol('SERVICE_METRICS');

@Controller()
export class MetricsController {
  constructor(@Inject(SERVICE_METRICS) private readonly metrics: ServiceMetrics) {}

  /** Prometheus text exposition of this process's metrics. */
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() res: Response): Promise<void> {
    const { contentType, body } = await this.metrics.render();
    res.type(contentType).send(body);
  }
}

/**
 * `GET /metrics` on a port of its own (`METRICS_PORT`), for Prometheus inside the cluster: nothing else is
 * served there, and the service's HTTP port (the gateway's is public) has no `/metrics`.
 */
export async function serveMetricsApart(metrics: ServiceMetrics, port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
