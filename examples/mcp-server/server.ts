/**
 * The example MCP server on node:http: the deployable handler (lambda/example-resources/mcp) behind the
 * resources' node edge (lambda/example-resources/verifier/node-edge.ts). Used by `npm run mcp-server`, the
 * demo and the interop tests.
 *
 * The token is checked before the body is read: a request without a valid one is answered from its
 * headers, and its body is dropped, never held. Admitted bodies are capped one by one and in sum,
 * so no number of connections, with or without a token, can make the server hold more than
 * `maxBufferedBytes` of them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { JWTVerifyGetKey } from 'jose';
import {
  createMcpResource,
  type McpResource,
} from '../../lambda/example-resources/mcp/mcp-resource.js';
import {
  acceptedHostNames,
  answerEarly,
  BodyBudget,
  DEFAULT_EDGE_LIMITS,
  edgeRefusalResponse,
  guarded,
  readBody,
  requestTarget,
  resourceUrl,
  webHeaders,
  writeResponse,
  type EdgeLimits,
} from '../../lambda/example-resources/verifier/node-edge.js';

export interface McpServerOptions {
  /** The authorization server's issuer: tokens from anyone else are refused. */
  readonly issuer: string;
  /** Where it publishes its keys; `{issuer}/.well-known/jwks.json` unless said otherwise. */
  readonly jwksUri?: string;
  /** For tests: a key resolver other than the remote JWKS. */
  readonly keys?: JWTVerifyGetKey;
  /** The port to listen on (0: any free port; the resource then names the port chosen). */
  readonly port: number;
  readonly host?: string;
  /** The resource identifier; `http://localhost:{port}/mcp` unless said otherwise. */
  readonly resource?: string;
  /** The MCP endpoint's path; the resource's own path unless said otherwise. */
  readonly endpointPath?: string;
  /** Body limits; DEFAULT_EDGE_LIMITS for what is not given. */
  readonly limits?: Partial<EdgeLimits>;
  readonly onError?: (err: Error) => void;
}

export interface RunningMcpServer {
  readonly resource: McpResource;
  /** The MCP endpoint URL to give an MCP client. */
  readonly url: string;
  readonly server: Server;
  /** Bytes of request bodies held in memory right now. */
  bufferedBytes(): number;
  close(): Promise<void>;
}

export async function startMcpServer(options: McpServerOptions): Promise<RunningMcpServer> {
  const host = options.host ?? '127.0.0.1';
  const limits = { ...DEFAULT_EDGE_LIMITS, ...options.limits };
  const server = createServer();
  server.listen(options.port, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const resource = createMcpResource({
    issuer: options.issuer,
    jwksUri: options.jwksUri ?? `${options.issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
    keys: options.keys,
    resource: options.resource ?? `http://localhost:${port}/mcp`,
    endpointPath: options.endpointPath,
    maxBodyBytes: limits.maxBodyBytes,
    onError: options.onError,
  });
  const names = acceptedHostNames(resource.resource);
  const budget = new BodyBudget(limits.maxBufferedBytes);

  /** `expectsContinue`: the client waits for a 100 before sending its body (RFC 9110 §10.1.1). */
  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    expectsContinue: boolean,
  ): Promise<void> {
    const target = requestTarget(req, names);
    if ('status' in target) return answerEarly(req, res, edgeRefusalResponse(target), limits);
    const method = (req.method ?? 'GET').toUpperCase();
    const url = resourceUrl(resource.resource, target);
    const headers = webHeaders(req);
    // A streamed answer stops when the client goes away.
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const admission = await resource.admit(new Request(url, { method, headers }));
    if (admission instanceof Response) return answerEarly(req, res, admission, limits);
    let body: Buffer | undefined;
    let release = () => {};
    if (method !== 'GET' && method !== 'HEAD') {
      // Only an admitted client is told to go on: a refused one never sends its body.
      if (expectsContinue) res.writeContinue();
      const read = await readBody(req, limits, budget);
      if (!read.ok) return answerEarly(req, res, edgeRefusalResponse(read), limits);
      ({ body, release } = read);
    }
    try {
      const response = await resource.handle(
        new Request(url, { method, headers, body, signal: abort.signal }),
        admission,
      );
      await writeResponse(res, response, abort.signal);
    } finally {
      release();
    }
  }

  const onError = (err: unknown) =>
    options.onError?.(err instanceof Error ? err : new Error(String(err)));
  const listener = (expectsContinue: boolean) =>
    guarded((req, res) => serve(req, res, expectsContinue), limits, onError);
  server.on('request', listener(false));
  // Without this listener node:http answers 100 Continue itself, before the token is looked at.
  server.on('checkContinue', listener(true));
  return {
    resource,
    url: new URL(resource.endpointPath, resource.resource).href,
    server,
    bufferedBytes: () => budget.bytes,
    close: async () => {
      await resource.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
