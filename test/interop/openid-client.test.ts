/**
 * openid-client (panva), a certified relying-party library, as a client of this server: its own
 * strict discovery at both well-known paths (the issuer must match byte for byte), then the JWT
 * bearer grant through its generic grant API with either client authentication method.
 */
import * as client from 'openid-client';
import { JWT_BEARER_GRANT, JWT_DPOP_GRANT } from '../../lambda/oauth/grant-types.js';
import { LocalFixture, type RegisteredClient } from '../support/local-fixture.js';

const API = 'https://api.example.com/';
let fixture: LocalFixture;
let registered: RegisteredClient;

beforeAll(async () => {
  fixture = await LocalFixture.start({ issuerIsUrl: true });
  registered = await fixture.addClient('oidc-client', 'read write', [API]);
}, 30_000);
afterAll(() => fixture?.close());

const discover = (algorithm: 'oidc' | 'oauth2', auth: client.ClientAuth) =>
  client.discovery(new URL(fixture.issuer), registered.client_id, undefined, auth, {
    algorithm,
    // Loopback http only: the fixture serves no TLS.
    execute: [client.allowInsecureRequests],
  });

test.each(['oidc', 'oauth2'] as const)(
  'discovery (%s): accepted, with the endpoints the server publishes (DISC-PATHS, DISC-FIELDS)',
  async (algorithm) => {
    const config = await discover(algorithm, client.ClientSecretBasic(registered.client_secret));
    expect(config.serverMetadata()).toMatchObject({
      issuer: fixture.issuer,
      authorization_endpoint: `${fixture.issuer}/authorize`,
      token_endpoint: `${fixture.issuer}/token`,
      jwks_uri: `${fixture.issuer}/.well-known/jwks.json`,
      response_types_supported: [],
      grant_types_supported: [JWT_BEARER_GRANT, JWT_DPOP_GRANT],
    });
  },
);

test.each([
  ['client_secret_basic', client.ClientSecretBasic],
  ['client_secret_post', client.ClientSecretPost],
] as const)('the JWT bearer grant with %s: a Bearer token for the resource', async (_m, auth) => {
  const config = await discover('oauth2', auth(registered.client_secret));
  const tokens = await client.genericGrantRequest(config, JWT_BEARER_GRANT, {
    assertion: await fixture.mint(registered.client_id),
  });
  expect(tokens.token_type).toBe('bearer'); // openid-client lower-cases it
  expect(tokens.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(tokens.scope).toBe('read write');
  expect(tokens.refresh_token).toBeUndefined();
  expect(tokens.resource).toBe(API);
  expect(tokens.expiresIn()).toBeGreaterThan(0);
});

test('a wrong secret: 401 with a Basic challenge (AUTH-FAILURE), and invalid_client in the body', async () => {
  const config = await discover('oauth2', client.ClientSecretBasic('wrong-secret'));
  const refused = await client
    .genericGrantRequest(config, JWT_BEARER_GRANT, {
      assertion: await fixture.mint(registered.client_id),
    })
    .then(
      () => undefined,
      (err: unknown) => err as client.WWWAuthenticateChallengeError,
    );
  // The library reports the RFC 6749 §5.2 challenge before it reads the body.
  expect(refused).toBeInstanceOf(client.WWWAuthenticateChallengeError);
  expect(refused!.status).toBe(401);
  expect(refused!.cause[0]!.scheme).toBe('basic');
  expect(await refused!.response.json()).toMatchObject({ error: 'invalid_client' });
});
