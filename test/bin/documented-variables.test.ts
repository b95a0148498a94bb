/**
 * Every environment variable a local command reads is documented, and the README's figures for
 * those commands hold: a newcomer finds a setting by reading, not by reading the source.
 */
import { readFileSync, readdirSync } from 'node:fs';

const docs = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]
  .map((path) => readFileSync(path, 'utf8'))
  .join('\n');

/** The commands a user runs: npm start, admin, dev-idp, demo, mcp-server; and what they read. */
const SOURCES = [
  ...readdirSync('bin')
    .filter((f) => f.endsWith('.ts') && f !== 'app.ts' && f !== 'build-package.ts')
    .map((f) => `bin/${f}`),
  'examples/mcp-server/main.ts',
  'lambda/config.ts',
  ...readdirSync('local')
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `local/${f}`),
].filter((path) => /\benv\./.test(readFileSync(path, 'utf8')));

test.each(SOURCES)('every environment variable %s reads is documented', (path) => {
  const source = readFileSync(path, 'utf8');
  const names = new Set(
    [...source.matchAll(/\b(?:process\.)?env\.([A-Z][A-Z0-9_]+)\b/g)]
      .map((m) => m[1]!)
      .filter(
        (name) => !['PATH', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'].includes(name),
      ),
  );
  expect([...names].filter((name) => !new RegExp(`\\b${name}\\b`).test(docs))).toEqual([]);
});

test("the README gives npm run bench's real duration", () => {
  const readme = readFileSync('README.md', 'utf8');
  const bench = readme.slice(
    readme.indexOf('`npm run bench`'),
    readme.indexOf('`npm run bench`') + 300,
  );
  expect(bench).not.toMatch(/about a minute/);
  expect(bench).toMatch(/a few minutes/);
});
