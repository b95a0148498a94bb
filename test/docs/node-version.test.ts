/**
 * One Node.js version is the documented one: the functions' runtime, `.nvmrc`, and the README's
 * quick start name the same major. CI runs it and the oldest major `engines` still allows, so both
 * keep working. The AWS SDK's warning about the Node.js versions it will drop is hidden only where
 * it is noise (the tests, the bench), never where a user runs the product on their own Node.js.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './references.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};

/** The Node.js major the Lambda functions run on and are bundled for. */
function functionsMajor(): string {
  const runtime = /Runtime\.NODEJS_(\d+)_X/.exec(read('lib/route-function.ts'))?.[1];
  const target = /target: 'node(\d+)'/.exec(read('lib/lambda-bundle.ts'))?.[1];
  expect(runtime).toBeDefined();
  expect(target).toBe(runtime);
  return runtime!;
}

/** The majors the GitHub workflow's matrix runs. */
function ciMajors(workflow: string): string[] {
  const list = /^\s+node: \[([^\]]*)\]/m.exec(workflow)?.[1] ?? '';
  return list
    .split(',')
    .map((v) => v.trim().replace(/^['"]|['"]$/g, ''))
    .filter(Boolean);
}

test('.nvmrc and the README name the version the functions run on', () => {
  const major = functionsMajor();
  expect(read('.nvmrc').trim()).toBe(major);
  const quickStart = read('README.md').split('## Quick start')[1] ?? '';
  expect(/^\s*Node\.js (\d+)\b/.exec(quickStart)?.[1]).toBe(major);
});

test('CI runs the documented version and the oldest one engines allows', () => {
  const oldest = /^>=\s*(\d+)$/.exec(pkg.engines.node)?.[1];
  expect(oldest).toBeDefined();
  const majors = ciMajors(read('.github/workflows/ci.yml'));
  expect(majors).toEqual(expect.arrayContaining([read('.nvmrc').trim(), oldest]));
  // The matrix is what the job runs on, not a list beside a pinned version.
  expect(read('.github/workflows/ci.yml')).toContain('node-version: ${{ matrix.node }}');
});

test("the AWS SDK's Node.js version warning is hidden in the tests and the bench only", () => {
  const hiding = Object.entries(pkg.scripts)
    .filter(([, command]) => command.includes('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'))
    .map(([name]) => name)
    .sort();
  // jest: a run that passes prints no warning; bench: its output is a report of figures. Where a
  // user runs the server, the admin or the demo on Node.js 20, the SDK's notice is for them.
  expect(hiding).toEqual(['bench', 'jest']);
});

test('the checks can fail: a matrix without the oldest version is read as such', () => {
  expect(ciMajors("    matrix:\n      node: ['22']\n")).toEqual(['22']);
  expect(ciMajors('      node: [\'20\', "22"]\n')).toEqual(['20', '22']);
  expect(ciMajors('      node-version: 22\n')).toEqual([]);
});
