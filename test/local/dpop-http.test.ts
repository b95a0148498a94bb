/**
 * DPoP over HTTP, against the local server (node:http → the bridge → the handler): the `DPoP` header
 * reaches the token endpoint as it would through API Gateway, repeated headers included, and
 * `DPoP-Nonce` comes back. DPOP-PROOF, DPOP-INVALID, DPOP-CNF-JKT, DPOP-CNF-OTHER, DPOP-BIND,
 * DPOP-REQUIRED, DPOP-TOKEN, DPOP-NONCE.
 */
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { runAdmin } from '../../bin/admin.js';
import { claimsOf, DpopKey } from '../support/dpop.js';
import { LocalFixture, type RegisteredClient } from '../support/local-fixture.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';

const now = () => Math.floor(Date.now() / 1000);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** POST /token with raw node:http, so a test can send a header twice. */
function post(
  f: LocalFixture,
  c: RegisteredClient,
  assertion: string,
  dpop?: string | string[],
): Promise<Answer> {
  const body = new URLSearchParams({
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: c.client_id,
    client_secret: c.client_secret,
  }).toString();
  const url = new URL('/token', f.server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(dpop !== undefined && { dpop }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let f: LocalFixture;
let key: DpopKey;
let other: DpopKey;
beforeAll(async () => {
  f = await LocalFixture.start({
    env: { DPOP_REQUIRED_RESOURCES: 'https://strict.example.com/' },
  });
  [key, other] = await Promise.all([DpopKey.generate(), DpopKey.generate()]);
});
afterAll(() => f.close());

/** The proof's htu is the issuer's token endpoint, whatever address the request went to. */
const proof = (k: DpopKey, o: Partial<Parameters<DpopKey['proof']>[0]> = {}) =>
  k.proof({ htu: `${f.issuer}/token`, iat: now(), ...o });

function expectRefused(a: Answer, error: string): void {
  expect(a.status).toBe(400);
  expect(a.body).toEqual({ error, error_description: expect.any(String) });
}

test('DPOP-CNF-JKT, DPOP-TOKEN: a bound ID-JAG with a proof by its key gets a DPoP token', async () => {
  const c = await f.addClient();
  const a = await post(
    f,
    c,
    await f.mint(c.client_id, { cnf: { jkt: key.jkt } }),
    await proof(key),
  );
  expect(a.status).toBe(200);
  expect(a.body.token_type).toBe('DPoP');
  expect(claimsOf(a.body.access_token as string).cnf).toEqual({ jkt: key.jkt });
});

test('DPOP-BIND: a proof without cnf binds the token to the proof key', async () => {
  const c = await f.addClient();
  const a = await post(f, c, await f.mint(c.client_id), await proof(other));
  expect(claimsOf(a.body.access_token as string).cnf).toEqual({ jkt: other.jkt });
});

test('DPOP-CNF-JKT: without a proof, or with a proof by another key, invalid_grant', async () => {
  const c = await f.addClient();
  const jag = await f.mint(c.client_id, { cnf: { jkt: key.jkt } });
  expectRefused(await post(f, c, jag), 'invalid_grant');
  expectRefused(await post(f, c, jag, await proof(other)), 'invalid_grant');
  expect((await post(f, c, jag, await proof(key))).status).toBe(200);
});

test('DPOP-CNF-OTHER: cnf x5t#S256 is invalid_grant', async () => {
  const c = await f.addClient();
  const jag = await f.mint(c.client_id, {
    cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
  });
  expectRefused(await post(f, c, jag, await proof(key)), 'invalid_grant');
});

test('DPOP-INVALID: replayed, another URL, stale, another key, private jwk, two headers', async () => {
  const c = await f.addClient();
  const used = await proof(key);
  expect((await post(f, c, await f.mint(c.client_id), used)).status).toBe(200);
  const invalid: Array<string | string[]> = [
    used,
    await proof(key, { htu: `${f.server.url}/token` }),
    await proof(key, { iat: now() - 600 }),
    await proof(key, { signWith: other.privateKey }),
    await proof(key, { header: { jwk: key.privateJwk } }),
    // Two header lines: node:http joins them with a comma, as API Gateway does.
    [await proof(key), await proof(key)],
  ];
  for (const dpop of invalid) {
    const jag = await f.mint(c.client_id, { cnf: { jkt: key.jkt } });
    expectRefused(await post(f, c, jag, dpop), 'invalid_dpop_proof');
    // None of them spent the assertion.
    expect((await post(f, c, jag, await proof(key))).status).toBe(200);
  }
});

test('DPOP-REQUIRED: per client (admin --dpop-bound-required) and per resource', async () => {
  const lines: string[] = [];
  await runAdmin(
    [
      'clients',
      'add',
      '--client-id',
      'bound-only',
      '--scope',
      'read',
      '--resource',
      'https://api.example.com/',
      '--dpop-bound-required',
      '--json',
    ],
    f.env,
    (l) => lines.push(l),
  );
  const bound = JSON.parse(lines.join('\n')) as RegisteredClient;
  expectRefused(await post(f, bound, await f.mint(bound.client_id)), 'invalid_grant');
  const ok = await post(f, bound, await f.mint(bound.client_id), await proof(key));
  expect(ok.body.token_type).toBe('DPoP');

  const c = await f.addClient(undefined, 'read', ['https://strict.example.com/']);
  const jag = await f.mint(c.client_id, { resource: 'https://strict.example.com/' });
  expectRefused(await post(f, c, jag), 'invalid_grant');
  expect((await post(f, c, jag, await proof(key))).body.token_type).toBe('DPoP');
});

test('DPOP-NONCE: the round trip over HTTP, with a fresh DPoP-Nonce on every answer', async () => {
  const n = await LocalFixture.start({
    env: { DPOP_NONCE: 'required', DPOP_NONCE_KEY: randomBytes(32).toString('base64url') },
  });
  try {
    const c = await n.addClient();
    const jag = await n.mint(c.client_id, { cnf: { jkt: key.jkt } });
    const htu = `${n.issuer}/token`;
    const first = await post(n, c, jag, await key.proof({ htu, iat: now() }));
    expectRefused(first, 'use_dpop_nonce');
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toEqual(expect.any(String));
    const second = await post(n, c, jag, await key.proof({ htu, iat: now(), nonce }));
    expect(second.status).toBe(200);
    expect(second.body.token_type).toBe('DPoP');
    expect(second.headers['dpop-nonce']).toEqual(expect.any(String));
  } finally {
    await n.close();
  }
});
