/**
 * The example MCP server's tools, each with the one scope it needs. A fresh McpServer per request:
 * the server is stateless (Streamable HTTP without sessions), so it runs the same on a laptop and on
 * Lambda, and nothing a tool sees can leak into another caller's request.
 */
import { McpServer, type AuthInfo, type ScopeChallengeHandler } from '@modelcontextprotocol/server';
import * as z from 'zod';

/** Each tool and the scope its caller's access token must carry. */
export const MCP_TOOL_SCOPES = {
  whoami: 'read',
  add_note: 'write',
} as const satisfies Record<string, string>;

export type McpToolName = keyof typeof MCP_TOOL_SCOPES;

export const MCP_SCOPES: readonly string[] = [...new Set(Object.values(MCP_TOOL_SCOPES))];

/** Notes a caller has added, per subject; in memory, so an example and nothing more. */
export class NoteBook {
  private readonly notes = new Map<string, string[]>();
  add(subject: string, text: string): number {
    const list = this.notes.get(subject) ?? [];
    list.push(text);
    // A bounded example: the oldest notes go first.
    if (list.length > 100) list.shift();
    this.notes.set(subject, list);
    return list.length;
  }
}

/**
 * A 403 insufficient_scope challenge naming the tool's scope when the token lacks it. The MCP SDK's
 * transport turns the answer into the HTTP response (RFC 6750 §3.1), resource_metadata included.
 */
function needs(tool: McpToolName): ScopeChallengeHandler {
  const scope = MCP_TOOL_SCOPES[tool];
  return ({ authInfo }) =>
    authInfo === undefined || authInfo.scopes.includes(scope)
      ? undefined
      : { scopes: [scope], errorDescription: `the ${tool} tool needs scope ${scope}` };
}

const text = (value: unknown) => ({
  content: [{ type: 'text' as const, text: JSON.stringify(value) }],
});

/** The claims the gate verified, as the tools read them. */
function caller(auth: AuthInfo | undefined): { subject: string; clientId: string; scope: string } {
  return {
    subject: String(auth?.extra?.subject ?? ''),
    clientId: auth?.clientId ?? '',
    scope: auth?.scopes.join(' ') ?? '',
  };
}

export function createMcpServer(notes: NoteBook): McpServer {
  const server = new McpServer({ name: 'xaa-example-mcp-server', version: '1.0.0' });
  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'Who the access token speaks for: the user, the client, and the granted scope.',
      scopeChallenge: needs('whoami'),
    },
    (ctx) => text(caller(ctx.http?.authInfo)),
  );
  server.registerTool(
    'add_note',
    {
      title: 'Add a note',
      description: 'Adds a note for the user the access token speaks for.',
      inputSchema: z.object({ text: z.string().min(1).max(500) }),
      scopeChallenge: needs('add_note'),
    },
    ({ text: note }, ctx) => {
      const { subject } = caller(ctx.http?.authInfo);
      return text({ saved: true, by: subject, notes: notes.add(subject, note) });
    },
  );
  return server;
}
