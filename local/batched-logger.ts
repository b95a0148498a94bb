/**
 * The local server's logger: Powertools' Logger, the same JSON lines as on Lambda, handed to
 * stdout and stderr once per event-loop turn instead of once per line. Under load, a console
 * call and a synchronous write for each token's line were a measurable share of the event loop's
 * time; batched, the lines of one turn share one write. Lines still
 * waiting when the process exits are written then; a kill -9 can lose at most one turn's lines,
 * never state (the store writes its journals itself).
 */
import { Logger, LogLevelThreshold, type LogItem } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import { SERVICE_NAME } from '../lambda/logging.js';

/** Lines for one stream, written together at the end of the event-loop turn they were made in. */
export class LineBatch {
  private lines: string[] = [];
  private scheduled = false;

  constructor(private readonly write: (text: string) => void) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = this.lines.join('');
    this.lines = [];
    this.write(text);
  }
}

const stdout = new LineBatch((text) => process.stdout.write(text));
const stderr = new LineBatch((text) => process.stderr.write(text));
process.once('exit', () => {
  stdout.flush();
  stderr.flush();
});

export class BatchedLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    // Where Powertools' console would put it: warnings and errors on stderr, the rest on stdout.
    const batch = logLevel >= LogLevelThreshold.WARN ? stderr : stdout;
    batch.push(`${JSON.stringify(log.getAttributes(), this.getJsonReplacer())}\n`);
  }

  /** Child loggers (logger.createChild) batch too. */
  protected override createLogger(options?: ConstructorOptions): Logger {
    return new BatchedLogger(options);
  }
}

export const createLocalLogger = (serviceName = SERVICE_NAME): Logger =>
  new BatchedLogger({ serviceName });
