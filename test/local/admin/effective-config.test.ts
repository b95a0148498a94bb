/**
 * What the admin checks against is the server's configuration: carried as the variables that give
 * it, and parsed back into the very same configuration, every setting that shapes a grant included.
 */
import { loadServiceConfig } from '../../../lambda/config.js';
import { serviceEnvironment } from '../../../local/admin/effective-config.js';

test('a configuration survives the trip through its variables, setting for setting', () => {
  const config = loadServiceConfig({
    ISSUER: 'https://as.example.test',
    TRUSTED_ISSUERS: JSON.stringify([
      {
        issuer: 'https://idp-a.example',
        jwks_uri: 'https://idp-a.example/jwks',
        algorithms: ['ES256'],
        subject_prefix: 'a|',
        default_scope: 'none',
        tenant: 'acme',
      },
      {
        issuer: 'https://idp-b.example',
        jwks_uri: 'https://idp-b.example/jwks',
        subject_prefix: 'b|',
      },
    ]),
    CLIENT_METADATA_DOCUMENTS: JSON.stringify([
      {
        url_prefix: 'http://localhost:4000/agents/',
        scopes: ['read'],
        resources: ['https://mcp.example.com/mcp'],
        issuers: ['https://idp-a.example'],
        token_lifetime: 600,
        dpop_bound_required: true,
      },
    ]),
    CLIENT_METADATA_HTTP_LOCALHOST: '1',
    DPOP_REQUIRED_RESOURCES: 'https://mcp.example.com/mcp',
    SCOPES_SUPPORTED: 'read write',
  });
  const env = Object.fromEntries(
    Object.entries(serviceEnvironment(config)).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  expect(loadServiceConfig(env)).toEqual(config);
});
