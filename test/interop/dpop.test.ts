/**
 * DPoP with third-party clients, end to end on loopback (RFC 9449; DPOP-CNF-JKT, DPOP-BIND,
 * DPOP-TOKEN, DPOP-NONCE):
 *
 * - the MCP SDK (@modelcontextprotocol/client): CrossAppAccessProvider with a `dpop()` session gets
 *   a DPoP-bound token from our token endpoint (its proof, our nonce round trip) for an ID-JAG the
 *   IdP bound to the session's key, and calls the example MCP server with the DPoP scheme and a
 *   proof per request;
 * - oauth4webapi: its DPoP client redeems an ID-JAG at our token endpoint, and its resource-server
 *   validator (validateJwtAccessToken) accepts our bound token with its proof and refuses it as
 *   Bearer.
 */
import { randomBytes } from 'node:crypto';
import {
  Client,
  CrossAppAccessProvider,
  DpopSession,
  StreamableHTTPClientTransport,
  type CrossAppAccessProviderOptions,
} from '@modelcontextprotocol/client';
import * as oauth from 'oauth4webapi';
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/server.js';
import { LocalFixture, type RegisteredClient } from '../support/local-fixture.js';
import { claimsOf } from '../support/dpop.js';
import { captureConsole } from '../support/console-capture.js';

let fixture: LocalFixture;
let mcp: RunningMcpServer;
let agent: RegisteredClient;

beforeAll(async () => {
  fixture = await LocalFixture.start({
    issuerIsUrl: true,
    env: { DPOP_NONCE: 'required', DPOP_NONCE_KEY: randomBytes(32).toString('base64url') },
  });
  mcp = await startMcpServer({ issuer: fixture.issuer, port: 0 });
  agent = await fixture.addClient('dpop-agent', 'read write', [mcp.resource.resource]);
}, 30_000);

afterAll(async () => {
  await mcp?.close();
  await fixture?.close();
});

/** CrossAppAccessProvider has no dpop() of its own: the SDK's OAuthClientProvider hook adds it. */
class DpopCrossAppAccessProvider extends CrossAppAccessProvider {
  constructor(
    options: CrossAppAccessProviderOptions,
    private readonly session: DpopSession,
  ) {
    super(options);
  }
  dpop(): DpopSession {
    return this.session;
  }
}

test('the MCP SDK: a bound ID-JAG, a DPoP token with the nonce round trip, tools called with proofs', async () => {
  const session = await DpopSession.create();
  const seen = { tokenStatuses: [] as number[], mcpAuth: [] as string[], proofs: 0 };
  const provider = new DpopCrossAppAccessProvider(
    {
      clientId: agent.client_id,
      clientSecret: agent.client_secret,
      expectedIssuer: fixture.issuer,
      // The IdP binds the grant to the agent's DPoP key (draft §8.6.1.2).
      assertion: (ctx) =>
        fixture.idp.mint(
          { audience: ctx.authorizationServerUrl, clientId: agent.client_id },
          { resource: ctx.resourceUrl, scope: ctx.scope, cnf: { jkt: session.thumbprint } },
        ),
    },
    session,
  );
  const watching: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    const headers = new Headers(init?.headers);
    if (url.endsWith('/token')) seen.tokenStatuses.push(res.status);
    if (url === mcp.url && headers.has('authorization')) {
      seen.mcpAuth.push(headers.get('authorization')!.split(' ')[0]!);
      if (headers.has('dpop')) seen.proofs++;
    }
    return res;
  };
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), {
    authProvider: provider,
    fetch: watching,
  });
  const client = new Client({ name: 'dpop-agent', version: '1.0.0' });
  try {
    await client.connect(transport);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.isError).toBeFalsy();
    // DPOP-NONCE: the first proof had no nonce (400 use_dpop_nonce), the retry had ours.
    expect(seen.tokenStatuses).toEqual([400, 200]);
    // DPOP-TOKEN: the SDK saw token_type DPoP and a token bound to its key.
    const tokens = provider.tokens()!;
    expect(tokens.token_type).toBe('DPoP');
    expect(claimsOf(tokens.access_token).cnf).toEqual({ jkt: session.thumbprint });
    // Every call to the MCP server used the DPoP scheme with a proof (RFC 9449 §7.1).
    expect(seen.mcpAuth.length).toBeGreaterThan(0);
    expect(new Set(seen.mcpAuth)).toEqual(new Set(['DPoP']));
    expect(seen.proofs).toBe(seen.mcpAuth.length);
  } finally {
    await client.close();
  }
});

