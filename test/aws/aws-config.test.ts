/** The Lambda functions' environment: the service variables plus the AWS resource names. */
import {
  loadJwksFunctionConfig,
  loadTokenFunctionConfig,
} from '../../lambda/cdk-shared/aws-config.js';
import { ConfigError } from '../../lambda/config.js';

const TOKEN_ENV = {
  ISSUER: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  CLIENTS_TABLE_NAME: 'clients',
  REPLAY_TABLE_NAME: 'replay',
  CLIENT_SECRET_PREFIX: 'xaa-auth-server/S/clients/',
  SIGNING_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/k1',
};

test('the token function reads its resource names and the shared service configuration', () => {
  const config = loadTokenFunctionConfig({
    ...TOKEN_ENV,
    ACCESS_TOKEN_TTL: '600',
    METRICS_NAMESPACE: 'MyStack',
  });
  expect(config).toMatchObject({
    clientsTable: 'clients',
    replayTable: 'replay',
    secretPrefix: 'xaa-auth-server/S/clients/',
    signingKeyId: TOKEN_ENV.SIGNING_KEY_ID,
    metricsNamespace: 'MyStack',
  });
  expect(config.service).toMatchObject({ issuer: TOKEN_ENV.ISSUER, accessTokenTtl: 600 });
  expect(loadTokenFunctionConfig(TOKEN_ENV).metricsNamespace).toBe('XaaAuthServer');
});

test.each(['CLIENTS_TABLE_NAME', 'REPLAY_TABLE_NAME', 'CLIENT_SECRET_PREFIX', 'SIGNING_KEY_ID'])(
  'a missing %s stops start-up, naming it',
  (name) => {
    const env: Record<string, string> = { ...TOKEN_ENV, [name]: ' ' };
    const err = (() => {
      try {
        loadTokenFunctionConfig(env);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
  },
);

test('the service configuration is validated as on the local server (an issuer with a path is refused)', () => {
  expect(() =>
    loadTokenFunctionConfig({ ...TOKEN_ENV, ISSUER: `${TOKEN_ENV.ISSUER}/prod` }),
  ).toThrow(/ISSUER: must have no path/);
});

test('the JWKS function reads the JWKS the stack published, and refuses a missing one by name', () => {
  const key = { kty: 'RSA', n: 'nnnn', e: 'AQAB', kid: 'k1', alg: 'RS256', use: 'sig' };
  expect(loadJwksFunctionConfig({ PUBLISHED_JWKS: JSON.stringify({ keys: [key] }) }).keys).toEqual([
    key,
  ]);
  expect(() => loadJwksFunctionConfig({})).toThrow(/PUBLISHED_JWKS: is required/);
});

test('the JWKS function needs only its keys and CORS_ORIGINS: no issuer, no trusted IdPs', () => {
  const KEY = { kty: 'RSA', n: 'nnnn', e: 'AQAB', kid: 'k1', alg: 'RS256', use: 'sig' };
  const JWKS = JSON.stringify({ keys: [KEY] });
  const config = loadJwksFunctionConfig({
    PUBLISHED_JWKS: JWKS,
    CORS_ORIGINS: 'https://app.example.com',
  });
  expect(config).toEqual({ corsOrigins: ['https://app.example.com'], keys: [KEY] });
  expect(() =>
    loadJwksFunctionConfig({ PUBLISHED_JWKS: JWKS, CORS_ORIGINS: 'https://app.example.com/path' }),
  ).toThrow(/CORS_ORIGINS/);
});

describe('CIMD-DEV-HTTP on AWS', () => {
  const POLICY = JSON.stringify([
    {
      url_prefix: 'https://agents.example.com/',
      scopes: ['read'],
      resources: ['https://api.example.com/'],
    },
  ]);

  test.each(['1', 'true'])(
    'CLIENT_METADATA_HTTP_LOCALHOST=%s stops the token function, naming it',
    (value) => {
      let err: unknown;
      try {
        loadTokenFunctionConfig({ ...TOKEN_ENV, CLIENT_METADATA_HTTP_LOCALHOST: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe('CLIENT_METADATA_HTTP_LOCALHOST');
      expect((err as Error).message).toMatch(/never on AWS/);
    },
  );

  test('CLIENT_METADATA_DOCUMENTS is read on AWS, without the development switch', () => {
    for (const off of [{}, { CLIENT_METADATA_HTTP_LOCALHOST: '0' }]) {
      const config = loadTokenFunctionConfig({
        ...TOKEN_ENV,
        ...off,
        CLIENT_METADATA_DOCUMENTS: POLICY,
      });
      expect(config.service.clientMetadata).toEqual({
        allowHttpLoopback: false,
        rules: [
          {
            urlPrefix: 'https://agents.example.com/',
            scopes: ['read'],
            resources: ['https://api.example.com/'],
          },
        ],
      });
    }
  });
});
