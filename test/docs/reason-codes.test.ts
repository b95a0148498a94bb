/** docs/spec.md's table of refusal reason codes is the one in lambda/oauth/errors.ts, no more, no less. */
import { readFileSync } from 'node:fs';
import { REASONS } from '../../lambda/oauth/errors.js';

const spec = readFileSync(new URL('../../docs/spec.md', import.meta.url), 'utf8');

/** code → error, as the spec's table lists them. */
function documented(markdown: string): Map<string, string> {
  const section = markdown.split('## Refusal reason codes')[1]?.split('\n## ')[0] ?? '';
  const codes = new Map<string, string>();
  for (const row of section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| rule'))) {
    const [, , list, error] = row.split('|').map((cell) => cell.trim());
    for (const code of list?.match(/`(\w+)`/g) ?? []) {
      codes.set(code.slice(1, -1), error?.replaceAll('`', '') ?? '');
    }
  }
  return codes;
}

test('every reason code is documented with its one OAuth error, and nothing else is', () => {
  expect(Object.fromEntries(documented(spec))).toEqual(REASONS);
});

test('the comparison fails when a code is missing from the table', () => {
  const withoutOne = spec.replace('`audience_mismatch`', '');
  expect(Object.fromEntries(documented(withoutOne))).not.toEqual(REASONS);
});
