/**
 * `npm run demo -- --mcp`: an AI agent reaching an MCP server through Cross App Access, on loopback,
 * with the official MCP SDK doing the agent's part. CrossAppAccessProvider meets a 401, reads the
 * MCP server's RFC 9728 metadata, discovers this authorization server (RFC 8414), asks the
 * development IdP for an ID-JAG for exactly the audience and resource it discovered, redeems it
 * (JWT bearer grant, client_secret_basic, RFC 8707 resource) and calls a tool. Then the refusals.
 */
import {
  Client,
  CrossAppAccessProvider,
  InsufficientScopeError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { format } from 'node:util';
import { decodeJwt } from 'jose';
import { runAdmin } from '../../bin/admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { startLocalServer } from '../../lambda/local/server.js';
import { silentLog } from '../../lambda/logging.js';
import { startMcpServer } from '../mcp-server/server.js';
import { DemoStage, freePort, type Print } from './stage.js';

const short = (s: string) => (s.length > 28 ? `${s.slice(0, 24)}\u2026` : s);

/**
 * A WWW-Authenticate value as its challenges (RFC 9110 §11.6.1): a comma separates parameters and
 * challenges alike; an item that starts with a scheme and a space starts a new challenge.
 */
export function challengesOf(header: string): Array<{ scheme: string; params: string[] }> {
  const found: Array<{ scheme: string; params: string[] }> = [];
  for (const item of header.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const text = item.trim();
    const start = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+(.*))?$/.exec(text);
    if (start) found.push({ scheme: start[1]!, params: start[2] ? [start[2]] : [] });
    else if (text) found.at(-1)?.params.push(text);
  }
  return found;
}

/**
 * The challenges one per line, each parameter said once: a resource offering Bearer and DPoP
 * repeats its resource_metadata in both (RFC 9728 §5.1).
 */
function describeChallenges(header: string): string[] {
  const said = new Set<string>();
  return challengesOf(header).map(({ scheme, params }, i) => {
    const fresh = params.filter((p) => !said.has(p));
    const repeated = params.filter((p) => said.has(p)).map((p) => p.split('=')[0]);
    for (const p of params) said.add(p);
    const text = [scheme, fresh.join(', ')].filter(Boolean).join(' ');
    const again = repeated.length > 0 ? ` (${repeated.join(', ')}: as above)` : '';
    return i === 0 ? `WWW-Authenticate: ${text}${again}` : `and ${text}${again}`;
  });
}

