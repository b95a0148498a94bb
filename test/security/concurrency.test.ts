/** Replay races and bursts against the local server over HTTP: one token per ID-JAG, every token valid. */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { LOCAL_ISSUER as ISSUER, LocalFixture } from '../support/local-fixture.js';

let f: LocalFixture;
beforeAll(async () => {
  f = await LocalFixture.start();
});
afterAll(() => f.close());

const addClient = (id: string) => f.addClient(id, 'read');

const redeem = (c: { client_id: string; client_secret: string }, assertion: string) =>
  fetch(`${f.server.url}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: JWT_BEARER_GRANT,
      assertion,
      client_id: c.client_id,
      client_secret: c.client_secret,
    }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

test('5 clients \u00d7 12 concurrent redemptions of each one\u2019s ID-JAG, interleaved: exactly one token per ID-JAG', async () => {
  const clients = await Promise.all([1, 2, 3, 4, 5].map((i) => addClient(`racer-${i}`)));
  const jags = await Promise.all(
    clients.map((c) => f.idp.mint({ audience: ISSUER, clientId: c.client_id })),
  );
  const attempts = clients.flatMap((c, i) =>
    Array.from({ length: 12 }, () => ({ i, run: () => redeem(c, jags[i]!) })),
  );
  attempts.sort(() => Math.random() - 0.5);
  const results = await Promise.all(attempts.map(async (a) => ({ i: a.i, ...(await a.run()) })));
  for (let i = 0; i < clients.length; i++) {
    const mine = results.filter((r) => r.i === i);
    expect(mine.filter((r) => r.status === 200)).toHaveLength(1);
    expect(mine.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(
      11,
    );
  }
});

test('the same jti in two clients\u2019 ID-JAGs from one issuer is one assertion: one token', async () => {
  const [a, b] = await Promise.all([addClient('twin-a'), addClient('twin-b')]);
  const jti = 'shared-jti-123';
  const [ja, jb] = await Promise.all([
    f.idp.mint({ audience: ISSUER, clientId: a.client_id }, { jti }),
    f.idp.mint({ audience: ISSUER, clientId: b.client_id }, { jti }),
  ]);
  const results = await Promise.all([redeem(a, ja), redeem(b, jb)]);
  expect(results.filter((r) => r.status === 200)).toHaveLength(1);
});

test('a burst of 50 distinct valid requests yields 50 valid, distinct tokens', async () => {
  const c = await addClient('burst');
  const jags = await Promise.all(
    Array.from({ length: 50 }, () => f.idp.mint({ audience: ISSUER, clientId: c.client_id })),
  );
  const results = await Promise.all(jags.map((j) => redeem(c, j)));
  expect(results.every((r) => r.status === 200)).toBe(true);
  const jwks = createRemoteJWKSet(new URL(`${f.server.url}/.well-known/jwks.json`));
  const ids = await Promise.all(
    results.map(
      async (r) =>
        (
          await jwtVerify(r.body.access_token as string, jwks, {
            issuer: ISSUER,
            audience: 'https://api.example.com/',
            typ: 'at+jwt',
          })
        ).payload.jti,
    ),
  );
  expect(new Set(ids).size).toBe(50);
});
