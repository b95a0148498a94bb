/**
 * `npm run demo [-- --mcp]`: the Cross App Access flow end to end, on loopback (with --mcp, an MCP
 * agent and server); exits 0 only if every step behaved.
 */
import { runDemo } from '../examples/demo/flow.js';
import { runMcpDemo } from '../examples/demo/mcp-flow.js';

const started = performance.now();
// `npm run demo -- --mcp`: the same flow driven by the official MCP SDK against an MCP server.
const run = process.argv.includes('--mcp') ? runMcpDemo : runDemo;
run((line) => console.log(line)).then(
  (ok) => {
    console.log(
      `\n${ok ? 'Every step behaved as it should' : 'Some step did not behave as it should'} (${Math.round(performance.now() - started)} ms).`,
    );
    process.exit(ok ? 0 : 1);
  },
  (err: unknown) => {
    console.error('The demo failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
