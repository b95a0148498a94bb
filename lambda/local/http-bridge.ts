/**
 * node:http ↔ API Gateway HTTP API payload 2.0, so the local server calls the very handlers Lambda
 * runs. Bodies are base64-encoded, as API Gateway does for form posts.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from '../oauth/token-request.js';
import { noStoreJson } from '../http/responses.js';
import type { HttpEvent, HttpHandler, HttpResult } from '../http/types.js';

/** Bodies are read up to this many bytes; the handlers refuse anything over their own limit. */
const READ_LIMIT = MAX_BODY_BYTES + 1;

async function toEvent(req: IncomingMessage): Promise<HttpEvent> {
  const url = new URL(req.url ?? '/', 'http://local');
  const method = (req.method ?? 'GET').toUpperCase();
  // As API Gateway does: a header sent more than once arrives comma-joined. (req.headers would keep
  // only the first Authorization and silently drop the rest.)
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(',');
  }
  const body = await readBody(req);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${method} ${url.pathname}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
  };
}

/** Reads at most READ_LIMIT bytes and drains the rest, so an oversized body costs no memory. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (size >= READ_LIMIT) continue;
    const take = chunk.subarray(0, READ_LIMIT - size);
    chunks.push(take);
    size += take.length;
  }
  return Buffer.concat(chunks, size);
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
