/**
 * The admin against a running local server: it judges by the server's configuration, not the
 * admin shell's (`assertion check` runs the endpoint's own steps; `clients add` refuses what the
 * server would never honour), rotates secrets with a grace period the server honours, and never
 * takes a secret through argv when used as the docs teach.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../local/admin/client-admin.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { LOCAL_ISSUER as ISSUER, LocalFixture } from '../support/local-fixture.js';

let f: LocalFixture;
beforeAll(async () => {
  f = await LocalFixture.start();
});
afterAll(() => f.close());

/** The admin shell knows DATA_DIR and nothing else: no ISSUER, no TRUSTED_ISSUERS. */
const shell = () => ({ DATA_DIR: f.dataDir });

async function admin(argv: string[], stdin?: string) {
  const lines: string[] = [];
  const err = await runAdmin(argv, shell(), (l) => lines.push(l), {
    stdin: async () => stdin ?? '',
  }).then(
    () => undefined,
    (e: unknown) => e as AdminError,
  );
  return { out: lines.join('\n'), err };
}

const redeem = async (clientId: string, clientSecret: string) => {
  const res = await fetch(`${f.server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: JWT_BEARER_GRANT,
      assertion: await f.idp.mint({ audience: ISSUER, clientId }),
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  return res.status;
};

describe('assertion check runs the token endpoint\u2019s steps against the running server', () => {
  let clientId: string;
  let clientSecret: string;
  beforeAll(async () => {
    ({ client_id: clientId, client_secret: clientSecret } = await f.addClient(
      undefined,
      'read write',
      ['https://api.example.com/'],
    ));
  });

  test('it says which configuration it used: the running server\u2019s, not the shell\u2019s', async () => {
    const jag = await f.idp.mint({ audience: ISSUER, clientId });
    const { out, err } = await admin(['assertion', 'check', jag, '--client-id', clientId]);
    // The shell has no TRUSTED_ISSUERS: with its environment the IdP would be untrusted.
    expect(err).toBeUndefined();
    expect(out).toMatch(/configuration: the running server's configuration/);
    expect(out).toMatch(/Every check passed/);
  });

  test('GRANT-RESOURCE: a resource the client does not have (no trailing slash) fails as the endpoint refuses it', async () => {
    const jag = await f.idp.mint(
      { audience: ISSUER, clientId },
      { resource: 'https://api.example.com' },
    );
    const { out, err } = await admin([
      'assertion',
      'check',
      jag,
      '--client-id',
      clientId,
      '--json',
    ]);
    expect(err?.exitCode).toBe(1);
    const report = JSON.parse(out) as { valid: boolean; checks: Array<Record<string, unknown>> };
    expect(report.valid).toBe(false);
    expect(report.checks.find((c) => c.id === 'resource')).toMatchObject({
      status: 'fail',
      error: 'invalid_target',
      reason: 'resource_not_registered',
    });
    // The endpoint agrees.
    const res = await fetch(`${f.server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: JWT_BEARER_GRANT,
        assertion: await f.idp.mint(
          { audience: ISSUER, clientId },
          { resource: 'https://api.example.com' },
        ),
        client_id: clientId,
        client_secret: clientSecret,
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_target' });
  });

  test('GRANT-SCOPE: a scope the client lacks fails with the endpoint\u2019s reason; the request\u2019s --scope and --resource count', async () => {
    const jag = await f.idp.mint({ audience: ISSUER, clientId }, { scope: 'admin' });
    const { out, err } = await admin(['assertion', 'check', jag, '--client-id', clientId]);
    expect(err?.exitCode).toBe(1);
    expect(out).toMatch(
      /\u2718 some requested scope may be granted.*\n.*invalid_scope scope_not_granted/,
    );
    expect(out).not.toMatch(/Every check passed/);

    const good = await f.idp.mint({ audience: ISSUER, clientId }, { scope: 'read write' });
    const narrowed = await admin([
      'assertion',
      'check',
      good,
      '--client-id',
      clientId,
      '--scope',
      'write',
      '--resource',
      'https://api.example.com/',
    ]);
    expect(narrowed.err).toBeUndefined();
    expect(narrowed.out).toMatch(/scope "write"/);
    const elsewhere = await admin([
      'assertion',
      'check',
      good,
      '--client-id',
      clientId,
      '--resource',
      'https://other.example/',
    ]);
    expect(elsewhere.err?.exitCode).toBe(1);
    expect(elsewhere.out).toMatch(/invalid_target resource_not_registered/);
  });

  test('a disabled client is what the endpoint refuses first', async () => {
    const c = await f.addClient();
    await admin(['clients', 'disable', '--client-id', c.client_id]);
    const jag = await f.idp.mint({ audience: ISSUER, clientId: c.client_id });
    const { out, err } = await admin(['assertion', 'check', jag, '--client-id', c.client_id]);
    expect(err?.exitCode).toBe(1);
    expect(out).toMatch(/invalid_client client_disabled/);
  });
});

