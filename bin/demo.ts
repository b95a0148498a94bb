/**
 * `npm run demo [-- --mcp [--cimd]]`: the Cross App Access flow end to end, on loopback (with --mcp,
 * an MCP agent and server; with --cimd, that agent unregistered, named by its Client ID Metadata
 * Document); exits 0 only if every step behaved.
 */
import { parseArgs } from 'node:util';
import { runDemo } from '../examples/demo/flow.js';
import { runMcpDemo } from '../examples/demo/mcp-flow.js';

export const DEMO_USAGE = `Usage: npm run demo [-- --mcp [--cimd]]

Runs the Cross App Access flow on loopback and prints each step: it starts this authorization
server on a temporary DATA_DIR, a development IdP and a protected resource, registers a client,
has the IdP sign an ID-JAG, redeems it for an access token and calls the resource with it; then
the refusals (a replayed ID-JAG, a token without the needed scope, no token) and the same with
proof of possession (DPoP). Nothing leaves the machine, and nothing stays: the temporary folder
is removed. Exits 0 only if every step behaved as it should.

  --mcp    the same flow as an AI agent sees it: the official MCP SDK's CrossAppAccessProvider
           discovers this server from an MCP server's 401 and calls one of its tools
  --cimd   (implies --mcp) the agent is not registered at all: its client_id is the URL of its
           Client ID Metadata Document, which it serves on localhost with its public key, and it
           authenticates with private_key_jwt; the server admits it by a CLIENT_METADATA_DOCUMENTS
           rule, with CLIENT_METADATA_HTTP_LOCALHOST=1 (http://localhost, for a demo only)
  --help   this text`;

export type DemoChoice =
  | { readonly run: 'flow' | 'mcp' | 'mcp-cimd' }
  | { readonly help: string }
  | { readonly problem: string };

const sorted = (s: string) => [...s.toLowerCase()].sort().join('');

/** The demo's arguments; anything it does not know is refused rather than ignored. */
export function demoChoice(argv: string[]): DemoChoice {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        mcp: { type: 'boolean' },
        cimd: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = arg.replace(/^-+/, '');
      const meant = ['mcp', 'cimd', 'help'].find(
        (known) => sorted(known) === sorted(name) || (name.length >= 2 && known.startsWith(name)),
      );
      return {
        problem: `npm run demo: unknown option ${arg}${meant ? `: did you mean --${meant}?` : ''}`,
      };
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      return { problem: `npm run demo: unexpected argument ${JSON.stringify(arg)}` };
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      return { problem: `npm run demo: ${arg} takes no value` };
    return { problem: `npm run demo: ${message}` };
  }
  if (values.help) return { help: DEMO_USAGE };
  return { run: values.cimd ? 'mcp-cimd' : values.mcp ? 'mcp' : 'flow' };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const choice = demoChoice(process.argv.slice(2));
  if ('help' in choice) {
    console.log(choice.help);
    process.exit(0);
  }
  if ('problem' in choice) {
    console.error(`${choice.problem}\n\n${DEMO_USAGE}`);
    process.exit(2);
  }
  const started = performance.now();
  const print = (line: string) => console.log(line);
  const run =
    choice.run === 'flow' ? runDemo(print) : runMcpDemo(print, { cimd: choice.run === 'mcp-cimd' });
  run.then(
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
}
