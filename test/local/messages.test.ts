/**
 * Refusals that say what to change: the usual near-misses get a hint (a resource that differs by a
 * trailing slash, scopes written with commas), and a port already taken names PORT.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLocalConfig } from '../../lambda/config.js';
import { startLocalServer } from '../../local/server.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { MemoryLog } from '../support/harness.js';
import { LocalFixture } from '../support/local-fixture.js';

let f: LocalFixture;
beforeAll(async () => {
  f = await LocalFixture.start();
});
afterAll(() => f.close());

async function token(fields: Record<string, string>) {
  const c = await f.addClient(undefined, 'read write', ['https://api.example.com/']);
  const res = await fetch(`${f.server.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: JWT_BEARER_GRANT,
      assertion: await f.mint(c.client_id, { scope: 'read write' }),
      client_id: c.client_id,
      client_secret: c.client_secret,
      ...fields,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

test('GRANT-RESOURCE: a resource that differs from the registered one by a trailing slash says so', async () => {
  const { status, body } = await token({ resource: 'https://api.example.com' });
  expect(status).toBe(400);
  expect(body.error).toBe('invalid_target');
  expect(body.error_description).toMatch(
    /^request resource "https:\/\/api\.example\.com" is not registered for client "[^"]+" \("https:\/\/api\.example\.com\/" is: they differ by a trailing slash\)$/,
  );
});

test('GRANT-SCOPE: a requested scope written with commas says to separate scopes with spaces', async () => {
  const { status, body } = await token({ scope: 'read,write' });
  expect(status).toBe(400);
  expect(body.error).toBe('invalid_scope');
  expect(body.error_description).toMatch(
    /^none of the scopes "read,write" may be granted: .* \(scopes are separated by spaces, not commas\)$/,
  );
});

test('a PORT already in use: the server does not start, and the message names PORT', async () => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const { port } = taken.address() as { port: number };
  const dataDir = await mkdtemp(join(tmpdir(), 'xaa-port-'));
  try {
    await expect(
      startLocalServer(
        loadLocalConfig({ DATA_DIR: dataDir, PORT: String(port), TRUSTED_ISSUERS: '[]' }),
        { logger: new MemoryLog() },
      ),
    ).rejects.toThrow(
      `port ${port} on 127.0.0.1 is in use (another npm start?): stop what listens there, or choose another port with PORT`,
    );
  } finally {
    taken.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
