/**
 * Lambda entry for GET /.well-known/oauth-authorization-server and /openid-configuration, and for
 * {issuer}/authorize (DISC-AUTHZ-ENDPOINT), which answers from configuration alone just as discovery
 * does. It imports nothing but configuration and the handlers: no SDK client, no Powertools, so the
 * bundle stays small and a cold start fits API Gateway's JWT-authorizer budget (DISC-CACHE).
 */
import { loadServiceConfig } from '../config.js';
import { createAuthorizeHandler } from '../handlers/authorize.js';
import { createDiscoveryHandler } from '../handlers/discovery.js';
import type { HttpHandler } from '../http/types.js';
import { PATHS } from '../oauth/metadata.js';

const config = loadServiceConfig(process.env);
const discovery = createDiscoveryHandler(config);
const authorize = createAuthorizeHandler(config);

export const handler: HttpHandler = (event) =>
  (event.rawPath === PATHS.authorize ? authorize : discovery)(event);
