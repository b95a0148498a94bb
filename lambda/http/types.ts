/** API Gateway HTTP API payload 2.0: the one request/response shape every handler speaks. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};
export type HttpHandler = (event: HttpEvent) => Promise<HttpResult>;

/** Header lookup by lowercase name (API Gateway lowercases them; so does the local bridge). */
export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name];
}

export function method(event: HttpEvent): string {
  return event.requestContext.http.method.toUpperCase();
}

/** The raw body bytes: API Gateway base64-encodes form bodies (isBase64Encoded). */
export function bodyBytes(event: HttpEvent): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
}
