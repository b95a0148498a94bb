/**
 * The MCP server's protection, request by request (no network: keys in memory): RFC 9728 metadata
 * at the path-aware well-known URL, the bearer gate (typ at+jwt, iss, aud = its own resource URL,
 * exp), and a 403 insufficient_scope naming each tool's scope.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import {
  createMcpResource,
  type McpResource,
} from '../../../../lambda/example-resources/mcp/mcp-resource.js';

const ISSUER = 'https://as.example.test';
const RESOURCE = 'https://mcp.example.test/mcp';
const METADATA = 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp';

let key: CryptoKey;
let otherKey: CryptoKey;
let mcp: McpResource;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  ({ privateKey: otherKey } = await generateKeyPair('RS256'));
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
  mcp = createMcpResource({
    issuer: ISSUER,
    resource: RESOURCE,
    jwksUri: 'https://as.example.test/.well-known/jwks.json',
    keys: createLocalJWKSet({ keys: [jwk] }),
  });
});
afterAll(() => mcp.close());

async function token(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  signWith: CryptoKey = key,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    sub: 'alice@example.com',
    aud: RESOURCE,
    client_id: 'agent',
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 300,
    scope: 'read write',
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1', ...header })
    .sign(signWith);
}

let id = 0;
function rpc(method: string, params: Record<string, unknown>, bearer?: string): Promise<Response> {
  return mcp.fetch(
    new Request(RESOURCE, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(bearer && { authorization: `Bearer ${bearer}` }),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
    }),
  );
}

const initialize = (bearer?: string) =>
  rpc(
    'initialize',
    {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'test', version: '1' },
    },
    bearer,
  );

/** The JSON-RPC message of a response, whether sent as JSON or as one SSE event. */
async function message(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  const data = /^data: (.*)$/m.exec(text)?.[1] ?? text;
  return JSON.parse(data) as Record<string, unknown>;
}

describe('RFC 9728 metadata', () => {
  test('at the well-known path for the resource URL, naming our issuer and the tool scopes', async () => {
    expect(mcp.metadataUrl).toBe(METADATA);
    const res = await mcp.fetch(new Request(METADATA));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['read', 'write'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256']),
      resource_name: expect.any(String),
    });
  });

  test('POST is 405', async () => {
    expect((await mcp.fetch(new Request(METADATA, { method: 'POST' }))).status).toBe(405);
  });

  test('another path is 404, not the MCP endpoint', async () => {
    expect((await mcp.fetch(new Request('https://mcp.example.test/other'))).status).toBe(404);
  });
});

describe('the bearer gate', () => {
  test('no token: 401 with a bare challenge pointing at the metadata', async () => {
    const res = await initialize();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(
      new RegExp(
        `^Bearer resource_metadata="${METADATA}", DPoP algs="[^"]+", resource_metadata="${METADATA}"$`,
      ),
    );
  });

  test.each([
    ['another audience', { aud: 'https://other.example.test/mcp' }, {}, 'aud'],
    ['the audience with a trailing slash', { aud: `${RESOURCE}/` }, {}, 'aud'],
    ['another issuer', { iss: 'https://evil.example.test' }, {}, 'iss'],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 3600 }, {}, 'expired'],
    ['typ JWT instead of at+jwt', {}, { typ: 'JWT' }, 'typ'],
  ])('%s: 401 invalid_token naming what failed', async (_what, claims, header, named) => {
    const res = await initialize(await token(claims, header));
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"/);
    expect(challenge).toContain(named);
    expect(challenge).toContain(`resource_metadata="${METADATA}"`);
  });

  test('signed by a key that is not published: 401 invalid_token', async () => {
    const res = await initialize(await token({}, {}, otherKey));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  test('a valid token reaches the MCP server: initialize, then the tools', async () => {
    const bearer = await token();
    const init = await initialize(bearer);
    expect(init.status).toBe(200);
    expect(await message(init)).toMatchObject({ result: { serverInfo: expect.any(Object) } });
    const list = await message(await rpc('tools/list', {}, bearer));
    expect((list.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toEqual([
      'whoami',
      'add_note',
    ]);
  });
});

describe('a scope per tool', () => {
  test('whoami with scope read: the caller the token speaks for', async () => {
    const res = await rpc('tools/call', { name: 'whoami', arguments: {} }, await token());
    expect(res.status).toBe(200);
    const { result } = (await message(res)) as { result: { content: Array<{ text: string }> } };
    expect(JSON.parse(result.content[0]!.text)).toEqual({
      subject: 'alice@example.com',
      clientId: 'agent',
      scope: 'read write',
    });
  });

  test('add_note without scope write: 403 insufficient_scope naming write', async () => {
    const res = await rpc(
      'tools/call',
      { name: 'add_note', arguments: { text: 'x' } },
      await token({ scope: 'read' }),
    );
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer error="insufficient_scope"/);
    expect(challenge).toContain('scope="write"');
    expect(challenge).toContain('the add_note tool needs scope write');
    expect(challenge).toContain(`resource_metadata="${METADATA}"`);
  });

  test('whoami without scope read: 403 naming read', async () => {
    const res = await rpc(
      'tools/call',
      { name: 'whoami', arguments: {} },
      await token({ scope: 'write' }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('scope="read"');
  });
});

test('a path-less resource (as xaa.dev registers one): metadata at the root, the endpoint at /mcp', async () => {
  const rooted = createMcpResource({
    issuer: ISSUER,
    resource: 'https://api.example.test/',
    jwksUri: 'https://as.example.test/.well-known/jwks.json',
  });
  try {
    expect(rooted.endpointPath).toBe('/mcp');
    expect(rooted.metadataUrl).toBe(
      'https://api.example.test/.well-known/oauth-protected-resource',
    );
    const res = await rooted.fetch(new Request(rooted.metadataUrl));
    expect(await res.json()).toMatchObject({ resource: 'https://api.example.test/' });
    const anonymous = await rooted.fetch(
      new Request('https://api.example.test/mcp', { method: 'POST', body: '{}' }),
    );
    expect(anonymous.headers.get('www-authenticate')).toEqual(
      expect.stringMatching(new RegExp(`^Bearer resource_metadata="${rooted.metadataUrl}", DPoP `)),
    );
  } finally {
    await rooted.close();
  }
});
