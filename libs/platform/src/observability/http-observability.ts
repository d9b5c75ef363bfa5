import { randomUUID } from 'node:crypto';
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
