/**
 * `npm run demo -- --mcp [--cimd]`: the MCP SDK's agent walks the flow and every step passes, on
 * loopback — registered with a secret, or (--cimd) unregistered, named by its metadata document.
 */
import { runMcpDemo } from '../../examples/demo/mcp-flow.js';
import { captureConsole } from '../support/console-capture.js';

test('the MCP demo connects, calls a tool, and shows the refusals', async () => {
  const lines: string[] = [];
  // The MCP SDK warns on the console when it retries after the wrong secret's invalid_client;
  // captured, so that a passing run prints no warning, and nothing else may be said there.
  const warnings = captureConsole('warn');
  let ok: boolean;
  try {
    ok = await runMcpDemo((l) => lines.push(l));
  } finally {
    warnings.restore();
  }
  for (const warning of warnings.lines)
    expect(warning).toMatch(/^\[mcp-sdk\] OAuth "invalid_client" — retrying authorization/);
  const out = lines.join('\n');
  expect(ok).toBe(true);
  for (const step of [
    'The agent connects to the MCP server (CrossAppAccessProvider)',
    'The agent lists the tools and calls one',
    'Refusal: a tool that needs a scope the token lacks',
    'Refusal: the agent with a wrong client secret',
  ]) {
    expect(out).toContain(step);
  }
  expect(out).toMatch(/← 401 POST \/mcp {2}WWW-Authenticate: Bearer resource_metadata=/);
  expect(out).toMatch(/← 403 POST \/mcp {2}WWW-Authenticate: Bearer error="insufficient_scope"/);
  expect(out).toContain('"resource":"http://localhost:');
  expect(out).not.toContain('\u2718');
  // Each reply prints under its own step: the SDK's GET stream is opened (and refused) while it
  // connects, not while it lists the tools.
  const refusedStream = out.indexOf('\u2190 405 GET /mcp');
  expect(refusedStream).toBeGreaterThan(out.indexOf('The agent connects to the MCP server'));
  expect(refusedStream).toBeLessThan(out.indexOf('The agent lists the tools and calls one'));
  // A challenge parameter repeated in Bearer and DPoP is printed once per answer.
  expect(out.match(/resource_metadata=/g)).toHaveLength(
    out.match(/\u2190 40[13] POST \/mcp/g)!.length,
  );
  // The SDK's retry after invalid_client is printed in its place, and explained.
  expect(out).toMatch(
    /Refusal: the agent with a wrong client secret[^]*\n {2}! \[mcp-sdk\] OAuth "invalid_client"[^\n]*\n {4}\(the SDK retries once after invalid_client[^\n]*: the discovery and the token request below are that retry\)\n {2}\u2192 GET [^\n]*oauth-protected-resource/,
  );
  expect(warnings.lines).toEqual([]);
  // No secret is printed, and every address is on loopback.
  expect(out).not.toMatch(/client_secret/);
  for (const url of out.match(/https?:\/\/[^\s"/]+/g) ?? [])
    expect(url).toMatch(/^http:\/\/(localhost|127\.0\.0\.1):\d+$/);
}, 30_000);

test('the CIMD demo: an unregistered agent, named by its document\u2019s URL, connects with private_key_jwt', async () => {
  const lines: string[] = [];
  const warnings = captureConsole('warn');
  let ok: boolean;
  try {
    ok = await runMcpDemo((l) => lines.push(l), { cimd: true });
  } finally {
    warnings.restore();
  }
  const out = lines.join('\n');
  expect(ok).toBe(true);
  expect(out).not.toContain('\u2718');
  expect(warnings.lines).toEqual([]);
  const steps = [
    'The agent publishes its Client ID Metadata Document (no registration)',
    'The agent connects to the MCP server (CrossAppAccessProvider, private_key_jwt)',
    'The agent lists the tools and calls one',
    'Refusal: a tool that needs a scope the token lacks',
    'Refusal: an impostor with the agent\u2019s URL, signing with a key of its own',
    'Refusal: a document outside the policy\u2019s URL prefix',
  ];
  for (const step of steps) expect(out).toContain(`\u2500\u2500 ${step}`);
  expect(out).not.toContain('Register the agent');
  expect(out).toContain('\u2714 no client is registered (npm run admin -- clients list)');

  // The agent's client_id is its document's URL on its own loopback site, and the server's policy
  // for that site is shown, with the development switch.
  const agentId = /client_id (http:\/\/localhost:\d+\/agents\/demo-agent\.json)/.exec(out)?.[1];
  expect(agentId).toBeDefined();
  expect(out).toContain('token_endpoint_auth_method "private_key_jwt"');
  expect(out).toMatch(
    /CLIENT_METADATA_DOCUMENTS=\[\{"url_prefix":"http:\/\/localhost:\d+\/agents\/"/,
  );
  expect(out).toContain('CLIENT_METADATA_HTTP_LOCALHOST=1');

  // The first token request: private_key_jwt, and the server fetches the document and the keys
  // while it answers it.
  const connect = out.slice(out.indexOf(steps[1]!), out.indexOf(steps[2]!));
  const tokenExchange = /\u2192 POST [^\n]*\/token\n([^]*?)\u2190 200 POST \/token\n([^\n]*)/.exec(
    connect,
  );
  expect(tokenExchange).not.toBeNull();
  const [, sent, answered] = tokenExchange!;
  expect(sent).toMatch(/client_assertion=eyJ[\w-]{20,}\u2026\n/);
  expect(sent).toContain(
    'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  );
  expect(sent).toMatch(/\u21b3 the agent\u2019s site answers GET \/agents\/demo-agent\.json: 200/);
  expect(sent).toMatch(
    /\u21b3 the agent\u2019s site answers GET \/agents\/demo-agent\/jwks\.json: 200/,
  );
  expect(JSON.parse(answered!.trim())).toMatchObject({ token_type: 'Bearer', scope: 'read' });
  expect(connect).not.toContain('Authorization: Basic');
  expect(connect).toContain(
    `\u2714 the token names the agent by its document\u2019s URL (client_id ${agentId})`,
  );
  expect(out).toContain(
    `whoami \u2192 {"subject":"alice@example.com","clientId":"${agentId}","scope":"read"}`,
  );

  // The refusals: the impostor's signature, and a URL no rule admits, never fetched.
  expect(out).toContain(
    '{"error":"invalid_client","error_description":"client authentication failed"}',
  );
  expect(out).toMatch(/is not a Client ID Metadata Document this server accepts/);
  expect(out).not.toMatch(/answers GET \/elsewhere/);

  // No secret, whole assertion, token or private key is printed; every address is on loopback.
  expect(out).not.toMatch(/client_secret/);
  expect(out).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  expect(out).not.toMatch(/"d"\s*:/);
  for (const url of out.match(/https?:\/\/[^\s"/]+/g) ?? [])
    expect(url).toMatch(/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/);
}, 30_000);
