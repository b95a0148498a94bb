/** The trusted issuers' key cache (JAG-JWKS-FETCH): timeout, cache, cooldown on unknown kids, stale on error. */
import { errors } from 'jose';
import { loadServiceConfig } from '../../../lambda/config.js';
import { RemoteIssuerKeys } from '../../../lambda/remote/issuer-keys.js';
import { TemporarilyUnavailable } from '../../../lambda/oauth/errors.js';
import { makeKey, TestIdp } from '../../support/test-idp.js';

let idp: TestIdp;
let now: number;
beforeEach(async () => {
  idp = await TestIdp.start();
  now = 1_000_000;
});
afterEach(() => idp.stop());

function keysFor(options: ConstructorParameters<typeof RemoteIssuerKeys>[1] = {}) {
  const config = loadServiceConfig({
    ISSUER: 'https://as.example',
    TRUSTED_ISSUERS: JSON.stringify([idp.trusted()]),
  });
  return new RemoteIssuerKeys(config.trustedIssuers, {
    now: () => now,
    timeoutMs: 300,
    ...options,
  });
}

const resolve = (keys: RemoteIssuerKeys, kid: string) =>
  keys.resolverFor(idp.issuer)(
    { alg: 'RS256', kid },
    { payload: '', signature: '', protected: '' },
  );

test('warm() fetches before the first request, which then needs no fetch', async () => {
  const keys = keysFor();
  await keys.warm();
  expect(idp.jwksFetches).toBe(1);
  await resolve(keys, idp.key.kid);
  expect(idp.jwksFetches).toBe(1);
});

test('warm() never rejects when the issuer is down', async () => {
  idp.mode = 'error';
  const errorsSeen: unknown[] = [];
  const keys = keysFor({ onFetchError: (_i, e) => errorsSeen.push(e) });
  await expect(keys.warm()).resolves.toBeUndefined();
  expect(errorsSeen).toHaveLength(1);
  idp.mode = 'ok';
  now += 2_001;
  await expect(resolve(keys, idp.key.kid)).resolves.toBeDefined(); // fetched again on demand
});

test('after a failed fetch with nothing cached, requests fail fast for a moment instead of each fetching', async () => {
  idp.mode = 'error';
  const keys = keysFor({ retryAfterFailureMs: 2_000 });
  await expect(resolve(keys, idp.key.kid)).rejects.toBeInstanceOf(TemporarilyUnavailable);
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () => resolve(keys, idp.key.kid)),
  );
  expect(
    results.every((r) => r.status === 'rejected' && r.reason instanceof TemporarilyUnavailable),
  ).toBe(true);
  expect(idp.jwksFetches).toBe(1);
  idp.mode = 'ok';
  now += 2_001;
  await expect(resolve(keys, idp.key.kid)).resolves.toBeDefined();
  expect(idp.jwksFetches).toBe(2);
});

test('a flood of unknown kids is one refetch per cooldown, not one per request', async () => {
  const keys = keysFor({ cooldownMs: 30_000 });
  await keys.warm();
  const unknown = await Promise.allSettled(
    Array.from({ length: 50 }, (_, i) => resolve(keys, `unknown-${i}`)),
  );
  expect(
    unknown.every((r) => r.status === 'rejected' && r.reason instanceof errors.JWKSNoMatchingKey),
  ).toBe(true);
  expect(idp.jwksFetches).toBe(1); // the warm-up fetch is within the cooldown
  now += 30_001;
  await expect(resolve(keys, 'unknown-again')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  await expect(resolve(keys, 'unknown-once-more')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  expect(idp.jwksFetches).toBe(2);
});

test('a key rotated in at the issuer is found by refetching on its unknown kid', async () => {
  const keys = keysFor({ cooldownMs: 1000 });
  await keys.warm();
  const rotated = await makeKey();
  idp.published.push(rotated);
  now += 1001;
  await expect(resolve(keys, rotated.kid)).resolves.toBeDefined();
  expect(idp.jwksFetches).toBe(2);
});

test('a stale set keeps serving while it is refreshed in the background, and while that refresh fails', async () => {
  const refreshErrors: unknown[] = [];
  const keys = keysFor({
    maxAgeMs: 60_000,
    cooldownMs: 5_000,
    timeoutMs: 1_000, // the ordering check below needs the refresh to hang well past the answer
    onFetchError: (_i, e) => refreshErrors.push(e),
  });
  await keys.warm();
  now += 60_001;
  idp.mode = 'hang'; // a refresh that can only end by its timeout
  // Ordering, not elapsed time: the request is served while the refresh is still hanging.
  await expect(resolve(keys, idp.key.kid)).resolves.toBeDefined();
  expect(refreshErrors).toHaveLength(0);
  await eventually(() => idp.jwksFetches === 2);
  await eventually(() => refreshErrors.length === 1); // the hung refresh times out in the background
  idp.mode = 'error';
  await resolve(keys, idp.key.kid); // within the cooldown: no new fetch
  expect(idp.jwksFetches).toBe(2);
  idp.mode = 'ok';
  now += 5_001;
  await resolve(keys, idp.key.kid);
  await eventually(() => idp.jwksFetches === 3);
});

/** Waits for a condition with no deadline of its own: jest's test timeout bounds it. */
async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

test('concurrent first requests share one fetch', async () => {
  const keys = keysFor();
  await Promise.all(Array.from({ length: 10 }, () => resolve(keys, idp.key.kid)));
  expect(idp.jwksFetches).toBe(1);
});

test('a fetch that hangs is cut off by the timeout as TemporarilyUnavailable', async () => {
  idp.mode = 'hang';
  const keys = keysFor({ timeoutMs: 100 });
  // The IdP never answers, so only the client's own timeout can settle this (no elapsed-time check).
  await expect(resolve(keys, idp.key.kid)).rejects.toBeInstanceOf(TemporarilyUnavailable);
  expect(idp.jwksFetches).toBe(1);
});

test('a redirect is not followed: the JWKS location is configuration', async () => {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => res.writeHead(302, { location: idp.jwksUri }).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const config = loadServiceConfig({
      ISSUER: 'https://as.example',
      TRUSTED_ISSUERS: JSON.stringify([
        { issuer: idp.issuer, jwks_uri: `http://127.0.0.1:${port}/jwks` },
      ]),
    });
    const keys = new RemoteIssuerKeys(config.trustedIssuers);
    await expect(resolve(keys, idp.key.kid)).rejects.toBeInstanceOf(TemporarilyUnavailable);
  } finally {
    server.close();
  }
});
