/** `npm run demo -- --mcp`: the MCP SDK's agent walks the flow and every step passes, on loopback. */
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
