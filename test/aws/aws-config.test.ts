/** The Lambda functions' environment: the service variables plus the AWS resource names. */
import { loadJwksFunctionConfig, loadTokenFunctionConfig } from '../../lambda/aws/aws-config.js';
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

test('the JWKS function reads a comma-separated key list', () => {
  expect(
    loadJwksFunctionConfig({ ISSUER: TOKEN_ENV.ISSUER, PUBLIC_KEY_IDS: ' k1, k2 ,,' }).publicKeyIds,
  ).toEqual(['k1', 'k2']);
  expect(() => loadJwksFunctionConfig({ ISSUER: TOKEN_ENV.ISSUER, PUBLIC_KEY_IDS: ' , ' })).toThrow(
    /PUBLIC_KEY_IDS/,
  );
  expect(() => loadJwksFunctionConfig({ ISSUER: TOKEN_ENV.ISSUER })).toThrow(
    /PUBLIC_KEY_IDS: is required/,
  );
});
