/**
 * The official MCP TypeScript SDK as an agent that was never registered: its client_id is the URL
 * of its Client ID Metadata Document (CIMD), served on loopback with its public key, and it
 * authenticates with private_key_jwt — CrossAppAccessProvider with the SDK's own
 * createPrivateKeyJwtAuth as its addClientAuthentication, nothing but the SDK's public API. It
 * connects to the example MCP server through this authorization server and calls a tool.
 */
import {
  Client,
  createPrivateKeyJwtAuth,
  CrossAppAccessProvider,
  discoverAuthorizationServerMetadata,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/server.js';
import { CLIENT_ASSERTION_TYPE } from '../../lambda/oauth/grant-types.js';
import { ClientHost, ClientKey } from '../support/client-keys.js';
import { captureConsole } from '../support/console-capture.js';
import { LocalFixture } from '../support/local-fixture.js';
import { freePort } from '../support/processes.js';
import { watchingFetch, type TokenTraffic } from '../support/token-traffic.js';

let host: ClientHost;
let key: ClientKey;
let fixture: LocalFixture;
let mcp: RunningMcpServer;
/** The agent's client_id: the URL of its metadata document. */
let agentId: string;

beforeAll(async () => {
  host = await ClientHost.start();
  key = await ClientKey.generate('ES256');
  agentId = host.metadata('/agents/mcp-agent.json', { jwks: key.jwks });
  // The resource is named before the MCP server starts: the policy below needs it, and the MCP
  // server needs the authorization server's issuer.
  const mcpPort = await freePort();
  const resource = `http://localhost:${mcpPort}/mcp`;
  fixture = await LocalFixture.start({
    issuerIsUrl: true,
    env: {
      // CIMD-DEV-HTTP: the documents are on http://localhost, as in a demo on one machine.
      CLIENT_METADATA_HTTP_LOCALHOST: '1',
      CLIENT_METADATA_DOCUMENTS: JSON.stringify([
        { url_prefix: `${host.origin}/agents/`, scopes: ['read', 'write'], resources: [resource] },
      ]),
    },
  });
  mcp = await startMcpServer({ issuer: fixture.issuer, port: mcpPort });
  expect(mcp.resource.resource).toBe(resource);
}, 30_000);

afterAll(async () => {
  await mcp?.close();
  await fixture?.close();
  await host?.close();
});

type Seen = TokenTraffic;

/** The agent: CrossAppAccessProvider, its client authentication the SDK's private_key_jwt. */
function connectAgent(options: { clientId?: string; signer?: ClientKey } = {}) {
  const clientId = options.clientId ?? agentId;
  const signer = options.signer ?? key;
  const seen: Seen = { tokenRequests: [], tokenResponses: [], withToken: 0 };
  // The provider takes a secret and no key; the SDK's token request uses the provider's
  // addClientAuthentication instead when it has one (executeTokenRequest), so the secret it is
  // given is never sent: this client has none.
  const provider = Object.assign(
    new CrossAppAccessProvider({
      clientId,
      clientSecret: '',
      expectedIssuer: fixture.issuer,
      assertion: (ctx) =>
        fixture.idp.mint(
          { audience: ctx.authorizationServerUrl, clientId },
          { resource: ctx.resourceUrl, scope: ctx.scope },
        ),
    }),
    {
      addClientAuthentication: createPrivateKeyJwtAuth({
        issuer: clientId,
        subject: clientId,
        privateKey: signer.privateJwk as Record<string, unknown>,
        alg: signer.alg,
      }),
    },
  );
  const watching = watchingFetch(mcp.url, seen);
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), {
    authProvider: provider,
    fetch: watching,
  });
  const client = new Client({ name: 'interop-cimd-agent', version: '1.0.0' });
  return { client, transport, provider, seen };
}

