/** `npm run admin -- clients ...` against DATA_DIR, with or without the server running. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../local/admin/client-admin.js';
import { LocalStore } from '../../local/local-store.js';
import { npmRun } from '../support/processes.js';
import { TestIdp } from '../support/test-idp.js';

let dataDir: string;
let env: Record<string, string>;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-admin-'));
  // Chosen secrets come from a named variable (AUTH-SECRET: never argv).
  env = { DATA_DIR: dataDir, CHOSEN_SECRET: 'a-very-long-secret-value', SHORT_SECRET: 'short' };
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

async function admin(...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runAdmin(argv, env, (l) => lines.push(l));
  return lines;
}

/** The store as the next server start will read it from DATA_DIR. */
async function stored<T>(read: (store: LocalStore) => Promise<T>): Promise<T> {
  const store = LocalStore.open(dataDir, { replay: false });
  try {
    return await read(store);
  } finally {
    store.close();
  }
}

async function adminError(...argv: string[]): Promise<AdminError> {
  const err = await admin(...argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdminError);
  return err as AdminError;
}

const ADD = [
  'clients',
  'add',
  '--client-id',
  'acme',
  '--scope',
  'read write',
  '--resource',
  'https://api.example.com/',
];

test('add generates a secret of at least 256 bits and prints it once; --json prints one object', async () => {
  const [line, ...rest] = await admin(...ADD, '--json');
  expect(rest).toEqual([]);
  const out = JSON.parse(line!) as { client_id: string; client_secret: string };
  expect(out.client_id).toBe('acme');
  expect(Buffer.from(out.client_secret, 'base64url').length).toBeGreaterThanOrEqual(32);
  const listed = (await admin('clients', 'list', '--json')).join('\n');
  expect(listed).not.toContain(out.client_secret);
  expect(JSON.parse(listed)).toEqual([
    {
      client_id: 'acme',
      scope: 'read write',
      resources: ['https://api.example.com/'],
      enabled: true,
    },
  ]);
  // The secret lives only in the 0600 journal.
  const journal = join(dataDir, 'clients.jsonl');
  expect(await readFile(journal, 'utf8')).toContain(out.client_secret);
  expect((await stat(journal)).mode & 0o777).toBe(0o600);
});

test('two generated secrets differ', async () => {
  const a = JSON.parse((await admin(...ADD, '--json'))[0]!) as { client_secret: string };
  const b = JSON.parse(
    (
      await admin(
        'clients',
        'add',
        '--client-id',
        'b',
        '--scope',
        'x',
        '--resource',
        'https://x.example/',
        '--json',
      )
    )[0]!,
  ) as { client_secret: string };
  expect(a.client_secret).not.toBe(b.client_secret);
});

test('a given secret, several resources, a token lifetime and issuers are recorded', async () => {
  await admin(
    'clients',
    'add',
    '--client-id',
    'full',
    '--client-secret-env',
    'CHOSEN_SECRET',
    '--scope',
    'read',
    '--resource',
    'https://a.example/',
    '--resource',
    'https://b.example/',
    '--token-lifetime',
    '600',
    '--issuer',
    'https://idp.xaa.dev',
  );
  expect(JSON.parse((await admin('clients', 'list', '--json'))[0]!)).toEqual([
    {
      client_id: 'full',
      scope: 'read',
      resources: ['https://a.example/', 'https://b.example/'],
      enabled: true,
      token_lifetime: 600,
      issuers: ['https://idp.xaa.dev'],
    },
  ]);
});

test('a client id already registered is refused, and the first client\u2019s secret is untouched', async () => {
  const first = JSON.parse((await admin(...ADD, '--json'))[0]!) as { client_secret: string };
  env.CHOSEN_SECRET = 'another-secret-value-123';
  const err = await adminError(...ADD, '--client-secret-env', 'CHOSEN_SECRET');
  expect(err.message).toMatch(/already registered/);
  expect(err.exitCode).toBe(1);
  await stored(async (store) => {
    expect(store.secretCount).toBe(1);
    expect(await store.getSecret((await store.get('acme'))!.secretRef)).toBe(first.client_secret);
  });
});

test('remove deletes the record and its secret', async () => {
  await admin(...ADD);
  expect(await admin('clients', 'remove', '--client-id', 'acme')).toEqual(['Removed client acme']);
  expect(await admin('clients', 'list')).toEqual(['No clients registered.']);
  expect(await stored(async (store) => store.secretCount)).toBe(0);
  expect((await adminError('clients', 'remove', '--client-id', 'acme')).message).toMatch(
    /not registered/,
  );
});

