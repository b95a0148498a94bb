/**
 * `npm start` as a newcomer runs it: it serves discovery, prints what to do next, and stops on
 * Ctrl-C once the requests in flight are answered.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, npmRun, startProcess, stopProcess, waitForHttp } from '../support/processes.js';
import { TestIdp } from '../support/test-idp.js';

const RES = 'https://mcp.example.com/mcp';
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

test('npm start serves discovery, prints the issuer, endpoints, trusted issuers and how to add a client; Ctrl-C answers the request in flight, then stops saying so', async () => {
  const port = await freePort();
  const server = startProcess('npm', ['start'], {
    PORT: String(port),
    DATA_DIR: dataDir,
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
    CLIENT_METADATA_DOCUMENTS: JSON.stringify([
      { url_prefix: 'https://agents.example.com/clients/', scopes: ['read'], resources: [RES] },
    ]),
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
    // Output the server may not have printed yet: waited for, or for the server to end.
    let gone = false;
    const ended = once(server, 'close').then(() => (gone = true));
    const printed = async (text: string) => {
      while (!server.output().includes(text) && !gone)
        await Promise.race([once(server.stdout!, 'data'), ended]);
      return server.output();
    };
    // The banner follows the first JWKS fetch, which the first answer may precede.
    const out = await printed('npm run admin -- clients add');
    expect(out).toContain(`issuer          http://localhost:${port}`);
    expect(out).toContain(`token           http://localhost:${port}/token`);
    expect(out).toContain(idp.issuer);
    expect(out).toContain('npm run admin -- clients add');
    // CIMD-POLICY: which unregistered clients it admits, when any.
    expect(out).toContain(
      `client metadata documents (CLIENT_METADATA_DOCUMENTS)\n    https://agents.example.com/clients/…  (scope: read; resources: ${RES})`,
    );
    // Its signing threads yield to the event loop where that can help (Linux, 2+ CPUs).
    expect(out).toMatch(
      process.platform === 'linux' && availableParallelism() > 1
        ? /helper threads {2}\d+ at nice 10, below the event loop \(LOCAL_HELPER_NICE\)/
        : /helper threads {2}normal priority \(.+\) \(LOCAL_HELPER_NICE\)/,
    );

    // Ctrl-C (SIGINT to the terminal's process group) while a request's body is still arriving.
    const body = 'grant_type=client_credentials';
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    socket.write(
      `POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    // The server has the request once its headers are parsed: a discovery answer on another
    // connection after them says the loop has gone past them.
    await fetch(`http://localhost:${port}/.well-known/oauth-authorization-server`);
    const closed = once(socket, 'close');
    process.kill(-server.pid!, 'SIGINT');
    await printed('SIGINT: stopping');
    socket.write(body.slice(5));
    await closed;
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(await printed('Stopped:')).toContain('Stopped: 1 request in flight answered.');
  } finally {
    await stopProcess(server);
  }
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
