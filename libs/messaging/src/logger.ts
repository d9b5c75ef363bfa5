/** The subset of Nest's `LoggerService` the messaging classes use; pass a Nest `Logger` as is. */
export interface MessagingLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, trace?: string): void;
}

const toConsole: MessagingLogger = {
  log: (message) => console.log(message),
  warn: (message) => console.warn(message),
  error: (message, trace) => console.error(trace === undefined ? message : `${message}\n${trace}`),
};

let processLogger: MessagingLogger = toConsole;

/**
 * Where messaging classes log when given no logger: the console, until the process routes it
 * through its own (a service's masking JSON logger, see `runService` in @dh/platform).
 */
export function setProcessMessagingLogger(logger: MessagingLogger): void {
  processLogger = logger;
}

/** The default logger of every messaging class; writes to the process's messaging logger (the console unless set). */
export const consoleMessagingLogger: MessagingLogger = {
  log: (message) => processLogger.log(message),
  warn: (message) => processLogger.warn(message),
  error: (message, trace) => processLogger.error(message, trace),
};

export const silentMessagingLogger: MessagingLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Validates a PostgreSQL schema name and returns it double-quoted. */
export function quoteSchema(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`Invalid schema name ${JSON.stringify(schema)}`);
  return `"${schema}"`;
}
