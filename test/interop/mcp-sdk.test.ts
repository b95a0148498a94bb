/**
 * The official MCP TypeScript SDK, end to end on loopback: an agent with CrossAppAccessProvider
 * connects to the example MCP server, is sent to this authorization server by the RFC 9728 metadata,
 * redeems an ID-JAG minted for the audience and resource it discovered (JWT bearer grant,
 * client_secret_basic, RFC 8707 resource), lists the tools and calls them. The refusals that matter
 * happen end to end too.
 */
import {
  Client,
  CrossAppAccessProvider,
  discoverAuthorizationServerMetadata,
  InsufficientScopeError,
  OAuthError,
  StreamableHTTPClientTransport,
  type CrossAppAccessContext,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/server.js';
import { LocalFixture, type RegisteredClient } from '../support/local-fixture.js';
import { captureConsole } from '../support/console-capture.js';
import { watchingFetch, type TokenTraffic } from '../support/token-traffic.js';

let fixture: LocalFixture;
let mcp: RunningMcpServer;
let agent: RegisteredClient;

beforeAll(async () => {
  fixture = await LocalFixture.start({ issuerIsUrl: true });
  mcp = await startMcpServer({ issuer: fixture.issuer, port: 0 });
  agent = await fixture.addClient('mcp-agent', 'read write', [mcp.resource.resource]);
}, 30_000);

afterAll(async () => {
  await mcp?.close();
  await fixture?.close();
});

interface Seen extends TokenTraffic {
  contexts: CrossAppAccessContext[];
}

/** An agent: the SDK's client and transport, with the IdP minting what the SDK asks for. */
function connectAgent(
  options: {
    as?: RegisteredClient;
    clientSecret?: string;
    resource?: (discovered: string) => string;
    /** Claims of the ID-JAG over what the SDK asked for (undefined removes one). */
    claims?: Record<string, unknown>;
    onInsufficientScope?: 'throw' | 'reauthorize';
  } = {},
) {
  const seen: Seen = { contexts: [], tokenRequests: [], tokenResponses: [], withToken: 0 };
  const registered = options.as ?? agent;
  const provider = new CrossAppAccessProvider({
    clientId: registered.client_id,
    clientSecret: options.clientSecret ?? registered.client_secret,
    expectedIssuer: fixture.issuer,
    assertion: (ctx) => {
      seen.contexts.push(ctx);
      return fixture.idp.mint(
        { audience: ctx.authorizationServerUrl, clientId: registered.client_id },
        {
          resource: (options.resource ?? ((r) => r))(ctx.resourceUrl),
          scope: ctx.scope,
          ...options.claims,
        },
      );
    },
  });
  const watching = watchingFetch(mcp.url, seen);
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), {
    authProvider: provider,
    fetch: watching,
    ...(options.onInsufficientScope && { onInsufficientScope: options.onInsufficientScope }),
  });
  const client = new Client({ name: 'interop-agent', version: '1.0.0' });
  return { client, transport, seen };
}

test('the SDK\u2019s own metadata schema accepts our discovery document (DISC-AUTHZ-ENDPOINT, DISC-FIELDS)', async () => {
  // The schema that failed before ("authorization_endpoint: expected string, received undefined").
  const metadata = await discoverAuthorizationServerMetadata(fixture.issuer);
  expect(metadata).toMatchObject({
    issuer: fixture.issuer,
    authorization_endpoint: `${fixture.issuer}/authorize`,
    response_types_supported: [],
  });
  // The endpoint it names exists, and only ever says no.
  const res = await fetch(`${fixture.issuer}/authorize?response_type=code&client_id=x`, {
    redirect: 'manual',
  });
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('cache-control')).toBe('no-store');
});

test('CrossAppAccessProvider connects through our server, lists the tools and calls one', async () => {
  const { client, transport, seen } = connectAgent();
  try {
    await client.connect(transport);
    expect(seen.withToken).toBeGreaterThan(0);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['add_note', 'whoami']);

    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.isError).toBeFalsy();
    const content = result.content as Array<{ type: string; text: string }>;
    expect(JSON.parse(content[0]!.text)).toEqual({
      subject: 'alice@example.com',
      clientId: agent.client_id,
      scope: 'read write',
    });
    const note = await client.callTool({ name: 'add_note', arguments: { text: 'hello' } });
    expect(JSON.parse((note.content as Array<{ text: string }>)[0]!.text)).toMatchObject({
      saved: true,
      by: 'alice@example.com',
    });

    // The SDK discovered our issuer and the MCP server's resource, and asked the IdP for those.
    expect(seen.contexts[0]).toMatchObject({
      authorizationServerUrl: fixture.issuer,
      resourceUrl: mcp.resource.resource,
    });
    // It redeemed the ID-JAG as the MCP profile says: Basic, the JWT bearer grant, a resource.
    expect(seen.tokenRequests).toHaveLength(1);
    const [request] = seen.tokenRequests;
    expect(request!.authorization).toMatch(/^Basic /);
    expect(request!.body.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(request!.body.get('resource')).toBe(mcp.resource.resource);
    // RESP-SUCCESS: the granted resource comes back in the token response.
    expect(seen.tokenResponses[0]).toMatchObject({
      token_type: 'Bearer',
      scope: 'read write',
      resource: mcp.resource.resource,
    });
  } finally {
    await client.close();
  }
});

