/**
 * node:http ↔ API Gateway HTTP API payload 2.0, so the local server calls the very handlers Lambda
 * runs. Bodies are base64-encoded, as API Gateway does for form posts.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from '../lambda/oauth/token-request.js';
import { noStoreJson } from '../lambda/http/responses.js';
import type { HttpEvent, HttpHandler, HttpResult } from '../lambda/http/types.js';

/** Bodies are read up to this many bytes; the handlers refuse anything over their own limit. */
const READ_LIMIT = MAX_BODY_BYTES + 1;

/**
 * The path and query of a request target: origin-form (`/token?x`) split as it stands, as API
 * Gateway's rawPath is; absolute-form (`http://host/token`, which RFC 9112 §3.2.2 has servers
 * accept) through the URL parser.
 */
function target(url: string): { path: string; query: string } {
  if (!url.startsWith('/')) {
    // Not a URL at all (`http://[::1`): kept as it came, it matches no route (404, not 500).
    if (!URL.canParse(url, 'http://local')) return { path: url, query: '' };
    const parsed = new URL(url, 'http://local');
    return { path: parsed.pathname, query: parsed.search.slice(1) };
  }
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/**
 * As API Gateway does: names lower-cased, a header sent more than once comma-joined (req.headers
 * would keep only the first Authorization and silently drop the rest).
 */
export function headersOf(req: Pick<IncomingMessage, 'rawHeaders'>): Record<string, string> {
  // No prototype: a header named `constructor` or `__proto__` is a header like any other.
  const headers = Object.create(null) as Record<string, string>;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen},${value}`;
  }
  return headers;
}

async function toEvent(req: IncomingMessage): Promise<HttpEvent> {
  const { path, query } = target(req.url ?? '/');
  const method = (req.method ?? 'GET').toUpperCase();
  const headers = headersOf(req);
  const body = await readBody(req);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: query,
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method,
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
  };
}

/**
 * Reads at most READ_LIMIT bytes and drains the rest, so an oversized body costs no memory. With
 * 'data' events rather than an async iterator: a promise per chunk is measurable per token.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size >= READ_LIMIT) return;
      const take = chunk.subarray(0, READ_LIMIT - size);
      chunks.push(take);
      size += take.length;
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function writeResult(res: ServerResponse, result: HttpResult): void {
  const body = result.body ?? '';
  res.writeHead(result.statusCode, {
    ...result.headers,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export type Routes = ReadonlyMap<string, HttpHandler>;

/** A request listener that routes by path to payload-2.0 handlers. */
export function bridge(routes: Routes, onError: (err: unknown) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        const event = await toEvent(req);
        const handler = routes.get(event.rawPath);
        // RESP-ERRORS: not cached, and nothing of the request echoed back.
        const result: HttpResult = handler
          ? await handler(event)
          : noStoreJson(404, { error: 'not_found', error_description: 'no such endpoint' });
        writeResult(res, result);
      } catch (err) {
        onError(err);
        if (!res.headersSent) {
          writeResult(
            res,
            noStoreJson(500, {
              error: 'server_error',
              error_description: 'the server failed to process the request',
            }),
          );
        } else res.destroy();
      }
    })();
  };
}
