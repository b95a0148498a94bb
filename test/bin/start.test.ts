/** `npm start` as a newcomer runs it: it serves discovery, prints what to do next, and stops cleanly. */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, npmRun, startProcess, stopProcess, waitForHttp } from '../support/processes.js';
import { TestIdp } from '../support/test-idp.js';

let idp: TestIdp;
let dataDir: string;
beforeAll(async () => {
  idp = await TestIdp.start();
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-start-'));
});
afterAll(async () => {
  await idp.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('npm start serves discovery and prints the issuer, endpoints, trusted issuers and how to add a client', async () => {
  const port = await freePort();
  const server = startProcess('npm', ['start'], {
    PORT: String(port),
    DATA_DIR: dataDir,
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
  });
  try {
    const res = await waitForHttp(
      `http://localhost:${port}/.well-known/oauth-authorization-server`,
      30_000,
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { issuer: string }).issuer).toBe(`http://localhost:${port}`);
    // The trusted issuer's JWKS was fetched at start-up, before any token request.
    expect(idp.jwksFetches).toBe(1);
    const out = server.output();
    expect(out).toContain(`issuer          http://localhost:${port}`);
    expect(out).toContain(`token           http://localhost:${port}/token`);
    expect(out).toContain(idp.issuer);
    expect(out).toContain('npm run admin -- clients add');
    // Its signing threads yield to the event loop where that can help (Linux, 2+ CPUs).
    expect(out).toMatch(
      process.platform === 'linux' && availableParallelism() > 1
        ? /helper threads {2}\d+ at nice 10, below the event loop \(LOCAL_HELPER_NICE\)/
        : /helper threads {2}normal priority \(.+\) \(LOCAL_HELPER_NICE\)/,
    );
  } finally {
    await stopProcess(server);
  }
  // SIGTERM reaches npm and the server alike; all that matters is that everything stopped.
  expect(server.exitCode ?? server.signalCode).not.toBeNull();
}, 60_000);

test('a malformed variable stops start-up with a message naming it', async () => {
  const run = await npmRun('start', [], {
    DATA_DIR: dataDir,
    TRUSTED_ISSUERS: '[{"issuer":"https://x.example"}]',
  });
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/Configuration error: TRUSTED_ISSUERS: entry 0 needs "jwks_uri"/);
}, 60_000);

test('a LOCAL_HELPER_NICE out of range stops start-up with one line naming it', async () => {
  const run = await npmRun('start', [], {
    DATA_DIR: dataDir,
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
    LOCAL_HELPER_NICE: '-5',
  });
  expect(run.code).toBe(1);
  expect(run.stderr.trim()).toBe(
    'Configuration error: LOCAL_HELPER_NICE: must be a whole number from 0 (off) to 19, got "-5"',
  );
}, 60_000);
