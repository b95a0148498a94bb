/** Structured JSON logs (Powertools Logger) and the one way an error is written into them. */
import { Logger } from '@aws-lambda-powertools/logger';

/** What handlers log through: a Powertools Logger in production, anything with these methods in tests. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** For runs whose log lines nobody reads (the demo's servers, the benchmark). */
export const silentLog: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export const SERVICE_NAME = 'xaa-auth-server';

export function createLogger(serviceName = SERVICE_NAME): Logger {
  return new Logger({ serviceName });
}

/** An error's name, message and stack for the log: nothing from the request is in them. */
export function describeError(err: unknown): Record<string, unknown> | string {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return String(err);
}