/** Runs the MCP demo; resolves true only if every step behaved as it should. */
export async function runMcpDemo(print: Print): Promise<boolean> {
  const stage = new DemoStage(print);
  const { step, expectThat } = stage;
  // The SDK's own warnings, printed in their place among the steps instead of on the console.
  const consoleWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    const said = format(...args);
    print(`  ! ${said}`);
    if (/^\[mcp-sdk\] OAuth "invalid_client"/.test(said))
      print(
        '    (the SDK retries once after invalid_client, in case what it held was stale: the discovery and the token request below are that retry)',
      );
  };
  /** HTTP exchanges still running: a step waits for them, so each reply prints under its step. */
  const inFlight = new Set<Promise<unknown>>();
  const settle = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  try {
    // The cast: a development IdP, our authorization server and the example MCP server.
    const dataDir = await stage.dataDir('xaa-mcp-demo-');
    const idp = await stage.devIdp();
    const asPort = await freePort();
    const env = {
      PORT: String(asPort),
      DATA_DIR: dataDir,
      TRUSTED_ISSUERS: JSON.stringify([{ issuer: idp.issuer, jwks_uri: idp.jwksUri }]),
    };
    const config = loadLocalConfig(env);
    const as = await startLocalServer(config, { logger: silentLog });
    stage.onClose(() => as.close());
    const mcp = await startMcpServer({ issuer: config.issuer, port: 0 });
    stage.onClose(() => mcp.close());
    const resource = mcp.resource.resource;

    step('The parties');
    print(`  enterprise IdP (development)   ${idp.issuer}`);
    print(`  authorization server (ours)    ${config.issuer}`);
    print(`  MCP server                     ${mcp.url}`);
    print(`    tools: whoami (scope read), add_note (scope write)`);

    step('Register the agent with the authorization server (npm run admin)');
    const register = async (clientId: string, scope: string) => {
      const lines: string[] = [];
      const args = ['--client-id', clientId, '--scope', scope, '--resource', resource, '--json'];
      await runAdmin(['clients', 'add', ...args], env, (l) => lines.push(l));
      const secret = (JSON.parse(lines.join('\n')) as { client_secret: string }).client_secret;
      print(`  client_id ${clientId}, scope "${scope}", resource ${resource}`);
      return secret;
    };
    const agentSecret = await register('demo-agent', 'read');

    /** The agent: the MCP SDK's client, its transport, and a fetch that prints each HTTP step. */
    const agent = (clientId: string, clientSecret: string) => {
      const provider = new CrossAppAccessProvider({
        clientId,
        clientSecret,
        expectedIssuer: config.issuer,
        assertion: async (ctx) => {
          print(`  \u2192 the SDK asks the IdP for an ID-JAG`);
          print(`      audience ${ctx.authorizationServerUrl}  (discovered)`);
          print(`      resource ${ctx.resourceUrl}  (discovered)`);
          print(`      scope    ${ctx.scope ?? '(none)'}`);
          return idp.mint({
            audience: ctx.authorizationServerUrl,
            clientId,
            scope: ctx.scope,
            resource: ctx.resourceUrl,
          });
        },
      });
      const printing: typeof fetch = (input, init) => {
        const exchange = printed(input, init);
        inFlight.add(exchange);
        void exchange.finally(() => inFlight.delete(exchange)).catch(() => undefined);
        return exchange;
      };
      const printed: typeof fetch = async (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        const method = init?.method ?? 'GET';
        const headers = new Headers(init?.headers);
        const auth = headers.get('authorization')?.split(' ')[0];
        print(`  \u2192 ${method} ${url}${auth ? `  (Authorization: ${auth} \u2026)` : ''}`);
        if (url.endsWith('/token')) {
          const form = new URLSearchParams(String(init?.body));
          for (const [k, v] of form) print(`      ${k}=${k === 'assertion' ? short(v) : v}`);
        }
        const res = await fetch(input, init);
        const [challenge, ...more] = describeChallenges(res.headers.get('www-authenticate') ?? '');
        const what = `${method} ${new URL(url).pathname}`;
        print(`  \u2190 ${res.status} ${what}${challenge ? `  ${challenge}` : ''}`);
        for (const line of more) print(`      ${line}`);
        if (method === 'GET' && url === mcp.url && res.status === 405)
          print(
            '      (the SDK\u2019s optional stream of server messages: this MCP server sends none)',
          );
        if (url.endsWith('/token')) {
          const body = (await res.clone().json()) as Record<string, unknown>;
          const shown =
            typeof body.access_token === 'string'
              ? { ...body, access_token: short(body.access_token) }
              : body;
          print(`      ${JSON.stringify(shown)}`);
        }
        return res;
      };
      const transport = new StreamableHTTPClientTransport(new URL(mcp.url), {
        authProvider: provider,
        fetch: printing,
        // Show the 403 as it is, instead of the SDK's step-up retry.
        onInsufficientScope: 'throw',
      });
      return { client: new Client({ name: 'demo-agent', version: '1.0.0' }), transport, provider };
    };

    step('The agent connects to the MCP server (CrossAppAccessProvider)');
    const { client, transport, provider } = agent('demo-agent', agentSecret);
    stage.onClose(() => client.close());
    await client.connect(transport);
    await settle();
    const accessToken = provider.tokens()?.access_token;
    expectThat('connected with an access token from our server', accessToken !== undefined);
    if (accessToken) {
      const claims = decodeJwt(accessToken);
      expectThat(
        'the token is for the MCP server, as the response says',
        claims.aud === resource && claims.iss === config.issuer,
        `aud ${String(claims.aud)}, scope "${String(claims.scope)}"`,
      );
    }

    step('The agent lists the tools and calls one');
    const { tools } = await client.listTools();
    await settle();
    print(`  tools: ${tools.map((t) => t.name).join(', ')}`);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    await settle();
    const text = (result.content as Array<{ type: string; text?: string }>)[0]?.text ?? '';
    print(`  whoami \u2192 ${text}`);
    expectThat(
      'the tool answers for alice, through demo-agent',
      /alice@example\.com/.test(text) && /demo-agent/.test(text),
    );

    step('Refusal: a tool that needs a scope the token lacks');
    const refused = await client.callTool({ name: 'add_note', arguments: { text: 'hello' } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    await settle();
    expectThat(
      'add_note is refused with 403 insufficient_scope naming scope write',
      refused instanceof InsufficientScopeError && refused.requiredScope === 'write',
      refused instanceof Error ? refused.message : 'no error',
    );

    step('Refusal: the agent with a wrong client secret');
    const wrong = agent('demo-agent', 'not-the-secret');
    const failed = await wrong.client.connect(wrong.transport).then(
      () => undefined,
      (err: unknown) => err,
    );
    await settle();
    await wrong.client.close();
    expectThat(
      'refused with invalid_client before the MCP server sees any token',
      (failed as { code?: string } | undefined)?.code === 'invalid_client',
    );
    return stage.ok;
  } finally {
    await stage.close();
    console.warn = consoleWarn;
  }
}