test('the SDK reads the discovery document: CIMD and private_key_jwt are advertised', async () => {
  const metadata = await discoverAuthorizationServerMetadata(fixture.issuer);
  expect(metadata).toMatchObject({
    issuer: fixture.issuer,
    client_id_metadata_document_supported: true,
  });
  expect(metadata?.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
});

test('an unregistered agent named by its metadata document connects with private_key_jwt and calls a tool', async () => {
  // No registration at all: the registry is empty.
  expect(await fixture.clientIds()).toEqual([]);
  const { client, transport, provider, seen } = connectAgent();
  try {
    await client.connect(transport);
    expect(seen.withToken).toBeGreaterThan(0);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.isError).toBeFalsy();
    const content = result.content as Array<{ type: string; text: string }>;
    expect(JSON.parse(content[0]!.text)).toEqual({
      subject: 'alice@example.com',
      clientId: agentId,
      scope: 'read write',
    });
    const note = await client.callTool({ name: 'add_note', arguments: { text: 'from a URL' } });
    expect(JSON.parse((note.content as Array<{ text: string }>)[0]!.text)).toMatchObject({
      saved: true,
      by: 'alice@example.com',
    });

    // One token request, authenticated by the SDK's private_key_jwt, with no secret anywhere.
    expect(seen.tokenRequests).toHaveLength(1);
    const [request] = seen.tokenRequests;
    expect(request!.authorization).toBeNull();
    expect(request!.body.has('client_secret')).toBe(false);
    expect(request!.body.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(request!.body.get('resource')).toBe(mcp.resource.resource);
    expect(request!.body.get('client_assertion_type')).toBe(CLIENT_ASSERTION_TYPE);
    const assertion = request!.body.get('client_assertion')!;
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    // RFC 7523bis: the audience is the issuer identifier, which the SDK took from discovery.
    expect(decodeJwt(assertion)).toMatchObject({ iss: agentId, sub: agentId, aud: fixture.issuer });

    // The token is the document's client's, on the policy's terms.
    expect(seen.tokenResponses[0]).toMatchObject({
      token_type: 'Bearer',
      scope: 'read write',
      resource: mcp.resource.resource,
    });
    expect(decodeJwt(provider.tokens()!.access_token)).toMatchObject({
      iss: fixture.issuer,
      aud: mcp.resource.resource,
      client_id: agentId,
      sub: 'alice@example.com',
    });
    // The server fetched the document; still nothing is registered.
    expect(host.hits.get('/agents/mcp-agent.json')).toBeGreaterThanOrEqual(1);
    expect(await fixture.clientIds()).toEqual([]);
  } finally {
    await client.close();
  }
});

test('signed with a key the document does not hold: invalid_client, the MCP server never sees a token', async () => {
  const stranger = await ClientKey.generate('ES256');
  const { client, transport, seen } = connectAgent({ signer: stranger });
  // The SDK retries once after invalid_client and says so with console.warn.
  const warnings = captureConsole('warn');
  try {
    await expect(client.connect(transport)).rejects.toMatchObject({ code: 'invalid_client' });
    expect(seen.tokenResponses.length).toBeGreaterThan(0);
    for (const body of seen.tokenResponses) {
      expect(body).toMatchObject({ error: 'invalid_client' });
      expect(body).not.toHaveProperty('access_token');
    }
    expect(seen.withToken).toBe(0);
  } finally {
    warnings.restore();
    await client.close();
  }
  for (const line of warnings.lines) expect(line).toMatch(/^\[mcp-sdk\] OAuth "invalid_client"/);
});

test('a document URL no rule admits: invalid_client, and it is never fetched', async () => {
  const outside = host.metadata('/elsewhere/agent.json', { jwks: key.jwks });
  const { client, transport, seen } = connectAgent({ clientId: outside });
  const warnings = captureConsole('warn');
  try {
    await expect(client.connect(transport)).rejects.toMatchObject({ code: 'invalid_client' });
    expect(seen.tokenResponses.length).toBeGreaterThan(0);
    for (const body of seen.tokenResponses)
      expect(body).toMatchObject({
        error: 'invalid_client',
        error_description: expect.stringContaining('not a Client ID Metadata Document') as string,
      });
    expect(seen.withToken).toBe(0);
  } finally {
    warnings.restore();
    await client.close();
  }
  expect(host.hits.get('/elsewhere/agent.json')).toBeUndefined();
});
