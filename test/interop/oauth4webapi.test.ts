/**
 * oauth4webapi (panva), a strict OAuth 2 client and resource-server library: its discovery
 * (issuer checked byte for byte), the JWT bearer grant through its generic token endpoint API and
 * response processing, then its RFC 9068 validateJwtAccessToken as a resource server would run it
 * against our JWKS — and its RFC 9728 resource discovery against the example MCP server. Clients
 * authenticate with a secret, or with the library's own PrivateKeyJwt (AUTH-PRIVATE-KEY-JWT).
 */
import * as oauth from 'oauth4webapi';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/server.js';
import { CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { ClientKey } from '../support/client-keys.js';
import {
  LocalFixture,
  type RegisteredClient,
  type RegisteredKeyClient,
} from '../support/local-fixture.js';

const API = 'https://api.example.com/';
// Loopback http only: the fixture serves no TLS.
const insecure = { [oauth.allowInsecureRequests]: true } as const;
let fixture: LocalFixture;
let registered: RegisteredClient;
let mcp: RunningMcpServer;
const keys: Record<string, ClientKey> = {};
const keyClients: Record<string, RegisteredKeyClient> = {};
// Ed25519, not EdDSA: the library signs with the fully specified name (RFC 9864), and a key
// registered with "alg": "EdDSA" is for EdDSA only.
const KEY_ALGORITHMS = ['ES256', 'Ed25519', 'PS256'] as const;

beforeAll(async () => {
  fixture = await LocalFixture.start({
    issuerIsUrl: true,
    // A CIMD rule, so that discovery advertises client_id_metadata_document_supported.
    env: {
      CLIENT_METADATA_DOCUMENTS: JSON.stringify([
        { url_prefix: 'https://agents.example.com/', scopes: ['read'], resources: [API] },
      ]),
    },
  });
  mcp = await startMcpServer({ issuer: fixture.issuer, port: 0 });
  registered = await fixture.addClient('o4w-client', 'read write', [API, mcp.resource.resource]);
  for (const alg of KEY_ALGORITHMS) {
    keys[alg] = await ClientKey.generate(alg);
    keyClients[alg] = await fixture.addKeyClient(`o4w-key-${alg}`, 'read', [API], {
      jwks: keys[alg].jwks,
    });
  }
}, 30_000);
afterAll(async () => {
  await mcp?.close();
  await fixture?.close();
});

const discover = async (algorithm: 'oidc' | 'oauth2') => {
  const issuer = new URL(fixture.issuer);
  return oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm, ...insecure }),
  );
};

async function redeem(as: oauth.AuthorizationServer, resource?: string) {
  const c: oauth.Client = { client_id: registered.client_id };
  const params = new URLSearchParams({
    assertion: await fixture.mint(registered.client_id, resource ? { resource } : {}),
  });
  if (resource) params.set('resource', resource);
  const response = await oauth.genericTokenEndpointRequest(
    as,
    c,
    oauth.ClientSecretPost(registered.client_secret),
    JWT_BEARER_GRANT,
    params,
    insecure,
  );
  return oauth.processGenericTokenEndpointResponse(as, c, response);
}

const bearer = (token: string) =>
  new Request(`${API}notes`, { headers: { authorization: `Bearer ${token}` } });

test.each(['oauth2', 'oidc'] as const)(
  'discovery (%s): accepted, issuer byte for byte (DISC-ISSUER)',
  async (algorithm) => {
    const as = await discover(algorithm);
    expect(as.issuer).toBe(fixture.issuer);
    expect(as.authorization_endpoint).toBe(`${fixture.issuer}/authorize`);
    // The client authentication fields, as the library's typed metadata reads them, and the CIMD
    // flag it does not know, passed through as it is.
    expect(as.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_post',
      'client_secret_basic',
      'private_key_jwt',
    ]);
    expect(as.token_endpoint_auth_signing_alg_values_supported).toEqual(
      expect.arrayContaining([...KEY_ALGORITHMS]),
    );
    expect(as.client_id_metadata_document_supported).toBe(true);
  },
);

test('the JWT bearer grant, processed by the library: Bearer, scope, resource, no refresh token', async () => {
  const tokens = await redeem(await discover('oauth2'));
  expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'read write', resource: API });
  expect(tokens.refresh_token).toBeUndefined();
});