describe('clients add and update are held to the running server\u2019s policy', () => {
  const add = (...extra: string[]) =>
    admin([
      'clients',
      'add',
      '--client-id',
      `p${Math.random().toString(36).slice(2, 8)}`,
      '--scope',
      'read',
      '--resource',
      'https://api.example.com/',
      ...extra,
    ]);

  test('JAG-CLIENT-ISSUER: an issuer the server does not trust is refused, one line naming the flag', async () => {
    const { err } = await add('--issuer', 'https://not-trusted.example');
    expect(err?.exitCode).toBe(2);
    expect(err?.message.split('\n')).toHaveLength(1);
    expect(err?.message).toMatch(
      /^--issuer "https:\/\/not-trusted.example" is not a trusted issuer of this server \(trusted: \S+; from the running server's configuration/,
    );
    // The trusted one, from the server's configuration (the shell has none), is accepted.
    expect((await add('--issuer', f.idp.issuer)).err).toBeUndefined();
  });

  test('RESP-LIFETIME: a token lifetime above the server\u2019s cap is refused, naming the cap', async () => {
    const { err } = await add('--token-lifetime', '86401');
    expect(err?.exitCode).toBe(2);
    expect(err?.message).toMatch(/^--token-lifetime 86401 exceeds the server's cap of 86400 s/);
    expect((await add('--token-lifetime', '86400')).err).toBeUndefined();
  });

  test('update changes scopes, resources, lifetime and issuers under the same rules; show never prints the secret', async () => {
    const c = await f.addClient();
    const updated = await admin([
      'clients',
      'update',
      '--client-id',
      c.client_id,
      '--scope',
      'read',
      '--resource',
      'https://b.example/',
      '--token-lifetime',
      '600',
      '--issuer',
      f.idp.issuer,
    ]);
    expect(updated.err).toBeUndefined();
    const shown = await admin(['clients', 'show', '--client-id', c.client_id, '--json']);
    expect(JSON.parse(shown.out)).toEqual({
      client_id: c.client_id,
      scope: 'read',
      resources: ['https://b.example/'],
      enabled: true,
      token_lifetime: 600,
      issuers: [f.idp.issuer],
    });
    expect(shown.out).not.toContain(c.client_secret);
    const text = await admin(['clients', 'show', '--client-id', c.client_id]);
    expect(text.out).not.toContain(c.client_secret);
    expect(
      (await admin(['clients', 'update', '--client-id', c.client_id, '--token-lifetime', '999999']))
        .err?.message,
    ).toMatch(/exceeds the server's cap/);
    await admin(['clients', 'update', '--client-id', c.client_id, '--token-lifetime', 'default']);
    await admin(['clients', 'update', '--client-id', c.client_id, '--any-issuer']);
    const back = JSON.parse(
      (await admin(['clients', 'show', '--client-id', c.client_id, '--json'])).out,
    ) as Record<string, unknown>;
    expect(back.token_lifetime).toBeUndefined();
    expect(back.issuers).toBeUndefined();
  });
});

describe('AUTH-SECRET: secret rotation on the running server', () => {
  test('rotate-secret: during the grace period both secrets get tokens; with --grace 0 only the new one', async () => {
    const c = await f.addClient(undefined, 'read', ['https://api.example.com/']);
    const rotated = await admin([
      'clients',
      'rotate-secret',
      '--client-id',
      c.client_id,
      '--grace',
      '3600',
      '--json',
    ]);
    expect(rotated.err).toBeUndefined();
    const { client_secret: second, previous_secret_valid_until } = JSON.parse(rotated.out) as {
      client_secret: string;
      previous_secret_valid_until: string;
    };
    expect(second).not.toBe(c.client_secret);
    expect(Date.parse(previous_secret_valid_until) - Date.now()).toBeGreaterThan(3500_000);
    expect(await redeem(c.client_id, second)).toBe(200);
    expect(await redeem(c.client_id, c.client_secret)).toBe(200);

    const third = 'a-third-secret-chosen-by-the-operator-01';
    const again = await admin(
      [
        'clients',
        'rotate-secret',
        '--client-id',
        c.client_id,
        '--grace',
        '0',
        '--client-secret-stdin',
      ],
      `${third}\n`,
    );
    expect(again.err).toBeUndefined();
    // A chosen secret is not echoed back.
    expect(again.out).not.toContain(third);
    expect(await redeem(c.client_id, third)).toBe(200);
    expect(await redeem(c.client_id, second)).toBe(401);
    expect(await redeem(c.client_id, c.client_secret)).toBe(401);
  });

  test('--client-secret-env reads the named variable; two sources at once are refused', async () => {
    const lines: string[] = [];
    await runAdmin(
      [
        'clients',
        'add',
        '--client-id',
        'from-env',
        '--scope',
        'read',
        '--resource',
        'https://api.example.com/',
        '--client-secret-env',
        'XAA_CLIENT_SECRET',
      ],
      { ...shell(), XAA_CLIENT_SECRET: 'secret-from-the-environment-01' },
      (l) => lines.push(l),
    );
    expect(lines.join('\n')).not.toContain('secret-from-the-environment-01');
    expect(await redeem('from-env', 'secret-from-the-environment-01')).toBe(200);
    const both = await admin([
      'clients',
      'rotate-secret',
      '--client-id',
      'from-env',
      '--client-secret-stdin',
      '--client-secret-env',
      'XAA_CLIENT_SECRET',
    ]);
    expect(both.err?.exitCode).toBe(2);
    expect(both.err?.message).toMatch(/choose one of/);
  });
});

/** Every process in a process group, with its argv, from /proc. */
function groupArgv(pgid: number): string[] {
  const seen: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 5 (pgrp) follows the command name in parentheses, which may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      seen.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // gone meanwhile
    }
  }
  return seen;
}

test('AUTH-SECRET: following the docs, the secret is never in any admin process\u2019s argv', async () => {
  const secret = 'a-secret-that-must-not-show-in-ps-0123';
  const child = spawn(
    'npm',
    [
      'run',
      '-s',
      'admin',
      '--',
      'clients',
      'add',
      '--client-id',
      'argv-check',
      '--scope',
      'read',
      '--resource',
      'https://api.example.com/',
      '--client-secret-stdin',
    ],
    { env: { ...process.env, ...shell() }, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  const argvs = new Set<string>();
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  let exited = false;
  void closed.then(() => (exited = true));
  // Watch every process the command starts (npm, sh, tsx, node) until the admin itself is up.
  while (![...argvs].some((a) => a.includes('bin/admin.ts')) && !exited) {
    for (const a of groupArgv(child.pid!)) argvs.add(a);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.stdin.end(`${secret}\n`);
  while (!exited) {
    for (const a of groupArgv(child.pid!)) argvs.add(a);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await closed).toBe(0);
  expect([...argvs].some((a) => a.includes('bin/admin.ts'))).toBe(true);
  for (const a of argvs) expect(a).not.toContain(secret);
  expect(await redeem('argv-check', secret)).toBe(200);
}, 60_000);

test('the docs teach no secret on the command line', () => {
  const docs = ['README.md', ...readdirSync('docs').map((n) => `docs/${n}`)].filter((p) =>
    p.endsWith('.md'),
  );
  for (const path of docs) {
    const text = readFileSync(path, 'utf8');
    expect({ path, argvSecret: /--client-secret(?![-\w])/.test(text) }).toEqual({
      path,
      argvSecret: false,
    });
  }
});
