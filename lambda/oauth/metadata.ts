/** Authorization server metadata (RFC 8414; DISC-FIELDS), served at both well-known paths. */
import { ASYMMETRIC_ALGORITHMS, type ServiceConfig } from '../config.js';
import { JWT_BEARER_GRANT, JWT_DPOP_GRANT } from './grant-types.js';

export const PATHS = {
  oauthMetadata: '/.well-known/oauth-authorization-server',
  openidConfiguration: '/.well-known/openid-configuration',
  jwks: '/.well-known/jwks.json',
  token: '/token',
  authorize: '/authorize',
} as const;

const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

export function endpointUrl(issuer: string, path: string): string {
  return issuer.replace(/\/$/, '') + path;
}

export function authorizationServerMetadata(config: ServiceConfig): Record<string, unknown> {
  return {
    // RFC 8414 §3.3: byte-for-byte the configured issuer.
    issuer: config.issuer,
    // DISC-AUTHZ-ENDPOINT: RFC 8414 §2 lets a server without one omit it, but the MCP SDK's metadata
    // schema requires it. It exists and answers every request with an error, never a redirect.
    authorization_endpoint: endpointUrl(config.issuer, PATHS.authorize),
    token_endpoint: endpointUrl(config.issuer, PATHS.token),
    jwks_uri: endpointUrl(config.issuer, PATHS.jwks),
    // DPOP-GRANT: jwt-dpop is the bearer grant for a key-bound assertion, with its proof.
    grant_types_supported: [JWT_BEARER_GRANT, JWT_DPOP_GRANT],
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'client_secret_basic',
      'private_key_jwt',
    ],
    // AUTH-PRIVATE-KEY-JWT: what a client assertion may be signed with (client-assertion.ts).
    token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
    // CIMD-POLICY: advertised only when a rule admits some documents; otherwise every such client
    // would be refused after being invited.
    ...(config.clientMetadata.rules.length > 0 && {
      client_id_metadata_document_supported: true,
    }),
    // DISC-FIELDS: REQUIRED by RFC 8414, and empty because the authorization endpoint grants
    // nothing. Every client we run against accepts an empty list (the MCP SDK requires an array of
    // strings; openid-client and oauth4webapi do not read it); advertising "code" would invite an
    // interactive client into a flow that can only fail.
    response_types_supported: [],
    ...(config.scopesSupported.length > 0 && { scopes_supported: config.scopesSupported }),
    authorization_grant_profiles_supported: [ID_JAG_PROFILE],
    // DPOP-TOKEN: the algorithms a DPoP proof may use (lambda/oauth/dpop.ts checks the same list;
    // imported from the configuration so this bundle stays free of jose, DISC-CACHE).
    dpop_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
    // Trusted issuers are deliberately absent (DISC-NO-ISSUERS).
  };
}
