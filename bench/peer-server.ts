/**
 * The benchmark's peer: node-oidc-provider, a general-purpose OAuth server, with a jwt-bearer grant
 * that does what ours does with an ID-JAG (verify it against the IdP's key, check issuer, audience,
 * type and client, spend its jti once in the provider's own in-memory adapter) and issues an RS256
 * JWT access token for the one resource. Run as its own process, like `npm start`:
 *   PORT, IDP_ISSUER, IDP_JWK (the IdP's public JWK), CLIENT_ID, CLIENT_SECRET, RESOURCE
 */
import { generateKeyPairSync } from 'node:crypto';
import { importJWK, jwtVerify, type JWK } from 'jose';
import Provider, { errors } from 'oidc-provider';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const port = Number(env('PORT'));
const issuer = `http://localhost:${port}`;
const idpIssuer = env('IDP_ISSUER');
const idpKey = await importJWK(JSON.parse(env('IDP_JWK')) as JWK, 'RS256');
const resource = env('RESOURCE');
const signingKey = {
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  alg: 'RS256',
  use: 'sig',
  kid: 'peer',
};
const resourceServer = {
  scope: 'read write',
  audience: resource,
  accessTokenFormat: 'jwt' as const,
  accessTokenTTL: 3600,
  jwt: { sign: { alg: 'RS256' } },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env('CLIENT_ID'),
      client_secret: env('CLIENT_SECRET'),
      grant_types: [JWT_BEARER],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [signingKey as JWK] },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      getResourceServerInfo: () => resourceServer,
      useGrantedResource: () => true,
    },
  },
});

provider.registerGrantType(
  JWT_BEARER,
  async (ctx) => {
    const client = ctx.oidc.client;
    let payload;
    try {
      ({ payload } = await jwtVerify(String(ctx.oidc.params.assertion), idpKey, {
        issuer: idpIssuer,
        audience: issuer,
        typ: 'oauth-id-jag+jwt',
        algorithms: ['RS256'],
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      }));
    } catch {
      throw new errors.InvalidGrant('invalid assertion');
    }
    if (payload.client_id !== client.clientId) throw new errors.InvalidGrant('client_id mismatch');
    if (!(await provider.ReplayDetection.unique(payload.iss!, payload.jti!, payload.exp!)))
      throw new errors.InvalidGrant('assertion already used');
    const token = new provider.AccessToken({
      accountId: payload.sub!,
      client,
      gty: 'jwt-bearer',
      scope: typeof payload.scope === 'string' ? payload.scope : undefined,
    });
    token.resourceServer = new provider.ResourceServer(resource, resourceServer);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: token.scope,
    };
  },
  ['assertion', 'scope', 'resource'],
);

provider.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
