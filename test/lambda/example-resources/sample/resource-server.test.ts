/** The sample protected resource: RFC 9068 validation, RFC 6750 challenges, RFC 9728 metadata. */

import { rsaPrivateKey } from '../../../support/test-keys.js';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { createResourceHandler } from '../../../../lambda/example-resources/sample/resource-server.js';
import { KeyFileSigner } from '../../../../lambda/key-file-signer.js';
import { signJwt } from '../../../../lambda/oauth/access-token.js';
import { httpEvent } from '../../../support/events.js';

const ISSUER = 'https://as.example.test';
const RESOURCE = 'https://api.example.test/';
let signer: KeyFileSigner;
let handler: ReturnType<typeof createResourceHandler>;

beforeAll(async () => {
  signer = await KeyFileSigner.fromPrivateKey(rsaPrivateKey());
  const keys = createLocalJWKSet((await signer.jwks()) as JSONWebKeySet);
  handler = createResourceHandler({
    issuer: ISSUER,
    resource: RESOURCE,
    jwksUri: 'https://unused.example/jwks',
    keys,
  });
});

const now = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown> = {}, typ = 'at+jwt') =>
  signJwt(
    typ,
    {
      iss: ISSUER,
      sub: 'alice',
      aud: RESOURCE,
      client_id: 'c',
      jti: 'j',
      iat: now(),
      exp: now() + 600,
      scope: 'read',
      ...claims,
    },
    signer,
  );
const call = (method: string, path: string, bearer?: string) =>
  handler(
    httpEvent(method, path, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} }),
  );

test('a valid token with the route\u2019s scope is accepted', async () => {
  const res = await call('GET', '/api/profile', await token());
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body!)).toEqual({ subject: 'alice', client_id: 'c', scope: 'read' });
});

test('no token: 401 with a bare Bearer challenge pointing at the resource metadata (RFC 9728 §5.1)', async () => {
  const res = await call('GET', '/api/profile');
  expect(res.statusCode).toBe(401);
  // Bearer first, then DPoP naming the proof algorithms (RFC 9449 §7.1), both pointing at the metadata.
  expect(res.headers['www-authenticate']).toMatch(
    new RegExp(
      `^Bearer resource_metadata="${RESOURCE}.well-known/oauth-protected-resource", DPoP algs="[^"]*ES256[^"]*", resource_metadata="${RESOURCE}.well-known/oauth-protected-resource"$`,
    ),
  );
});

test.each([
  ['another issuer', { iss: 'https://evil.example' }, 'at+jwt'],
  ['another audience', { aud: 'https://other.example/' }, 'at+jwt'],
  ['the audience without its trailing slash', { aud: RESOURCE.slice(0, -1) }, 'at+jwt'],
  ['expired', { exp: now() - 120, iat: now() - 600 }, 'at+jwt'],
  ['an ID token type', {}, 'JWT'],
  ['an ID-JAG type', {}, 'oauth-id-jag+jwt'],
  ['no client_id', { client_id: undefined }, 'at+jwt'],
])('a token with %s is 401 invalid_token', async (_name, claims, typ) => {
  const res = await call('GET', '/api/profile', await token(claims, typ));
  expect(res.statusCode).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
});

test('a token signed by another key is 401 invalid_token', async () => {
  const other = await KeyFileSigner.fromPrivateKey(rsaPrivateKey());
  const forged = await signJwt(
    'at+jwt',
    {
      iss: ISSUER,
      sub: 'x',
      aud: RESOURCE,
      client_id: 'c',
      jti: 'j',
      iat: now(),
      exp: now() + 60,
      scope: 'read write',
    },
    other,
  );
  expect((await call('GET', '/api/profile', forged)).statusCode).toBe(401);
});

test('a garbage bearer token is 401 invalid_token', async () => {
  expect((await call('GET', '/api/profile', 'not.a.jwt')).statusCode).toBe(401);
});

test('a token without the route\u2019s scope is 403 insufficient_scope naming the scope', async () => {
  const res = await call('POST', '/api/notes', await token({ scope: 'read' }));
  expect(res.statusCode).toBe(403);
  expect(res.headers['www-authenticate']).toMatch(
    /^Bearer error="insufficient_scope", scope="write"/,
  );
  expect((await call('POST', '/api/notes', await token({ scope: 'read write' }))).statusCode).toBe(
    200,
  );
});

test('serves its protected-resource metadata (RFC 9728)', async () => {
  const res = await call('GET', '/.well-known/oauth-protected-resource');
  expect(JSON.parse(res.body!)).toEqual({
    resource: RESOURCE,
    authorization_servers: [ISSUER],
    scopes_supported: ['read', 'write'],
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256']),
  });
});
