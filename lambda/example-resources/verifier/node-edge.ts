/**
 * The node:http edge of the resources this repository serves locally (the example MCP server, the
 * sample REST resource). A resource refuses a caller on its token, which is in the headers, so
 * nothing of a body is read before the caller is admitted:
 *
 * - the target is a path (origin-form), or an absolute URL naming this server (RFC 9112 §3.2.2);
 *   one naming another server is 400. The URL a handler sees is built on the resource's configured
 *   origin, never on the `Host` header, so no `Host` can reroute a request or change a DPoP `htu`;
 * - exactly one `Host`, a name and an optional port and nothing else (400 otherwise, RFC 9112
 *   §3.2), and one of the resource's own names (403 otherwise: a web page reaching a loopback
 *   server through DNS rebinding sends its own);
 * - a refusal is answered at once, and what the client still sends is read and dropped, never
 *   held, up to a bound in bytes and time past which the connection is closed;
 * - an admitted body is read up to a cap per request (413 past it), and the bodies being read at
 *   once share a budget of bytes (503 past it), so no number of connections holds more memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface EdgeLimits {
  /** The largest body a request may have. */
  readonly maxBodyBytes: number;
  /** The bytes of all request bodies held in memory at once. */
  readonly maxBufferedBytes: number;
  /**
   * How much of a refused request's remaining body is read and dropped, and for how long after the
   * answer: what lets a client still sending a body of any size the server would take read its
   * answer on a connection that stays open. Past either bound the server stops reading.
   */
  readonly discardBytes: number;
  readonly discardMs: number;
  /**
   * Once the server stops reading a refused request, it ends its side of the connection and
   * destroys it this long after: closing a socket with unread data resets it, and a reset can
   * overtake an answer the client has not read yet.
   */
  readonly closeGraceMs: number;
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  maxBodyBytes: 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  discardBytes: 4 * 1024 * 1024,
  discardMs: 10_000,
  closeGraceMs: 2_000,
};

/** A refusal at the edge, before any handler sees the request. */
export interface EdgeRefusal {
  readonly status: 400 | 403 | 405 | 413 | 503;
  readonly description: string;
}

/** A host name with an optional port: no path, no user information, nothing else. */
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::[0-9]{1,5})?$/i;

/** The host name of a valid `Host` value (lower case, IPv6 in brackets), or undefined. */
export function hostName(value: string): string | undefined {
  return HOST.exec(value)?.[1]?.toLowerCase();
}

/**
 * The names a `Host` may carry for a resource served from this machine: a loopback name or the
 * resource's own (the public name behind a tunnel). Any web page the user opens can send requests
 * to a local server (DNS rebinding): every other name is refused.
 */
export function acceptedHostNames(resource: string): ReadonlySet<string> {
  return new Set(['localhost', '127.0.0.1', '[::1]', new URL(resource).hostname]);
}

/**
 * The path and query a request is for, or why it is refused: the target (origin-form, or an
 * absolute URL whose authority is one of `names`) and the `Host` header (exactly one, well-formed,
 * one of `names` unless the target is absolute, whose authority then decides).
 */
export function requestTarget(
  req: Pick<IncomingMessage, 'method' | 'url' | 'rawHeaders'>,
  names: ReadonlySet<string>,
): { path: string; query: string } | EdgeRefusal {
  // Methods a web-standard Request cannot carry, and no resource here serves.
  if (/^(CONNECT|TRACE|TRACK)$/i.test(req.method ?? ''))
    return { status: 405, description: `the method ${req.method} is not served here` };
  const hosts: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts.push(req.rawHeaders[i + 1]!);
  const host = hosts.length === 1 ? hostName(hosts[0]!) : undefined;
  if (host === undefined)
    return { status: 400, description: 'the request needs one Host header: a host and a port' };
  const url = req.url ?? '';
  if (url.startsWith('/')) {
    if (!names.has(host)) return { status: 403, description: 'the Host names another server' };
    const q = url.indexOf('?');
    return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
  }
  const absolute = URL.canParse(url) ? new URL(url) : undefined;
  if (
    !absolute ||
    (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') ||
    absolute.username !== '' ||
    absolute.password !== '' ||
    !names.has(absolute.hostname)
  )
    return { status: 400, description: 'the request target must be a path on this server' };
  return { path: absolute.pathname, query: absolute.search.slice(1) };
}

/** The URL a handler is given: the resource's own origin, with the request's path and query. */
export function resourceUrl(resource: string, target: { path: string; query: string }): URL {
  const url = new URL(resource);
  // The pathname setter, unlike resolving the path against the origin, cannot make `//host/x`
  // into another authority.
  url.pathname = target.path;
  url.search = target.query;
  url.hash = '';
  return url;
}

/** The bytes of request bodies held in memory, across requests. */
export class BodyBudget {
  private held = 0;

  constructor(private readonly max: number) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.held;
  }

  take(n: number): boolean {
    if (this.held + n > this.max) return false;
    this.held += n;
    return true;
  }

  give(n: number): void {
    this.held -= n;
  }
}

export type BodyRead =
  | { readonly ok: true; readonly body: Buffer; readonly release: () => void }
  | ({ readonly ok: false } & EdgeRefusal);

