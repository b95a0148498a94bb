/**
 * oauth4webapi (panva), a strict OAuth 2 client and resource-server library: its discovery
 * (issuer checked byte for byte), the JWT bearer grant through its generic token endpoint API and
 * response processing, then its RFC 9068 validateJwtAccessToken as a resource server would run it
 * against our JWKS — and its RFC 9728 resource discovery against the example MCP server.
 */
import * as oauth from 'oauth4webapi';
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/server.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/token-request.js';
import { LocalFixture, type RegisteredClient } from '../support/local-fixture.js';

const API = 'https://api.example.com/';
// Loopback http only: the fixture serves no TLS.
const insecure = { [oauth.allowInsecureRequests]: true } as const;
let fixture: LocalFixture;
let registered: RegisteredClient;
let mcp: RunningMcpServer;

beforeAll(async () => {
  fixture = await LocalFixture.start({ issuerIsUrl: true });
  mcp = await startMcpServer({ issuer: fixture.issuer, port: 0 });
  registered = await fixture.addClient('o4w-client', 'read write', [API, mcp.resource.resource]);
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
