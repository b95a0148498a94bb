/**
 * What a test makes a library print on the console, captured instead of printed, so that a green
 * run prints no warning or error block that reads like a failure, and the test asserts what was said.
 */
export interface CapturedConsole {
  /** Each call, its arguments joined by spaces as the console would print them. */
  readonly lines: string[];
  /** Puts the console method back; call it in a `finally`. */
  restore(): void;
}

export function captureConsole(method: 'warn' | 'error'): CapturedConsole {
  const original = console[method];
  const lines: string[] = [];
  console[method] = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  return {
    lines,
    restore: () => {
      console[method] = original;
    },
  };
}

/**
 * Everything this test file's code writes on stdout and stderr (a real Powertools logger writes
 * there), kept instead of printed from the file's first test to its last, for a test that proves
 * what was never written. Call it at the top of the file: it registers its own beforeAll/afterAll.
 */
export function captureProcessOutput(): readonly string[] {
  const written: string[] = [];
  const originalWrites = [process.stdout.write, process.stderr.write] as const;
  beforeAll(() => {
    const capture = ((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    }) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
  });
  afterAll(() => {
    [process.stdout.write, process.stderr.write] = originalWrites;
  });
  return written;
}