test('validateJwtAccessToken accepts our token as an RFC 9068 resource server (RESP-ACCESS-TOKEN)', async () => {
  const as = await discover('oauth2');
  const { access_token } = await redeem(as);
  const claims = await oauth.validateJwtAccessToken(as, bearer(access_token), API, insecure);
  expect(claims).toMatchObject({
    iss: fixture.issuer,
    aud: API,
    sub: 'alice@example.com',
    client_id: registered.client_id,
    scope: 'read write',
  });
});

test('validateJwtAccessToken refuses our token for another audience', async () => {
  const as = await discover('oauth2');
  const { access_token } = await redeem(as, mcp.resource.resource);
  await expect(
    oauth.validateJwtAccessToken(as, bearer(access_token), API, insecure),
  ).rejects.toMatchObject({ code: oauth.JWT_CLAIM_COMPARISON });
  // The MCP server it was issued for accepts it.
  const claims = await oauth.validateJwtAccessToken(
    as,
    bearer(access_token),
    mcp.resource.resource,
    insecure,
  );
  expect(claims.aud).toBe(mcp.resource.resource);
});

test('RFC 9728 resource discovery of the MCP server points at this authorization server', async () => {
  const resource = new URL(mcp.resource.resource);
  const metadata = await oauth.processResourceDiscoveryResponse(
    resource,
    await oauth.resourceDiscoveryRequest(resource, insecure),
  );
  expect(metadata.authorization_servers).toEqual([fixture.issuer]);
  expect(metadata.scopes_supported).toEqual(['read', 'write']);
});

describe('private_key_jwt with the library\u2019s PrivateKeyJwt (AUTH-PRIVATE-KEY-JWT)', () => {
  async function redeemWithKey(alg: (typeof KEY_ALGORITHMS)[number], signer = keys[alg]!) {
    const as = await discover('oauth2');
    const c: oauth.Client = { client_id: keyClients[alg]!.client_id };
    const sent: Array<{ headers: Headers; body: URLSearchParams }> = [];
    const response = await oauth.genericTokenEndpointRequest(
      as,
      c,
      oauth.PrivateKeyJwt({ key: signer.privateKey, kid: signer.publicJwk.kid }),
      JWT_BEARER_GRANT,
      new URLSearchParams({ assertion: await fixture.mint(c.client_id) }),
      {
        ...insecure,
        [oauth.customFetch]: (url: string, init: RequestInit) => {
          sent.push({
            headers: new Headers(init.headers),
            body: new URLSearchParams(String(init.body)),
          });
          return fetch(url, init);
        },
      },
    );
    return { as, c, response, sent };
  }

  test.each(KEY_ALGORITHMS)(
    'a client registered with a %s key: the JWT bearer grant, processed and validated',
    async (alg) => {
      const { as, c, response, sent } = await redeemWithKey(alg);
      const tokens = await oauth.processGenericTokenEndpointResponse(as, c, response);
      expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'read', resource: API });
      const claims = await oauth.validateJwtAccessToken(
        as,
        bearer(tokens.access_token),
        API,
        insecure,
      );
      expect(claims).toMatchObject({ client_id: c.client_id, scope: 'read', aud: API });
      // What the library sent: its assertion, signed with the client's key, for our issuer.
      expect(sent).toHaveLength(1);
      expect(sent[0]!.headers.has('authorization')).toBe(false);
      expect(sent[0]!.body.get('client_assertion_type')).toBe(CLIENT_ASSERTION_TYPE);
      const assertion = sent[0]!.body.get('client_assertion')!;
      expect(decodeProtectedHeader(assertion)).toMatchObject({ kid: keys[alg]!.publicJwk.kid });
      expect(decodeJwt(assertion)).toMatchObject({
        iss: c.client_id,
        sub: c.client_id,
        aud: fixture.issuer,
      });
    },
  );

  test('signed by another key under the registered kid: invalid_client, processed as an error', async () => {
    const stranger = await ClientKey.generate('ES256', keys.ES256!.publicJwk.kid);
    const { as, c, response } = await redeemWithKey('ES256', stranger);
    expect(response.status).toBe(401);
    await expect(oauth.processGenericTokenEndpointResponse(as, c, response)).rejects.toMatchObject({
      error: 'invalid_client',
      status: 401,
    });
  });
});
