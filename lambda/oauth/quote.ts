/**
 * A value from the request, fit to quote in an error_description or a log line: JSON-quoted and
 * cut to a length a person can read, so an attacker cannot make us echo 16 KiB. A value JSON
 * cannot write (nested deeper than the stack: 5,000 arrays fit in a 16 KiB body) is named by its
 * type, never thrown: a refusal must not become a 500.
 */
export function quote(value: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = `(${Array.isArray(value) ? 'an array' : `a ${typeof value}`} too deeply nested to quote)`;
  }
  return text.length > max ? `${text.slice(0, max)}\u2026` : text;
}

/**
 * A value of a JWT header or a JSON document as a description may show it: quoted when it is a
 * string, named by its type otherwise (an object with its own `toString` is never called).
 */
export function quoteValue(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  return value === null
    ? 'null'
    : `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
}