test('a wrong client secret is refused: invalid_client, and the MCP server is never reached with a token', async () => {
  const { client, transport, seen } = connectAgent({ clientSecret: 'not-the-secret' });
  // The SDK retries once after an invalid_client and says so with console.warn, quoting our
  // error_description: captured here, so a passing run prints no warning.
  const warnings = captureConsole('warn');
  try {
    await expect(client.connect(transport)).rejects.toThrow(
      /invalid_client|client authentication/i,
    );
    expect(seen.tokenResponses.length).toBeGreaterThan(0);
    for (const body of seen.tokenResponses) expect(body).toMatchObject({ error: 'invalid_client' });
    expect(seen.withToken).toBe(0);
  } finally {
    warnings.restore();
    await client.close();
  }
  expect(warnings.lines).toEqual([
    expect.stringMatching(/OAuth "invalid_client" .*Cause: "client authentication failed"$/),
  ]);
});

test('an ID-JAG for another resource is refused: invalid_target, no token issued', async () => {
  const { client, transport, seen } = connectAgent({
    resource: () => 'https://api.example.com/',
  });
  try {
    await expect(client.connect(transport)).rejects.toMatchObject({ code: 'invalid_target' });
    expect(seen.tokenResponses.length).toBeGreaterThan(0);
    for (const body of seen.tokenResponses) {
      expect(body.error).toBe('invalid_target');
      expect(body).not.toHaveProperty('access_token');
    }
    expect(seen.withToken).toBe(0);
  } finally {
    await client.close();
  }
});

test('a tool whose scope the token lacks: 403 insufficient_scope naming the scope', async () => {
  const reader = await fixture.addClient('mcp-reader', 'read', [mcp.resource.resource]);
  const { client, transport } = connectAgent({ as: reader, onInsufficientScope: 'throw' });
  try {
    await client.connect(transport);
    await client.callTool({ name: 'whoami', arguments: {} });
    const refused = await client.callTool({ name: 'add_note', arguments: { text: 'x' } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(InsufficientScopeError);
    expect((refused as InsufficientScopeError).requiredScope).toBe('write');
    expect((refused as InsufficientScopeError).resourceMetadataUrl?.href).toBe(
      mcp.resource.metadataUrl,
    );
  } finally {
    await client.close();
  }
});

describe('GRANT-SCOPE-DEFAULT: an ID-JAG without a scope claim', () => {
  const whoami = async (client: Client) => {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Record<
      string,
      unknown
    >;
  };

  test('from an IdP left at the default: the SDK connects, the token holds the registered scopes it asked for', async () => {
    const { client, transport, seen } = connectAgent({ claims: { scope: undefined } });
    try {
      await client.connect(transport);
      expect(await whoami(client)).toEqual({
        subject: 'alice@example.com',
        clientId: agent.client_id,
        scope: 'read write',
      });
      // The SDK asked for the MCP server's scopes; the ID-JAG it redeemed carried none.
      const [request] = seen.tokenRequests;
      expect(request!.body.get('scope')).toBe('read write');
      expect(decodeJwt(request!.body.get('assertion')!)).not.toHaveProperty('scope');
      expect(seen.tokenResponses[0]).toMatchObject({ scope: 'read write' });
    } finally {
      await client.close();
    }
  });

  test('the default is the registration: a client registered for read gets read, whatever the SDK asks', async () => {
    const reader = await fixture.addClient('mcp-unscoped-reader', 'read', [mcp.resource.resource]);
    const { client, transport, seen } = connectAgent({
      as: reader,
      claims: { scope: undefined },
      onInsufficientScope: 'throw',
    });
    try {
      await client.connect(transport);
      expect(seen.tokenRequests[0]!.body.get('scope')).toBe('read write');
      expect(seen.tokenResponses[0]).toMatchObject({ scope: 'read' });
      expect(await whoami(client)).toMatchObject({ clientId: reader.client_id, scope: 'read' });
      await expect(
        client.callTool({ name: 'add_note', arguments: { text: 'x' } }),
      ).rejects.toBeInstanceOf(InsufficientScopeError);
    } finally {
      await client.close();
    }
  });

  test('from an IdP set to "default_scope": "none": invalid_scope, as before, and no token', async () => {
    await fixture.trustIdp({ default_scope: 'none' });
    try {
      const { client, transport, seen } = connectAgent({ claims: { scope: undefined } });
      try {
        const refused = await client.connect(transport).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(refused).toBeInstanceOf(OAuthError);
        expect(refused).toMatchObject({ code: 'invalid_scope' });
        expect(seen.tokenRequests.length).toBeGreaterThan(0);
        for (const request of seen.tokenRequests)
          expect(request.body.get('scope')).toBe('read write');
        for (const body of seen.tokenResponses) {
          expect(body.error).toBe('invalid_scope');
          expect(body).not.toHaveProperty('access_token');
        }
        expect(seen.withToken).toBe(0);
      } finally {
        await client.close();
      }
      // The same IdP's ID-JAG with a scope claim is still redeemed under "none".
      const scoped = connectAgent();
      try {
        await scoped.client.connect(scoped.transport);
        expect(await whoami(scoped.client)).toMatchObject({ scope: 'read write' });
      } finally {
        await scoped.client.close();
      }
    } finally {
      await fixture.trustIdp({});
    }
  });
});