/**
 * The body of an admitted request, counted against `budget` from the first byte (a declared
 * Content-Length is reserved whole, before anything is read) until `release` is called, once the
 * answer is written. A refusal leaves the rest of the body unread: answer it with `answerEarly`.
 */
export function readBody(
  req: IncomingMessage,
  limits: Pick<EdgeLimits, 'maxBodyBytes'>,
  budget: BodyBudget,
): Promise<BodyRead> {
  const tooLarge = {
    ok: false,
    status: 413,
    description: `the request body is larger than ${limits.maxBodyBytes} bytes`,
  } as const;
  const busy = {
    ok: false,
    status: 503,
    description: 'the server is reading too many request bodies at once: retry shortly',
  } as const;
  const declared = req.headers['content-length'];
  const length = declared === undefined ? 0 : Number(declared);
  if (length > limits.maxBodyBytes) return Promise.resolve(tooLarge);
  if (!budget.take(length)) return Promise.resolve(busy);
  let reserved = length;
  let released = false;
  const release = () => {
    if (!released) budget.give(reserved);
    released = true;
  };
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (result: BodyRead) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.pause();
      if (!result.ok) release();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) return stop(tooLarge);
      if (size > reserved) {
        if (!budget.take(size - reserved)) return stop(busy);
        reserved = size;
      }
      chunks.push(chunk);
    };
    const onEnd = () => stop({ ok: true, body: Buffer.concat(chunks, size), release });
    const onAborted = () =>
      stop({ ok: false, status: 400, description: 'the request body was cut short' });
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('aborted', onAborted);
  });
}

/**
 * Reads and drops what the client still sends of a request answered without its body. A rest that
 * is declared and within `discardBytes` is read to its end and the connection kept; any other
 * (chunked, larger, or still unfinished `discardMs` after the answer) is read up to `discardBytes`
 * and the connection ends with the answer: `Connection: close`, the server's FIN, and the socket
 * destroyed `closeGraceMs` later.
 */
function discardBody(
  req: IncomingMessage,
  res: ServerResponse,
  limits: Pick<EdgeLimits, 'discardBytes' | 'discardMs' | 'closeGraceMs'>,
): void {
  if (req.complete) return;
  const socket = req.socket;
  const linger = () => {
    socket.end();
    setTimeout(() => socket.destroy(), limits.closeGraceMs).unref();
  };
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (!(declared <= limits.discardBytes)) {
    res.setHeader('connection', 'close');
    // Node ends and destroys a connection it answers with Connection: close as soon as the answer
    // is written: with the client's data still arriving that is a reset, which can overtake the
    // answer. Ending it and destroying it a little later lets the client read the answer first.
    socket.destroySoon = linger;
  }
  const timer = setTimeout(() => {
    req.pause();
    if (res.writableFinished) linger();
    else res.once('finish', linger);
  }, limits.discardMs).unref();
  req.once('end', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  let dropped = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limits.discardBytes) req.pause();
  });
  req.resume();
}

/** The request's headers for a web-standard Request: repeats appended, hop-by-hop ones dropped. */
export function webHeaders(req: Pick<IncomingMessage, 'rawHeaders'>): Headers {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    headers.append(name, raw[i + 1]!);
  }
  return headers;
}

/** Headers about this connection or message framing, which the handler's Request sets itself. */
const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
]);

/** A JSON error answer of the edge, not cached. */
export function edgeRefusalResponse(refusal: EdgeRefusal): Response {
  const error =
    refusal.status === 503
      ? 'temporarily_unavailable'
      : refusal.status === 403
        ? 'forbidden'
        : 'invalid_request';
  return new Response(JSON.stringify({ error, error_description: refusal.description }), {
    status: refusal.status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...(refusal.status === 503 && { 'retry-after': '1' }),
    },
  });
}

/**
 * Writes a web-standard Response, honouring backpressure, and stops when the client goes away
 * (`signal`), so a streamed answer is not written into a closed connection.
 */
export async function writeResponse(
  res: ServerResponse,
  response: Response,
  signal?: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const closed = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
    res.once('close', () => resolve());
  });
  try {
    for await (const chunk of response.body) {
      if (signal?.aborted || res.destroyed) break;
      if (!res.write(chunk))
        await Promise.race([new Promise<void>((r) => res.once('drain', () => r())), closed]);
    }
  } catch {
    // The handler's stream failed mid-answer: the status is sent, so all that is left is to end.
  }
  res.end();
}

/** Answers a request without reading its body (a refusal): the rest of the body is dropped. */
export async function answerEarly(
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
  limits: Pick<EdgeLimits, 'discardBytes' | 'discardMs' | 'closeGraceMs'>,
): Promise<void> {
  discardBody(req, res, limits);
  await writeResponse(res, response);
}

/**
 * A listener that runs `serve` and turns its failure into a fixed 500 (or, once the answer has
 * begun, a reset connection), telling `onError`: no stack trace or message reaches the client.
 */
export function guarded(
  serve: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  limits: Pick<EdgeLimits, 'discardBytes' | 'discardMs' | 'closeGraceMs'>,
  onError?: (err: unknown) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      onError?.(err);
      if (res.headersSent) return void res.destroy();
      void answerEarly(
        req,
        res,
        new Response(
          JSON.stringify({
            error: 'server_error',
            error_description: 'the server failed to process the request',
          }),
          {
            status: 500,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          },
        ),
        limits,
      );
    });
  };
}
