/**
 * `npm run demo -- --mcp`: an AI agent reaching an MCP server through Cross App Access, on loopback,
 * with the official MCP SDK doing the agent's part. CrossAppAccessProvider meets a 401, reads the
 * MCP server's RFC 9728 metadata, discovers this authorization server (RFC 8414), asks the
 * development IdP for an ID-JAG for exactly the audience and resource it discovered, redeems it
 * (JWT bearer grant, client_secret_basic, RFC 8707 resource) and calls a tool. Then the refusals.
 *
 * With `cimd`, the agent is never registered: its client_id is the URL of its Client ID Metadata
 * Document, which it serves itself on loopback with its public key, and it authenticates with
 * private_key_jwt (the SDK's createPrivateKeyJwtAuth). This server admits it by a
 * CLIENT_METADATA_DOCUMENTS rule for that site, with CLIENT_METADATA_HTTP_LOCALHOST, the switch that
 * lets a demo on one machine use http://localhost.
 */
import {
  Client,
  createPrivateKeyJwtAuth,
  CrossAppAccessProvider,
  InsufficientScopeError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { format } from 'node:util';
import { decodeJwt } from 'jose';
import { runAdmin } from '../../bin/admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { startLocalServer } from '../../local/server.js';
import { silentLog } from '../../lambda/logging.js';
import { startMcpServer } from '../mcp-server/server.js';
import { AgentSite, generateAgentKey, type AgentKey } from './agent-site.js';
import { DemoStage, freePort, type Print } from './stage.js';

const short = (s: string) => (s.length > 28 ? `${s.slice(0, 24)}\u2026` : s);
/** Form fields printed shortened: they are credentials. */
const SHORTENED = new Set(['assertion', 'client_assertion']);

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

export interface McpDemoOptions {
  /** The agent named by its Client ID Metadata Document, with private_key_jwt: no registration. */
  readonly cimd?: boolean;
}

/** How the agent authenticates to the authorization server. */
type AgentCredentials = { readonly secret: string } | { readonly key: AgentKey };

/** Runs the MCP demo; resolves true only if every step behaved as it should. */
export async function runMcpDemo(print: Print, options: McpDemoOptions = {}): Promise<boolean> {
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
    // The cast: a development IdP, our authorization server and the example MCP server (and, for
    // CIMD, the agent's own site). The MCP server's port is chosen first: a CIMD rule names it.
    const dataDir = await stage.dataDir('xaa-mcp-demo-');
    const idp = await stage.devIdp();
    const asPort = await freePort();
    const site = options.cimd ? await AgentSite.start(print) : undefined;
    if (site) stage.onClose(() => site.close());
    const mcpPort = site ? await freePort() : 0;
    const cimdRule = site && {
      url_prefix: `${site.origin}/agents/`,
      scopes: ['read'],
      resources: [`http://localhost:${mcpPort}/mcp`],
    };
    const env = {
      PORT: String(asPort),
      DATA_DIR: dataDir,
      TRUSTED_ISSUERS: JSON.stringify([{ issuer: idp.issuer, jwks_uri: idp.jwksUri }]),
      ...(cimdRule && {
        CLIENT_METADATA_DOCUMENTS: JSON.stringify([cimdRule]),
        CLIENT_METADATA_HTTP_LOCALHOST: '1',
      }),
    };
    const config = loadLocalConfig(env);
    const as = await startLocalServer(config, { logger: silentLog });
    stage.onClose(() => as.close());
    const mcp = await startMcpServer({ issuer: config.issuer, port: mcpPort });
    stage.onClose(() => mcp.close());
    const resource = mcp.resource.resource;

    step('The parties');
    print(`  enterprise IdP (development)   ${idp.issuer}`);
    print(`  authorization server (ours)    ${config.issuer}`);
    print(`  MCP server                     ${mcp.url}`);
    print(`    tools: whoami (scope read), add_note (scope write)`);
    if (site) print(`  the agent\u2019s own site           ${site.origin}`);

    let agentId: string;
    let credentials: AgentCredentials;
    if (site && cimdRule) {
      step('The agent publishes its Client ID Metadata Document (no registration)');
      const key = await generateAgentKey('ES256');
      const jwksUri = site.publish('/agents/demo-agent/jwks.json', { keys: [key.publicJwk] });
      const document = {
        client_id: `${site.origin}/agents/demo-agent.json`,
        client_name: 'Demo agent',
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
        jwks_uri: jwksUri,
      };
      agentId = site.publish('/agents/demo-agent.json', document);
      credentials = { key };
      print(`  client_id ${agentId}  (the document\u2019s own URL)`);
      for (const [field, value] of Object.entries(document).slice(1))
        print(`    ${field.padEnd(27)}${JSON.stringify(value)}`);
      print(`  its key: ${key.alg}, kid ${short(key.kid)}; the site serves the public half only`);
      print('  the authorization server admits such agents by its policy:');
      print(`    CLIENT_METADATA_DOCUMENTS=${JSON.stringify([cimdRule])}`);
      print(
        '    CLIENT_METADATA_HTTP_LOCALHOST=1  (http://localhost documents: a demo on one machine)',
      );
      const listed: string[] = [];
      await runAdmin(['clients', 'list', '--json'], env, (l) => listed.push(l));
      expectThat(
        'no client is registered (npm run admin -- clients list)',
        (JSON.parse(listed.join('\n')) as unknown[]).length === 0,
      );
    } else {
      step('Register the agent with the authorization server (npm run admin)');
      const lines: string[] = [];
      agentId = 'demo-agent';
      const args = ['--client-id', agentId, '--scope', 'read', '--resource', resource, '--json'];
      await runAdmin(['clients', 'add', ...args], env, (l) => lines.push(l));
      const secret = (JSON.parse(lines.join('\n')) as { client_secret: string }).client_secret;
      print(`  client_id ${agentId}, scope "read", resource ${resource}`);
      credentials = { secret };
    }

    /** The agent: the MCP SDK's client, its transport, and a fetch that prints each HTTP step. */
    const agent = (clientId: string, credentials: AgentCredentials) => {
      const crossAppAccess = new CrossAppAccessProvider({
        clientId,
        // A key agent has no secret: with addClientAuthentication set (below), the SDK
        // authenticates with that instead and never sends this one.
        clientSecret: 'secret' in credentials ? credentials.secret : '',
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
      // private_key_jwt, the SDK's own way: a JWT signed with the agent's key, for our issuer.
      const provider =
        'key' in credentials
          ? Object.assign(crossAppAccess, {
              addClientAuthentication: createPrivateKeyJwtAuth({
                issuer: clientId,
                subject: clientId,
                privateKey: credentials.key.privateJwk as Record<string, unknown>,
                alg: credentials.key.alg,
              }),
            })
          : crossAppAccess;
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
          for (const [k, v] of form) print(`      ${k}=${SHORTENED.has(k) ? short(v) : v}`);
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

    step(
      `The agent connects to the MCP server (CrossAppAccessProvider${site ? ', private_key_jwt' : ''})`,
    );
    const { client, transport, provider } = agent(agentId, credentials);
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
      if (site)
        expectThat(
          'the token names the agent by its document\u2019s URL',
          claims.client_id === agentId,
          `client_id ${String(claims.client_id)}`,
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
    const answer = (() => {
      try {
        return JSON.parse(text) as { subject?: unknown; clientId?: unknown };
      } catch {
        return {};
      }
    })();
    expectThat(
      `the tool answers for alice, through ${site ? 'the agent\u2019s URL' : agentId}`,
      answer.subject === 'alice@example.com' && answer.clientId === agentId,
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

    /** Connects an agent that must be refused; resolves the error's OAuth code. */
    const refusedWith = async (clientId: string, credentials: AgentCredentials) => {
      const wrong = agent(clientId, credentials);
      const failed = await wrong.client.connect(wrong.transport).then(
        () => undefined,
        (err: unknown) => err,
      );
      await settle();
      await wrong.client.close();
      return (failed as { code?: string } | undefined)?.code;
    };
    if (site && 'key' in credentials) {
      step('Refusal: an impostor with the agent\u2019s URL, signing with a key of its own');
      // Under the agent's kid: the document's key is found, and the signature does not verify.
      const impostor = await generateAgentKey('ES256', credentials.key.kid);
      print(
        `  its key: ${impostor.alg}, kid ${short(impostor.kid)} (copied from the agent\u2019s JWKS)`,
      );
      const code = await refusedWith(agentId, { key: impostor });
      expectThat(
        'refused with invalid_client before the MCP server sees any token',
        code === 'invalid_client',
      );

      step('Refusal: a document outside the policy\u2019s URL prefix');
      const stray = site.publish('/elsewhere/agent.json', {
        client_id: `${site.origin}/elsewhere/agent.json`,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${site.origin}/agents/demo-agent/jwks.json`,
      });
      print(`  client_id ${stray}`);
      const strayCode = await refusedWith(stray, credentials);
      expectThat(
        'refused with invalid_client, and the document is never fetched',
        strayCode === 'invalid_client' && site.hits('/elsewhere/agent.json') === 0,
      );
    } else {
      step('Refusal: the agent with a wrong client secret');
      const code = await refusedWith(agentId, { secret: 'not-the-secret' });
      expectThat(
        'refused with invalid_client before the MCP server sees any token',
        code === 'invalid_client',
      );
    }
    return stage.ok;
  } finally {
    await stage.close();
    console.warn = consoleWarn;
  }
}
