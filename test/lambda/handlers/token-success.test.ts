/**
 * AUTH-POST, AUTH-BASIC, RESP-SUCCESS and RESP-ACCESS-TOKEN: a valid request yields an RFC 9068
 * token that verifies against our JWKS.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { basicAuth, httpEvent, tokenEvent } from '../../support/events.js';
import { bodyOf, Harness, ISSUER, RESOURCE } from '../../support/harness.js';
import { JWT_BEARER_GRANT } from '../../../lambda/oauth/grant-types.js';
import { issuedClaims, redeemForm } from '../../support/token-requests.js';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({ trusted: { subject_prefix: '' } });
});
afterAll(() => h.close());

async function ourJwks() {
  const res = await h.jwks(httpEvent('GET', '/.well-known/jwks.json'));
  return createLocalJWKSet(JSON.parse(res.body!) as JSONWebKeySet);
}

async function verifyAccessToken(token: string) {
  return jwtVerify(token, await ourJwks(), {
    issuer: ISSUER,
    audience: RESOURCE,
    typ: 'at+jwt',
    algorithms: ['RS256'],
    currentDate: new Date(h.clock.now() * 1000),
  });
}

test.each([
  ['client_secret_post', false],
  ['client_secret_basic', true],
])('%s: issues an RFC 9068 access token that verifies against our JWKS', async (_method, basic) => {
  const { clientId, clientSecret } = await h.addClient();
  const assertion = await h.mint(clientId, {
    auth_time: h.clock.now() - 30,
    acr: 'phr',
    amr: ['mfa', 'hwk'],
  });
  const form = basic
    ? { grant_type: JWT_BEARER_GRANT, assertion }
    : { grant_type: JWT_BEARER_GRANT, assertion, client_id: clientId, client_secret: clientSecret };
  const res = await h.token(
    tokenEvent(form, basic ? { authorization: basicAuth(clientId, clientSecret) } : {}),
  );

  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  const body = bodyOf(res);
  expect(Object.keys(body).sort()).toEqual([
    'access_token',
    'expires_in',
    'resource',
    'scope',
    'token_type',
  ]);
  // RESP-SUCCESS: the granted resource is in the response, as the token's aud.
  expect(body).toMatchObject({
    token_type: 'Bearer',
    expires_in: 3600,
    scope: 'read write',
    resource: RESOURCE,
  });

  const token = body.access_token as string;
  const header = decodeProtectedHeader(token);
  expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: await h.signer.keyId() });
  const { payload } = await verifyAccessToken(token);
  expect(payload).toEqual({
    iss: ISSUER,
    sub: 'alice@example.com',
    aud: RESOURCE,
    client_id: clientId,
    iat: h.clock.now(),
    exp: h.clock.now() + 3600,
    jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    scope: 'read write',
    auth_time: h.clock.now() - 30,
    acr: 'phr',
    amr: ['mfa', 'hwk'],
  });
});

test('no refresh token is ever issued (draft §4.4.3)', async () => {
  const { clientId, clientSecret } = await h.addClient();
  const res = await h.token(
    tokenEvent(redeemForm({ clientId, clientSecret }, await h.mint(clientId))),
  );
  expect(res.statusCode).toBe(200);
  expect(bodyOf(res)).not.toHaveProperty('refresh_token');
});

test('each token has its own jti', async () => {
  const { clientId, clientSecret } = await h.addClient();
  const tokens = await Promise.all(
    [1, 2, 3].map(async () => {
      const res = await h.token(
        tokenEvent(redeemForm({ clientId, clientSecret }, await h.mint(clientId))),
      );
      return (await verifyAccessToken(bodyOf(res).access_token as string)).payload.jti;
    }),
  );
  expect(new Set(tokens).size).toBe(3);
});

test('a client token lifetime is used, capped by MAX_ACCESS_TOKEN_TTL', async () => {
  const capped = await Harness.start({
    env: { ACCESS_TOKEN_TTL: '600', MAX_ACCESS_TOKEN_TTL: '900' },
  });
  try {
    for (const [lifetime, expected] of [
      [undefined, 600],
      [120, 120],
      [5000, 900],
    ] as const) {
      const { clientId, clientSecret } = await capped.addClient({ tokenLifetime: lifetime });
      const res = await capped.token(
        tokenEvent(redeemForm({ clientId, clientSecret }, await capped.mint(clientId))),
      );
      expect(bodyOf(res).expires_in).toBe(expected);
      const claims = issuedClaims(res) as { exp: number; iat: number };
      expect(claims.exp - claims.iat).toBe(expected);
    }
  } finally {
    await capped.close();
  }
});

test('a per-issuer subject prefix keeps two IdPs\u2019 users apart (GRANT-SUBJECT)', async () => {
  const prefixed = await Harness.start({ trusted: { subject_prefix: 'acme|' } });
  try {
    const { clientId, clientSecret } = await prefixed.addClient();
    const res = await prefixed.token(
      tokenEvent(redeemForm({ clientId, clientSecret }, await prefixed.mint(clientId))),
    );
    expect(issuedClaims(res)?.sub).toBe('acme|alice@example.com');
  } finally {
    await prefixed.close();
  }
});

test('a form body that API Gateway did not base64-encode is read as well', async () => {
  const { clientId, clientSecret } = await h.addClient();
  const assertion = await h.mint(clientId);
  const body = new URLSearchParams({
    grant_type: JWT_BEARER_GRANT,
    assertion,
    client_id: clientId,
    client_secret: clientSecret,
  }).toString();
  const res = await h.token(
    httpEvent('POST', '/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      base64: false,
    }),
  );
  expect(res.statusCode).toBe(200);
});

test('the log line says who and what, never the secret, the assertion or the token', async () => {
  const { clientId, clientSecret } = await h.addClient();
  const assertion = await h.mint(clientId);
  const res = await h.token(tokenEvent(redeemForm({ clientId, clientSecret }, assertion)));
  const token = bodyOf(res).access_token as string;
  const line = h.log.lines.find(
    (l) => l.message === 'token issued' && JSON.stringify(l.extra).includes(clientId),
  );
  expect(line?.extra[0]).toMatchObject({
    outcome: 'issued',
    clientId,
    issuer: h.idp.issuer,
    scope: 'read write',
    audience: RESOURCE,
  });
  const text = h.log.text();
  for (const secret of [
    clientSecret,
    assertion,
    token,
    assertion.split('.')[2]!,
    token.split('.')[2]!,
  ]) {
    expect(text).not.toContain(secret);
  }
});

test('a token response to the playground\u2019s origin carries its CORS grant', async () => {
  const { clientId, clientSecret } = await h.addClient();
  const res = await h.token(
    tokenEvent(redeemForm({ clientId, clientSecret }, await h.mint(clientId)), {
      origin: 'https://xaa.dev',
    }),
  );
  expect(res.statusCode).toBe(200);
  expect(res.headers['access-control-allow-origin']).toBe('https://xaa.dev');
});

test('a failure that is our fault is a 500 with a fixed message: no stack, no detail', async () => {
  const { createTokenHandler } = await import('../../../lambda/handlers/token.js');
  const { MemoryLog } = await import('../../support/harness.js');
  const log = new MemoryLog();
  const broken = {
    token: async () => {
      throw new TypeError('cannot read properties of undefined (secret)');
    },
  };
  const outcomes: unknown[] = [];
  const handler = createTokenHandler({
    service: broken as never,
    corsOrigins: [],
    logger: log,
    onOutcome: (refusal) => outcomes.push(refusal),
  });
  const res = await handler(tokenEvent('grant_type=x'));
  expect(res.statusCode).toBe(500);
  expect(JSON.parse(res.body!)).toEqual({
    error: 'server_error',
    error_description: 'the server failed to process the request',
  });
  expect(res.headers['cache-control']).toBe('no-store');
  expect(log.lines.at(-1)).toMatchObject({
    level: 'error',
    message: 'token request failed',
    extra: [expect.objectContaining({ reason: 'internal_error' })],
  });
  expect(outcomes).toEqual([{ error: 'server_error', reason: 'internal_error' }]);
});
