/**
 * The local server over real HTTP: the same handlers behind node:http, the local store on DATA_DIR,
 * a key file, and clients added by the admin command while it runs.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { runAdmin } from '../../bin/admin.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { basicAuth } from '../support/events.js';
import { LOCAL_ISSUER as ISSUER, LocalFixture } from '../support/local-fixture.js';

let f: LocalFixture;
beforeAll(async () => {
  f = await LocalFixture.start();
});
afterAll(() => f.close());

const addClient = () => f.addClient();

const post = (body: Record<string, string> | string, headers: Record<string, string> = {}) =>
  fetch(`${f.server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof body === 'string' ? body : new URLSearchParams(body),
  });

test('a client added by the admin command while the server runs is accepted on its next request', async () => {
  const c = await addClient();
  const assertion = await f.idp.mint({ audience: ISSUER, clientId: c.client_id });
  const res = await post({
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: c.client_id,
    client_secret: c.client_secret,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const { access_token } = (await res.json()) as { access_token: string };
  const jwks = createRemoteJWKSet(new URL(`${f.server.url}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(access_token, jwks, {
    issuer: ISSUER,
    audience: 'https://api.example.com/',
    typ: 'at+jwt',
  });
  expect(protectedHeader.alg).toBe('RS256');
  expect(payload.client_id).toBe(c.client_id);
});

test('client_secret_basic works over HTTP', async () => {
  const c = await addClient();
  const assertion = await f.idp.mint({ audience: ISSUER, clientId: c.client_id });
  const res = await post(
    { grant_type: JWT_BEARER_GRANT, assertion },
    { authorization: basicAuth(c.client_id, c.client_secret) },
  );
  expect(res.status).toBe(200);
});

test('a removed client is refused', async () => {
  const c = await addClient();
  await runAdmin(['clients', 'remove', '--client-id', c.client_id], f.env, () => undefined);
  const assertion = await f.idp.mint({ audience: ISSUER, clientId: c.client_id });
  const res = await post({
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: c.client_id,
    client_secret: c.client_secret,
  });
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
});

test('20 concurrent redemptions of one ID-JAG over HTTP yield exactly one token', async () => {
  const c = await addClient();
  const assertion = await f.idp.mint({ audience: ISSUER, clientId: c.client_id });
  const form = {
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: c.client_id,
    client_secret: c.client_secret,
  };
  const statuses = await Promise.all(
    Array.from({ length: 20 }, () => post(form).then((r) => r.status)),
  );
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.filter((s) => s === 400)).toHaveLength(19);
});

test('a huge body is invalid_request, and the server keeps serving', async () => {
  const res = await post('grant_type=' + 'x'.repeat(1024 * 1024));
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    error: 'invalid_request',
    error_description: expect.stringMatching(/exceeds/),
  });
  expect((await fetch(`${f.server.url}/.well-known/openid-configuration`)).status).toBe(200);
});

test('discovery is served at both paths; unknown paths are a JSON 404', async () => {
  for (const path of [
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
  ]) {
    const res = await fetch(f.server.url + path);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { issuer: string }).issuer).toBe(ISSUER);
  }
  const missing = await fetch(`${f.server.url}/nope`);
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as { error: string }).error).toBe('not_found');
});

test('a CORS preflight from the playground is granted over HTTP', async () => {
  const res = await fetch(`${f.server.url}/token`, {
    method: 'OPTIONS',
    headers: { origin: 'https://xaa.dev', 'access-control-request-method': 'POST' },
  });
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe('https://xaa.dev');
});

test('DATA_DIR is private to the user: the folders 0700, every file and the socket 0600', async () => {
  await addClient();
  const walk = async (dir: string): Promise<void> => {
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else expect([path, (await stat(path)).mode & 0o777]).toEqual([path, 0o600]);
    }
  };
  await walk(f.dataDir);
  const names = await readdir(f.dataDir);
  expect(names).toEqual(
    expect.arrayContaining(['signing-key.pem', 'clients.jsonl', 'admin.sock', 'lock', 'replay']),
  );
});

test('the signing key and the clients survive a restart on the same DATA_DIR', async () => {
  const c = await addClient();
  const before = await (await fetch(`${f.server.url}/.well-known/jwks.json`)).json();
  await f.restart();
  expect(await (await fetch(`${f.server.url}/.well-known/jwks.json`)).json()).toEqual(before);
  const assertion = await f.idp.mint({ audience: ISSUER, clientId: c.client_id });
  const res = await post({
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: c.client_id,
    client_secret: c.client_secret,
  });
  expect(res.status).toBe(200);
});
