import 'reflect-metadata';
import { DynamicModule, INestApplication, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { setProcessMessagingLogger, type MessagingLogger } from '@dh/messaging';
import { loadConfig } from '../config/service-config';
import { HEALTH_CHECKS, HEALTH_WORKERS, HealthController } from '../health/health';
import { bodyParserErrors } from '../http/body-parser-errors';
import { BytesReplyExpressAdapter } from '../http/bytes-reply';
import { ProblemDetailsFilter } from '../http/problem';
import { answerClientErrorsAsProblems, jsonDepthLimit } from '../http/hostile-input';
import { createValidationPipe } from '../http/validation';
import { maskPersonalData } from '@dh/logging';
import { MaskingLogger } from '../logging/masking-logger';
import { httpObservability, MetricsController, serveMetricsApart, SERVICE_METRICS } from '../observability/http-observability';
import { registerTracing } from '../observability/tracing';
import { Infrastructure, openInfrastructure } from './infrastructure';

export const INFRASTRUCTURE = Symbol('INFRASTRUCTURE');

export interface ServiceDefinition {
  name: string;
  defaultPort: number;
  /** The app's own module, built with the open infrastructure. */
  module: (infrastructure: Infrastructure) => DynamicModule;
  /** Starts consumers, relays, command servers: anything beyond HTTP. Returns a stopper. */
  start?: (infrastructure: Infrastructure, app: INestApplication) => Promise<() => Promise<void>>;
  /** Request body limit; 1 MB unless an app needs more. */
  bodyLimit?: string;
  /** Its HTTP port faces the internet (the gateway): metrics are never served on it, only on `METRICS_PORT`. */
  publicHttp?: boolean;
}

export interface RunningService {
  app: INestApplication;
  infrastructure: Infrastructure;
  url: string;
  stop(): Promise<void>;
}

function messagingLogger(name: string): MessagingLogger {
  const logger = new Logger(name);
  return {
    log: (message: string) => logger.log(maskPersonalData(message)),
    warn: (message: string) => logger.warn(maskPersonalData(message)),
    error: (message: string, trace?: string) => logger.error(maskPersonalData(trace ? `${message}\n${trace}` : message)),
  };
}

/** Boots one service process: config, infrastructure, Nest app with health, problem+json and validation. */
export async function runService(definition: ServiceDefinition, env: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(definition.name, definition.defaultPort, env);
  registerTracing(definition.name, env);
  // One JSON object per line (LOG_FORMAT=text for a human at a terminal).
  const logger = new MaskingLogger(definition.name, { timestamp: true, prefix: definition.name, json: env.LOG_FORMAT !== 'text' });
  Logger.overrideLogger(logger);
  // Consumers, relays and command handlers that were given no logger write through the masking JSON logger too.
  setProcessMessagingLogger(messagingLogger(definition.name));
  const infrastructure = await openInfrastructure(config, messagingLogger(definition.name));
  const metricsApart = config.metricsPort !== null || definition.publicHttp === true;

  @Module({
    imports: [definition.module(infrastructure)],
    controllers: metricsApart ? [HealthController] : [HealthController, MetricsController],
    providers: [
      { provide: HEALTH_CHECKS, useValue: infrastructure.healthChecks },
      { provide: HEALTH_WORKERS, useValue: () => infrastructure.amqp.workers.statuses() },
      { provide: INFRASTRUCTURE, useValue: infrastructure },
      { provide: SERVICE_METRICS, useValue: infrastructure.metrics },
    ],
  })
  class ServiceRootModule {}

  const app = await NestFactory.create(ServiceRootModule, new BytesReplyExpressAdapter(), { logger, bodyParser: false });
  const express = await import('express');
  app.use(httpObservability(infrastructure.metrics));
  app.use(express.json({ limit: definition.bodyLimit ?? '1mb', type: ['application/json', 'application/*+json'] }));
  // Too large (413), malformed JSON (400), unsupported charset (415) as problem+json, not 500.
  app.use(bodyParserErrors);
  // Nested deeper than any of our bodies (400) before validation walks it recursively.
  app.use(jsonDepthLimit());
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  const stopExtras = definition.start ? await definition.start(infrastructure, app) : async () => undefined;
  // 431 (headers too large) and unparsable requests as problem+json, not Node's bare answers.
  answerClientErrorsAsProblems(app.getHttpServer());
  await app.listen(config.httpPort, config.httpHost);
  const url = await app.getUrl();
  logger.log(`${definition.name} listening on ${url}`);
  let metricsServer: { url: string; close(): Promise<void> } | null = null;
  if (config.metricsPort !== null) {
    metricsServer = await serveMetricsApart(infrastructure.metrics, config.metricsPort, config.httpHost);
    logger.log(`${definition.name} metrics on ${metricsServer.url}/metrics`);
  } else if (metricsApart) {
    logger.warn(`METRICS_PORT is not set: ${definition.name} serves no metrics (never on its public HTTP port)`);
  }

  let stopped = false;
  return {
    app,
    infrastructure,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopExtras();
      await metricsServer?.close();
      await app.close();
      await infrastructure.close();
    },
  };
}

/** Entry point of an app's main.ts: run, and stop cleanly on SIGTERM/SIGINT. */
export function main(definition: ServiceDefinition): void {
  runService(definition)
    .then((service) => {
      const shutdown = (signal: string) => {
        new Logger(definition.name).log(`${signal} received, stopping`);
        service.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            new Logger(definition.name).error(error instanceof Error ? error.stack : String(error));
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    })
    .catch((error: unknown) => {
      new Logger(definition.name).error(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    });
}
