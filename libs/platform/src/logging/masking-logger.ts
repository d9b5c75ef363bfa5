import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { currentCorrelationId, currentTraceIds } from '@dh/messaging';
import { maskPersonalData } from './mask';

function mask(value: unknown): unknown {
  if (typeof value === 'string') return maskPersonalData(value);
  if (value instanceof Error) return maskPersonalData(value.stack ?? value.message);
  if (value !== null && typeof value === 'object') return JSON.parse(maskPersonalData(JSON.stringify(value))) as unknown;
  return value;
}

/**
 * Nest's console logger with personal data masked in every message, context and stack. With
 * `json: true` (services, unless LOG_FORMAT=text) each line is one JSON object that also names the
 * service and carries the correlation id and the trace and span ids of the request, command or event
 * being handled, so one search finds everything a request caused in every service.
 */
export class MaskingLogger extends ConsoleLogger {
  protected override getJsonLogObject(message: unknown, options: { context: string; logLevel: LogLevel; writeStreamType?: 'stdout' | 'stderr'; errorStack?: unknown }) {
    const line: ReturnType<ConsoleLogger['getJsonLogObject']> & Record<string, unknown> = super.getJsonLogObject(message, options);
    line.time = new Date(line.timestamp).toISOString();
    if (this.options.prefix) line.service = this.options.prefix;
    const correlationId = currentCorrelationId();
    if (correlationId) line.correlationId = correlationId;
    const trace = currentTraceIds();
    if (trace) {
      line.traceId = trace.traceId;
      line.spanId = trace.spanId;
    }
    return line;
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages.map(mask), context === undefined ? context : maskPersonalData(context), logLevel, writeStreamType, mask(errorStack));
  }

  protected override printStackTrace(stack: string | undefined): void {
    if (typeof stack === 'string') super.printStackTrace(maskPersonalData(stack));
  }
}
