/**
 * A value from the request, fit to quote in an error_description or a log line: JSON-quoted and
 * cut to a length a person can read, so an attacker cannot make us echo 16 KiB.
 */
export function quote(value: unknown, max = 120): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}\u2026` : text;
}
