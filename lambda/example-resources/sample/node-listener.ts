/**
 * The sample resource on node:http, for running it locally: the handler Lambda runs, behind the
 * resources' node edge (lambda/example-resources/verifier/node-edge.ts). The caller's token is checked, and
 * its scope for the route, from the request line and headers before any of the body is read; a
 * refused request's body is dropped, never held, and admitted bodies are capped one by one and in
 * sum.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpEvent } from '../../http/types.js';
import {
  acceptedHostNames,
  answerEarly,
  BodyBudget,
  DEFAULT_EDGE_LIMITS,
  edgeRefusalResponse,
  guarded,
  readBody,
  requestTarget,
  writeResponse,
  type EdgeLimits,
} from '../verifier/node-edge.js';
import {
  createResourceGate,
  type RequestHead,
  type ResourceServerOptions,
} from './resource-server.js';

export interface ResourceListenerOptions extends ResourceServerOptions {
  /** Body limits; DEFAULT_EDGE_LIMITS for what is not given. */
  readonly limits?: Partial<EdgeLimits>;
  /** Told of a failure of the handler (a refusal is not one). */
  readonly onError?: (err: unknown) => void;
}

export interface ResourceListener {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Bytes of request bodies held in memory right now. */
  bufferedBytes(): number;
}

export function createResourceListener(options: ResourceListenerOptions): ResourceListener {
  const limits = { ...DEFAULT_EDGE_LIMITS, ...options.limits };
  const gate = createResourceGate(options);
  const budget = new BodyBudget(limits.maxBufferedBytes);
  const names = acceptedHostNames(options.resource);

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = requestTarget(req, names);
    if ('status' in target) return answerEarly(req, res, edgeRefusalResponse(target), limits);
    const head = requestHead(req, target);
    const admission = await gate.admit(head);
    if ('statusCode' in admission) return answerEarly(req, res, toResponse(admission), limits);
    const read = await readBody(req, limits, budget);
    if (!read.ok) return answerEarly(req, res, edgeRefusalResponse(read), limits);
    try {
      const event: HttpEvent = {
        ...head,
        ...(read.body.length > 0 && { body: read.body.toString('base64') }),
        isBase64Encoded: read.body.length > 0,
      };
      await writeResponse(res, toResponse(gate.answer(admission, event)));
    } finally {
      read.release();
    }
  }

  const listener = guarded(serve, limits, options.onError);
  return Object.assign(listener, { bufferedBytes: () => budget.bytes });
}

function toResponse(result: {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
}): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers.set(name, String(value));
  return new Response(result.body ?? null, { status: result.statusCode, headers });
}

/** The request as API Gateway would hand it over, without the body. */
function requestHead(req: IncomingMessage, target: { path: string; query: string }): RequestHead {
  // Names lower-cased and repeats comma-joined, as API Gateway does; no prototype, so a header
  // named like an Object.prototype member is a header like any other.
  const headers = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const seen = headers[name];
    headers[name] =
      seen === undefined ? req.rawHeaders[i + 1]! : `${seen},${req.rawHeaders[i + 1]}`;
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const host = headers.host ?? 'localhost';
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${method} ${target.path}`,
    rawPath: target.path,
    rawQueryString: target.query,
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0]!,
      http: {
        method,
        path: target.path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${method} ${target.path}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}