test('the MCP SDK with a key other than the one the IdP bound: refused, no token', async () => {
  const session = await DpopSession.create();
  const bystander = await DpopSession.create();
  const provider = new DpopCrossAppAccessProvider(
    {
      clientId: agent.client_id,
      clientSecret: agent.client_secret,
      expectedIssuer: fixture.issuer,
      assertion: (ctx) =>
        fixture.idp.mint(
          { audience: ctx.authorizationServerUrl, clientId: agent.client_id },
          { resource: ctx.resourceUrl, scope: ctx.scope, cnf: { jkt: bystander.thumbprint } },
        ),
    },
    session,
  );
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider });
  const client = new Client({ name: 'dpop-agent', version: '1.0.0' });
  // The SDK retries once after the invalid_grant and says so with console.warn, quoting our
  // error_description: captured here, so a passing run prints no warning.
  const warnings = captureConsole('warn');
  try {
    await expect(client.connect(transport)).rejects.toThrow(/invalid_grant|DPoP|another key/i);
  } finally {
    warnings.restore();
  }
  expect(provider.tokens()).toBeUndefined();
  expect(warnings.lines).toEqual([
    expect.stringMatching(
      /OAuth "invalid_grant" .*Cause: "the DPoP proof is signed with another key than the one the assertion names"$/,
    ),
  ]);
  await client.close().catch(() => undefined);
});

test('oauth4webapi: DPoP client at our token endpoint, and its resource-server validator accepts the bound token', async () => {
  const issuer = new URL(fixture.issuer);
  const as = await oauth
    .discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true })
    .then((r) => oauth.processDiscoveryResponse(issuer, r));
  expect(as.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256']));
  const client: oauth.Client = { client_id: agent.client_id };
  const keyPair = await oauth.generateKeyPair('ES256');
  const dpop = oauth.DPoP(client, keyPair);
  const assertion = await fixture.mint(agent.client_id, { resource: mcp.resource.resource });
  const grant = () =>
    oauth.genericTokenEndpointRequest(
      as,
      client,
      oauth.ClientSecretPost(agent.client_secret),
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      new URLSearchParams({ assertion }),
      { DPoP: dpop, [oauth.allowInsecureRequests]: true },
    );
  let response = await grant();
  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processGenericTokenEndpointResponse(as, client, response);
  } catch (err) {
    // DPOP-NONCE: oauth4webapi keeps the nonce it was sent; the retry carries it.
    expect(oauth.isDPoPNonceError(err)).toBe(true);
    response = await grant();
    result = await oauth.processGenericTokenEndpointResponse(as, client, response);
  }
  expect(result.token_type).toBe('dpop');
  const cnf = claimsOf(result.access_token).cnf as { jkt: string };
  expect(cnf.jkt).toEqual(expect.any(String));

  expect(cnf.jkt).toBe(await dpop.calculateThumbprint());

  // As a resource server: the request oauth4webapi's client builds (DPoP scheme, a fresh proof
  // with ath), checked by oauth4webapi's own validator.
  let sent: Request | undefined;
  const capture = (async (input: string | URL | Request, init?: RequestInit) => {
    sent = new Request(input, init);
    return new Response('{}');
  }) as typeof fetch;
  await oauth.protectedResourceRequest(
    result.access_token,
    'GET',
    new URL(mcp.url),
    undefined,
    undefined,
    { DPoP: dpop, [oauth.customFetch]: capture, [oauth.allowInsecureRequests]: true },
  );
  expect(sent!.headers.get('authorization')).toMatch(/^DPoP /);
  const validate = (request: Request) =>
    oauth.validateJwtAccessToken(as, request, mcp.resource.resource, {
      [oauth.allowInsecureRequests]: true,
    });
  expect((await validate(sent!)).cnf).toEqual(cnf);
  // The same token as Bearer, without a proof: refused.
  const bearer = new Request(mcp.url, {
    headers: { authorization: `Bearer ${result.access_token}` },
  });
  await expect(validate(bearer)).rejects.toThrow();
  // And our own MCP server accepts what oauth4webapi's client sends.
  const ours = await fetch(mcp.url, {
    method: 'POST',
    headers: {
      authorization: sent!.headers.get('authorization')!,
      dpop: await (async () => {
        let again: Request | undefined;
        await oauth.protectedResourceRequest(
          result.access_token,
          'POST',
          new URL(mcp.url),
          undefined,
          undefined,
          {
            DPoP: dpop,
            [oauth.customFetch]: (async (i: string | URL | Request, n?: RequestInit) => {
              again = new Request(i, n);
              return new Response('{}');
            }) as typeof fetch,
            [oauth.allowInsecureRequests]: true,
          },
        );
        return again!.headers.get('dpop')!;
      })(),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'o', version: '1' },
      },
    }),
  });
  expect(ours.status).toBe(200);
});
