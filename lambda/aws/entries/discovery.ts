/**
 * Lambda entry for GET /.well-known/oauth-authorization-server and /openid-configuration. It
 * imports nothing but configuration and the handler: no SDK client, no Powertools, so the bundle
 * stays small and a cold start fits API Gateway's JWT-authorizer budget (SPEC §2).
 */
import { loadServiceConfig } from '../../config.js';
import { createDiscoveryHandler } from '../../handlers/discovery.js';

export const handler = createDiscoveryHandler(loadServiceConfig(process.env));
