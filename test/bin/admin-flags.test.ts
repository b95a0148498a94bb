/**
 * Mistakes on the admin's command line: one line saying what is wrong (a mistyped flag with the one
 * it was probably meant to be), then the usage of that one command; `help` works.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../local/admin/client-admin.js';

let env: Record<string, string>;
beforeAll(async () => {
  env = { DATA_DIR: await mkdtemp(join(tmpdir(), 'xaa-flags-')) };
});
afterAll(() => rm(env.DATA_DIR!, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ out: string; err?: AdminError }> {
  const lines: string[] = [];
  const err = await runAdmin(argv, env, (l) => lines.push(l)).then(
    () => undefined,
    (e: unknown) => e as AdminError,
  );
  return { out: lines.join('\n'), err };
}

const ADD = ['clients', 'add', '--scope', 'read', '--resource', 'https://api.example.com/'];

test.each([
  ['--clientid', 'client-id'],
  ['--client_id', 'client-id'],
  ['--Client-ID', 'client-id'],
  ['--scopes', 'scope'],
  ['--resources', 'resource'],
  ['--dpop', 'dpop-bound-required'],
  ['--jsno', 'json'],
])(
  'a mistyped flag %s: one line naming --%s, then the usage of that command only',
  async (typo, meant) => {
    const { err } = await run(...ADD, typo, 'acme');
    expect(err).toBeInstanceOf(AdminError);
    expect(err!.exitCode).toBe(2);
    const [first, blank, ...usage] = err!.message.split('\n');
    expect(first).toBe(`unknown option ${typo}: did you mean --${meant}?`);
    expect(blank).toBe('');
    expect(usage[0]).toBe('Usage:');
    expect(usage[1]).toMatch(/^ {2}npm run admin -- clients add --client-id ID/);
    // Not the other commands' usage.
    expect(err!.message).not.toMatch(/npm run admin -- (clients (?!add)|assertion)/);
    // Not Node's own wording, written for its API.
    expect(err!.message).not.toMatch(/positional argument|place it at the end|'--/);
  },
);

test('an unknown flag nothing resembles is named, without a guess', async () => {
  const { err } = await run('clients', 'list', '--frobnicate');
  expect(err!.message.split('\n')[0]).toBe('unknown option --frobnicate');
  expect(err!.message).toMatch(/\n {2}npm run admin -- clients list \[--json\]\n/);
});

test('--grace -5 is a clear error, not an "ambiguous" one', async () => {
  const { err } = await run('clients', 'rotate-secret', '--client-id', 'acme', '--grace', '-5');
  expect(err!.exitCode).toBe(2);
  expect(err!.message.split('\n')[0]).toBe(
    '--grace must be a whole number of seconds from 0 to 2592000, got "-5"',
  );
  expect(err!.message).toMatch(/Usage:\n {2}npm run admin -- clients rotate-secret/);
  expect(err!.message).not.toMatch(/ambiguous/);
});

test('a flag without its value says so in one line', async () => {
  const { err } = await run('clients', 'show', '--client-id');
  expect(err!.message.split('\n')[0]).toBe('--client-id needs a value');
  const json = await run('clients', 'list', '--json=yes');
  expect(json.err!.message.split('\n')[0]).toBe('--json takes no value');
});

test('help: every command; help COMMAND and COMMAND --help: that one', async () => {
  const all = await run('help');
  expect(all.err).toBeUndefined();
  expect(all.out).toMatch(/^Usage:\n/);
  for (const command of ['clients add', 'clients rotate-secret', 'assertion check'])
    expect(all.out).toContain(`npm run admin -- ${command}`);
  for (const argv of [
    ['help', 'clients', 'update'],
    ['clients', 'update', '--help'],
  ]) {
    const one = await run(...argv);
    expect(one.err).toBeUndefined();
    expect(one.out).toMatch(/^Usage:\n {2}npm run admin -- clients update --client-id ID/);
    expect(one.out).not.toMatch(/npm run admin -- (clients (?!update)|assertion)/);
  }
});

test('AUTH-SECRET: no secret from argv; --client-secret VALUE is refused, naming the way that is', async () => {
  const { out } = await run('help', 'clients', 'add');
  expect(out).not.toMatch(/--client-secret(?![-\w])/);
  const secret = 'an-argv-secret-0123456789';
  const { err } = await run(...ADD, '--client-id', 'x', '--client-secret', secret);
  expect(err?.exitCode).toBe(2);
  expect(err?.message.split('\n')[0]).toBe(
    'unknown option --client-secret: did you mean --client-secret-stdin?',
  );
  expect(err?.message).not.toContain(secret);
});