test.each([
  [[], /expected: clients add\|show\|update\|rotate-secret\|list\|remove/],
  [['clients'], /expected/],
  [['clients', 'frobnicate'], /unknown command/],
  [['clients', 'add', '--scope', 'a', '--resource', 'https://x/'], /--client-id is required/],
  [['clients', 'add', '--client-id', 'x', '--resource', 'https://x/'], /--scope is required/],
  [['clients', 'add', '--client-id', 'x', '--scope', 'a'], /--resource is required/],
  [
    ['clients', 'add', '--client-id', 'x', '--scope', 'a', '--resource', '/relative'],
    /absolute URI/,
  ],
  [
    ['clients', 'add', '--client-id', 'x', '--scope', 'a', '--resource', 'https://x/#f'],
    /absolute URI without a fragment/,
  ],
  [
    ['clients', 'add', '--client-id', 'has space', '--scope', 'a', '--resource', 'https://x/'],
    /--client-id must be/,
  ],
  [
    [
      'clients',
      'add',
      '--client-id',
      'x',
      '--scope',
      'a',
      '--resource',
      'https://x/',
      '--client-secret-env',
      'SHORT_SECRET',
    ],
    /at least 16/,
  ],
  [
    [
      'clients',
      'add',
      '--client-id',
      'x',
      '--scope',
      'a',
      '--resource',
      'https://x/',
      '--token-lifetime',
      '1h',
    ],
    /--token-lifetime/,
  ],
  [
    ['clients', 'add', '--client-id', 'x', '--scope', 'a "b"', '--resource', 'https://x/'],
    /not a valid scope token/,
  ],
  // GRANT-SCOPE: "read,write" is two scopes written the wrong way.
  [
    ['clients', 'add', '--client-id', 'x', '--scope', 'read,write', '--resource', 'https://x/'],
    /^--scope "read,write" contains a comma: separate scopes with spaces \(--scope "read write"\)$/,
  ],
  [
    ['clients', 'add', '--client-id', 'x', '--scope', 'r\u00e9ad', '--resource', 'https://x/'],
    /^--scope "r\u00e9ad" is not a valid scope token/,
  ],
  // GRANT-RESOURCE: RFC 8707 wants an absolute URI; a space makes it none.
  [
    ['clients', 'add', '--client-id', 'x', '--scope', 'a', '--resource', 'https://x.example/a b'],
    /^--resource "https:\/\/x.example\/a b" must be an absolute URI without a fragment or spaces/,
  ],
  // With no server running, the shell's configuration: the default trusts idp.xaa.dev only.
  [
    [...ADD, '--issuer', 'https://untrusted.example'],
    /^--issuer "https:\/\/untrusted.example" is not a trusted issuer of this server \(trusted: https:\/\/idp.xaa.dev; from this shell's environment/,
  ],
  [
    [...ADD, '--token-lifetime', '90000'],
    /^--token-lifetime 90000 exceeds the server's cap of 86400 s/,
  ],
  [['clients', 'rotate-secret', '--client-id', 'acme', '--grace', '-1'], /--grace/],
  [['clients', 'update', '--client-id', 'acme'], /needs something to change/],
  [
    ['clients', 'list', '--bogus'],
    /^unknown option --bogus\n\nUsage:\n {2}npm run admin -- clients list/,
  ],
  [['clients', 'remove'], /--client-id is required/],
])('bad arguments %j: usage, exit code 2', async (argv, message) => {
  const err = await adminError(...argv);
  expect(err.exitCode).toBe(2);
  expect(err.message).toMatch(message);
});

test('as a command: bad arguments exit 2 with the usage on stderr', async () => {
  const run = await npmRun('admin', ['clients', 'add'], env);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/Usage:/);
  expect(run.stdout).toBe('');
}, 60_000);

test('as a command: add --json prints only the JSON object on stdout', async () => {
  const run = await npmRun('admin', [...ADD, '--json'], env);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({ client_id: 'acme', client_secret: expect.any(String) });
}, 60_000);

test('disable and enable a client', async () => {
  await admin(...ADD);
  expect(await admin('clients', 'disable', '--client-id', 'acme')).toEqual([
    'Disabled client acme',
  ]);
  expect(JSON.parse((await admin('clients', 'list', '--json'))[0]!)[0].enabled).toBe(false);
  await admin('clients', 'enable', '--client-id', 'acme');
  expect(JSON.parse((await admin('clients', 'list', '--json'))[0]!)[0].enabled).toBe(true);
  expect((await adminError('clients', 'disable', '--client-id', 'ghost')).message).toMatch(
    /not registered/,
  );
});

