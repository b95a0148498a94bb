/** GET /.well-known/oauth-authorization-server and /.well-known/openid-configuration (DISC-PATHS). */
import type { ServiceConfig } from '../config.js';
import { authorizationServerMetadata } from '../oauth/metadata.js';
import { Cors, methodNotAllowed } from '../http/responses.js';
import { method, type HttpHandler } from '../http/types.js';

export function createDiscoveryHandler(config: ServiceConfig): HttpHandler {
  const cors = new Cors(config.corsOrigins, ['GET']);
  // The document depends on configuration only: build it once, answer from memory.
  const body = JSON.stringify(authorizationServerMetadata(config));
  return async (event) => {
    if (cors.isPreflight(event)) return cors.preflight(event);
    if (method(event) !== 'GET') return cors.decorate(event, methodNotAllowed(['GET']));
    return cors.decorate(event, {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' },
      body,
    });
  };
}
