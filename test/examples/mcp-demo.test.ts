/** `npm run demo -- --mcp`: the MCP SDK's agent walks the flow and every step passes, on loopback. */
import { runMcpDemo } from '../../examples/demo/mcp-flow.js';

test('the MCP demo connects, calls a tool, and shows the refusals', async () => {
  const lines: string[] = [];
  const ok = await runMcpDemo((l) => lines.push(l));
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
  // No secret is printed, and every address is on loopback.
  expect(out).not.toMatch(/client_secret/);
  for (const url of out.match(/https?:\/\/[^\s"/]+/g) ?? [])
    expect(url).toMatch(/^http:\/\/(localhost|127\.0\.0\.1):\d+$/);
}, 30_000);