describe('assertion check', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await TestIdp.start();
  });
  afterAll(() => idp.stop());
  const checkEnv = () => ({
    ...env,
    ISSUER: 'http://localhost:3000',
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
  });
  const check = async (jag: string, ...extra: string[]) => {
    const lines: string[] = [];
    const err = await runAdmin(['assertion', 'check', jag, ...extra], checkEnv(), (l) =>
      lines.push(l),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { lines: lines.join('\n'), err };
  };

  test('a good assertion for a registered client: every check passes, exit 0', async () => {
    await runAdmin([...ADD], checkEnv(), () => undefined);
    const { lines, err } = await check(
      await idp.mint({ audience: 'http://localhost:3000', clientId: 'acme' }),
      '--client-id',
      'acme',
    );
    expect(err).toBeUndefined();
    expect(lines).toMatch(/Every check passed/);
    // The ten ID-JAG checks, then the client, the resource and the scope, as the endpoint runs them.
    expect(lines.match(/\u2714/g)).toHaveLength(13);
    expect(lines).toMatch(/configuration: this shell's environment \(no server is running/);
  });

  test('a bad assertion: each failing check says why, exit 1, and nothing is redeemed', async () => {
    const jag = await idp.mint(
      { audience: 'http://localhost:3000/', clientId: 'other' },
      { exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 700 },
    );
    const { lines, err } = await check(jag, '--client-id', 'acme');
    expect((err as AdminError).exitCode).toBe(1);
    expect(lines).toMatch(/\u2718 aud is this server's issuer.*\n.*trailing slash/);
    expect(lines).toMatch(/\u2718 exp, nbf and iat.*\n.*expired at/);
    expect(lines).toMatch(/\u2718 client_id is the authenticated client/);
    expect(lines).toMatch(/\u2718 the client is registered and enabled.*\n.*client_unknown/);
    expect(lines).toMatch(/would refuse/);
  });

  test('an untrusted issuer and garbage, as JSON', async () => {
    const other = await TestIdp.start();
    try {
      const { lines } = await check(
        await other.mint({ audience: 'http://localhost:3000', clientId: 'x' }),
        '--json',
      );
      const report = JSON.parse(lines) as {
        valid: boolean;
        checks: Array<{ id: string; status: string; reason?: string; description?: string }>;
      };
      expect(report.valid).toBe(false);
      expect(report.checks.find((c) => c.id === 'issuer')).toMatchObject({
        status: 'fail',
        reason: 'issuer_untrusted',
        description: expect.stringMatching(/not trusted/),
      });
    } finally {
      await other.stop();
    }
    const garbage = await check('not-a-jwt', '--json');
    expect(JSON.parse(garbage.lines).checks[0]).toMatchObject({ id: 'format', status: 'fail' });
  });

  test('DPOP-CNF-JKT: a bound assertion is reported with what redeeming it needs', async () => {
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const jag = await idp.mint(
      { audience: 'http://localhost:3000', clientId: 'acme' },
      { cnf: { jkt } },
    );
    const { lines } = await check(jag, '--client-id', 'acme');
    expect(lines).toMatch(
      new RegExp(
        `! the assertion is bound to key ${jkt} \\(cnf\\.jkt\\): redeeming it needs a DPoP header`,
      ),
    );
    const json = JSON.parse((await check(jag, '--json')).lines) as { dpop?: { jkt?: string } };
    expect(json.dpop).toMatchObject({ reason: 'cnf_jkt', jkt });
    const other = await idp.mint(
      { audience: 'http://localhost:3000', clientId: 'acme' },
      { cnf: { 'x5t#S256': 'abc' } },
    );
    const refused = await check(other, '--client-id', 'acme');
    expect(refused.lines).toMatch(/cnf this server cannot check/);
    expect((refused.err as AdminError).exitCode).toBe(1);
  });

  test('DPOP-REQUIRED: a client or a resource that takes bound tokens only is reported', async () => {
    await runAdmin([...ADD, '--dpop-bound-required'], checkEnv(), () => undefined);
    const jag = await idp.mint(
      { audience: 'http://localhost:3000', clientId: 'acme' },
      { resource: 'https://api.example.com/' },
    );
    const json = async (...extra: string[]) =>
      (JSON.parse((await check(jag, '--json', ...extra)).lines) as { dpop?: unknown }).dpop;
    expect(await json('--client-id', 'acme')).toEqual({
      reason: 'client',
      needs:
        'client acme takes DPoP-bound tokens only: redeeming needs a DPoP header: a proof (typ dpop+jwt) for POST http://localhost:3000/token (DPOP-REQUIRED)',
    });
    // No client given: nothing is required of it.
    expect(await json()).toBeUndefined();
    env.DPOP_REQUIRED_RESOURCES = 'https://api.example.com/';
    expect(await json()).toEqual({
      reason: 'resource',
      needs:
        'resource https://api.example.com/ takes DPoP-bound tokens only: redeeming needs a DPoP header: a proof (typ dpop+jwt) for POST http://localhost:3000/token (DPOP-REQUIRED)',
    });
  });

  test('usage: exactly one assertion', async () => {
    expect((await adminError('assertion', 'check')).exitCode).toBe(2);
    expect((await adminError('assertion', 'verify', 'x')).exitCode).toBe(2);
  });
});
