/** API Gateway HTTP API payload 2.0 events, as API Gateway builds them. */
import type { HttpEvent } from '../../lambda/http/types.js';

export type Form = Record<string, string | string[] | undefined>;

export function formBody(form: Form): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  }
  return params.toString();
}

export function httpEvent(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; base64?: boolean } = {},
): HttpEvent {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const base64 = options.base64 ?? true;
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'as.example.test', ...options.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'as.example.test',
      domainPrefix: 'as',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'jest' },
      requestId: 'req-1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: body !== undefined && base64,
    ...(body && { body: base64 ? body.toString('base64') : body.toString('utf8') }),
  };
}

/** A token request as API Gateway delivers a form post: base64-encoded. */
export function tokenEvent(form: Form | string, headers: Record<string, string> = {}): HttpEvent {
  return httpEvent('POST', '/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : formBody(form),
  });
}

export function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}
