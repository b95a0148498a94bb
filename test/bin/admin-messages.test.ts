/**
 * What the admin (and the CDK app) say when something is off: each message names what to change,
 * and each report says one thing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin } from '../../bin/admin.js';
import { AdminError } from '../../local/admin/client-admin.js';
import { loadEnvironmentConfig } from '../../lib/environment-config.js';
import { freePort } from '../support/processes.js';
import { TestIdp } from '../support/test-idp.js';

let dataDir: string;
let idp: TestIdp;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-messages-'));
  idp = await TestIdp.start();
});
afterAll(async () => {
  await idp.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function admin(argv: string[], env: Record<string, string> = {}) {
  const lines: string[] = [];
  const err = await runAdmin(argv, { DATA_DIR: dataDir, ...env }, (l) => lines.push(l)).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { out: lines.join('\n'), err };
}

const ISSUER = 'http://localhost:3000';

test('add and update say which configuration they judged by', async () => {
  const added = await admin([
    'clients',
    'add',
    '--client-id',
    'judged',
    '--scope',
    'read',
    '--resource',
    'https://api.example.com/',
  ]);
  expect(added.err).toBeUndefined();
  expect(added.out).toContain(
    `  checked against this shell's environment (no server is running on DATA_DIR ${dataDir})`,
  );
  const updated = await admin(['clients', 'update', '--client-id', 'judged', '--scope', 'write']);
  expect(updated.err).toBeUndefined();
  expect(updated.out).toContain(`  checked against this shell's environment`);
});

describe('assertion check', () => {
  const trusting = (jwksUri: string) => ({
    ISSUER,
    TRUSTED_ISSUERS: JSON.stringify([{ issuer: idp.issuer, jwks_uri: jwksUri }]),
  });

  test("with the issuer's keys out of reach: the signature step fails as the endpoint would (503), no abort", async () => {
    const closed = `http://127.0.0.1:${await freePort()}/jwks`;
    const jag = await idp.mint({ audience: ISSUER, clientId: 'judged' });
    const { out, err } = await admin(
      ['assertion', 'check', jag, '--client-id', 'judged'],
      trusting(closed),
    );
    expect(err).toBeInstanceOf(AdminError);
    expect((err as AdminError).exitCode).toBe(1);
    expect(out).toMatch(
      new RegExp(
        `\\u2718 the signature verifies with the issuer's JWKS \\(JAG-SIGNATURE\\)\\n +temporarily_unavailable jwks_unavailable: the JWKS of ${idp.issuer} cannot be fetched; retry later \\(fetch failed: connect ECONNREFUSED`,
      ),
    );
    expect(out.split('\n').at(-1)).toMatch(
      /^The token endpoint would answer 503 temporarily_unavailable: it cannot fetch the issuer's keys now/,
    );
  });

  test('without --client-id: one last line, no verdict when the ID-JAG passes, a refusal when it fails', async () => {
    const env = trusting(String(idp.trusted().jwks_uri));
    const good = await admin(
      ['assertion', 'check', await idp.mint({ audience: ISSUER, clientId: 'x' })],
      env,
    );
    const last = good.out.split('\n').at(-1);
    expect(last).toBe(
      "The ID-JAG's own checks passed; give --client-id (and the --resource and --scope the token request will carry) for a verdict.",
    );
    expect(good.out).not.toMatch(/would refuse/);
    const bad = await admin(
      ['assertion', 'check', await idp.mint({ audience: `${ISSUER}/`, clientId: 'x' })],
      env,
    );
    expect(bad.out.split('\n').at(-1)).toBe('The token endpoint would refuse this assertion.');
    expect(bad.out).not.toMatch(/give --client-id/i);
  });
});

test('--stack with no AWS region: a message naming AWS_REGION', async () => {
  const saved = { ...process.env };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
  Object.assign(process.env, {
    AWS_CONFIG_FILE: join(dataDir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  try {
    const { err } = await admin(['clients', 'list', '--stack', 'XaaAuthServer-playground']);
    expect(err).toBeInstanceOf(AdminError);
    expect((err as AdminError).message).toBe(
      "no AWS region to find stack XaaAuthServer-playground in: set AWS_REGION to the stack's region (or AWS_PROFILE to a profile that has one)",
    );
  } finally {
    process.env = saved;
  }
});

test('cdk -c config=playground.json: the refusal says to drop ".json"', () => {
  expect(() => loadEnvironmentConfig('playground.json')).toThrow(
    /is not an environment name .*: drop "\.json", as in -c config=playground$/,
  );
});
