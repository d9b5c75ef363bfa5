import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { maskPersonalData } from './mask';

function mask(value: unknown): unknown {
  if (typeof value === 'string') return maskPersonalData(value);
  if (value instanceof Error) return maskPersonalData(value.stack ?? value.message);
  if (value !== null && typeof value === 'object') return JSON.parse(maskPersonalData(JSON.stringify(value))) as unknown;
  return value;
}

/** Nest's console logger with personal data masked in every message, context and stack. */
export class MaskingLogger extends ConsoleLogger {
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
