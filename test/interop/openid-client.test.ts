/**
 * openid-client (panva), a certified relying-party library, as a client of this server: its own
 * strict discovery at both well-known paths (the issuer must match byte for byte), then the JWT
 * bearer grant through its generic grant API with every client authentication method: a secret
 * (Basic or in the body), or its own PrivateKeyJwt (AUTH-PRIVATE-KEY-JWT) for a client registered
 * with keys and for one named by its Client ID Metadata Document.
 */
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import {
  CLIENT_ASSERTION_TYPE,
  JWT_BEARER_GRANT,
  JWT_DPOP_GRANT,
} from '../../lambda/oauth/grant-types.js';
import { ClientHost, ClientKey } from '../support/client-keys.js';
import {
  LocalFixture,
  type RegisteredClient,
  type RegisteredKeyClient,
} from '../support/local-fixture.js';

const API = 'https://api.example.com/';
let fixture: LocalFixture;
let registered: RegisteredClient;
let host: ClientHost;
let key: ClientKey;
let keyClient: RegisteredKeyClient;

beforeAll(async () => {
  host = await ClientHost.start();
  fixture = await LocalFixture.start({
    issuerIsUrl: true,
    env: {
      // CIMD on loopback (CIMD-DEV-HTTP), so discovery advertises it and a document can be served.
      CLIENT_METADATA_HTTP_LOCALHOST: '1',
      CLIENT_METADATA_DOCUMENTS: JSON.stringify([
        { url_prefix: `${host.origin}/agents/`, scopes: ['read'], resources: [API] },
      ]),
    },
  });
  registered = await fixture.addClient('oidc-client', 'read write', [API]);
  key = await ClientKey.generate('ES256');
  keyClient = await fixture.addKeyClient('oidc-key-client', 'read write', [API], {
    jwks: key.jwks,
  });
}, 30_000);
afterAll(async () => {
  await fixture?.close();
  await host?.close();
});

const discover = (
  algorithm: 'oidc' | 'oauth2',
  auth: client.ClientAuth,
  clientId: string = registered.client_id,
) =>
  client.discovery(new URL(fixture.issuer), clientId, undefined, auth, {
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
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'client_secret_basic',
        'private_key_jwt',
      ],
      token_endpoint_auth_signing_alg_values_supported: expect.arrayContaining([
        'RS256',
        'ES256',
        'EdDSA',
      ]) as string[],
      client_id_metadata_document_supported: true,
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

/** The token request as it left the library: its headers and its form. */
function watchTokenRequests(config: client.Configuration) {
  const seen: Array<{ authorization: string | null; body: URLSearchParams }> = [];
  config[client.customFetch] = (url, options) => {
    if (url.endsWith('/token'))
      seen.push({
        authorization: new Headers(options.headers).get('authorization'),
        body: new URLSearchParams(String(options.body)),
      });
    return fetch(url, options);
  };
  return seen;
}

describe('private_key_jwt with openid-client\u2019s own PrivateKeyJwt (AUTH-PRIVATE-KEY-JWT)', () => {
  const keyAuth = (signer: ClientKey = key) =>
    client.PrivateKeyJwt({ key: signer.privateKey, kid: signer.publicJwk.kid });

  test('a client registered with keys redeems an ID-JAG: a token for it, no secret anywhere', async () => {
    const config = await discover('oauth2', keyAuth(), keyClient.client_id);
    const seen = watchTokenRequests(config);
    const tokens = await client.genericGrantRequest(config, JWT_BEARER_GRANT, {
      assertion: await fixture.mint(keyClient.client_id),
    });
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'read write', resource: API });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: fixture.issuer,
      aud: API,
      client_id: keyClient.client_id,
      sub: 'alice@example.com',
    });
    // What the library sent: an assertion for our issuer, signed by the client, and no secret.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.authorization).toBeNull();
    expect(seen[0]!.body.get('client_assertion_type')).toBe(CLIENT_ASSERTION_TYPE);
    expect(seen[0]!.body.has('client_secret')).toBe(false);
    expect(decodeJwt(seen[0]!.body.get('client_assertion')!)).toMatchObject({
      iss: keyClient.client_id,
      sub: keyClient.client_id,
      aud: fixture.issuer,
    });
    // A second grant: the library makes a new assertion (a new jti) for each request.
    const again = await client.genericGrantRequest(config, JWT_BEARER_GRANT, {
      assertion: await fixture.mint(keyClient.client_id),
    });
    expect(again.access_token).not.toBe(tokens.access_token);
  });

  test('signed by a key the client did not register: invalid_client, no token', async () => {
    const stranger = await ClientKey.generate('ES256', key.publicJwk.kid);
    const config = await discover('oauth2', keyAuth(stranger), keyClient.client_id);
    const refused = await client
      .genericGrantRequest(config, JWT_BEARER_GRANT, {
        assertion: await fixture.mint(keyClient.client_id),
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    // No challenge (the client sent no Authorization header): the error is read from the body.
    expect(refused).toBeInstanceOf(client.ResponseBodyError);
    expect(refused).toMatchObject({ error: 'invalid_client', status: 401 });
  });

  test('a client registered with a secret cannot use a key instead (AUTH-METHOD): invalid_client', async () => {
    const config = await discover('oauth2', keyAuth(), registered.client_id);
    const refused = await client
      .genericGrantRequest(config, JWT_BEARER_GRANT, {
        assertion: await fixture.mint(registered.client_id),
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    // No challenge (the client sent no Authorization header): the error is read from the body.
    expect(refused).toBeInstanceOf(client.ResponseBodyError);
    expect(refused).toMatchObject({ error: 'invalid_client', status: 401 });
  });

  test('an unregistered client named by its metadata document (CIMD): a token on the policy\u2019s terms', async () => {
    const cimdId = host.metadata('/agents/oidc-agent.json', { jwks: key.jwks });
    const config = await discover('oauth2', keyAuth(), cimdId);
    const tokens = await client.genericGrantRequest(config, JWT_BEARER_GRANT, {
      assertion: await fixture.mint(cimdId),
    });
    // The ID-JAG carries read write; the policy's rule allows read.
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'read', resource: API });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ client_id: cimdId, aud: API });
    expect(await fixture.clientIds()).not.toContain(cimdId);
  });
});
