/**
 * The example MCP server on node:http: the deployable handler (lambda/mcp-server) behind the MCP
 * SDK's Node adapter, DNS-rebinding protection included. Used by `npm run mcp-server`, the demo
 * and the interop tests.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { hostHeaderValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpResource, type McpResource } from '../../lambda/mcp-server/mcp-resource.js';

export interface McpServerOptions {
  /** The authorization server's issuer: tokens from anyone else are refused. */
  readonly issuer: string;
  /** Where it publishes its keys; `{issuer}/.well-known/jwks.json` unless said otherwise. */
  readonly jwksUri?: string;
  /** The port to listen on (0: any free port; the resource then names the port chosen). */
  readonly port: number;
  readonly host?: string;
  /** The resource identifier; `http://localhost:{port}/mcp` unless said otherwise. */
  readonly resource?: string;
  /** The MCP endpoint's path; the resource's own path unless said otherwise. */
  readonly endpointPath?: string;
  readonly onError?: (err: Error) => void;
}

export interface RunningMcpServer {
  readonly resource: McpResource;
  /** The MCP endpoint URL to give an MCP client. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startMcpServer(options: McpServerOptions): Promise<RunningMcpServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  server.listen(options.port, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const resource = createMcpResource({
    issuer: options.issuer,
    jwksUri: options.jwksUri ?? `${options.issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
    resource: options.resource ?? `http://localhost:${port}/mcp`,
    endpointPath: options.endpointPath,
    onError: options.onError,
  });
  const handle = toNodeHandler(resource, { onerror: options.onError });
  // Any web page the user opens can send requests to a local server (DNS rebinding): refuse a Host
  // that is neither a loopback name nor the resource's own (the public name behind a tunnel).
  const ourHost = hostHeaderValidation([
    'localhost',
    '127.0.0.1',
    '[::1]',
    new URL(resource.resource).hostname,
  ]);
  server.on('request', (req, res) => {
    if (ourHost(req, res)) void handle(req, res);
  });
  return {
    resource,
    url: new URL(resource.endpointPath, resource.resource).href,
    server,
    close: async () => {
      await resource.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
