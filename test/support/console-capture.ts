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
