/** CDK context → stack configuration: defaults, `-c` strings, and mistakes caught at synth time. */
import { ContextError, parseStackConfig } from '../../lib/stack-config.js';

const parse = (context: Record<string, unknown>) => parseStackConfig((key) => context[key]);
const problem = (context: Record<string, unknown>): string => {
  try {
    parse(context);
  } catch (err) {
    expect(err).toBeInstanceOf(ContextError);
    return (err as Error).message;
  }
  throw new Error('expected a ContextError');
};

test('defaults: the playground IdP and origins, one active key, 30-day logs', () => {
  const config = parse({});
  expect(config.serviceEnv).toEqual({
    TRUSTED_ISSUERS: '[{"issuer":"https://idp.xaa.dev","jwks_uri":"https://idp.xaa.dev/jwks"}]',
    CORS_ORIGINS: 'https://xaa.dev,https://app.xaa.dev',
    ACCESS_TOKEN_TTL: '3600',
  });
  expect(config.corsOrigins).toEqual(['https://xaa.dev', 'https://app.xaa.dev']);
  expect(config.signingKeys).toEqual([{ id: 'key-1', active: true }]);
  expect(config.throttle).toEqual({ rateLimit: 50, burstLimit: 100 });
  expect(config.tokenThrottle).toEqual({ rateLimit: 10, burstLimit: 20 });
  expect(config.logRetention).toBe(30);
  expect(config.customDomain).toBeUndefined();
});

test('values given with -c arrive as strings and are parsed like cdk.json values', () => {
  const trusted = [
    {
      issuer: 'https://idp.example.com',
      jwks_uri: 'https://idp.example.com/jwks',
      allow_reuse: true,
    },
  ];
  const fromCli = parse({
    trustedIssuers: JSON.stringify(trusted),
    corsOrigins: 'https://a.example, https://b.example',
    accessTokenTtl: '900',
    maxAccessTokenTtl: '3600',
    scopesSupported: 'read write',
    signingKeys: '[{"id":"2025-01"},{"id":"2025-07","active":true}]',
    throttle: '{"rateLimit":3}',
    logRetentionDays: '90',
  });
  const fromJson = parse({
    trustedIssuers: trusted,
    corsOrigins: ['https://a.example', 'https://b.example'],
    accessTokenTtl: 900,
    maxAccessTokenTtl: 3600,
    scopesSupported: 'read write',
    signingKeys: [{ id: '2025-01' }, { id: '2025-07', active: true }],
    throttle: { rateLimit: 3 },
    logRetentionDays: 90,
  });
  expect(fromCli.serviceEnv).toEqual({
    TRUSTED_ISSUERS: JSON.stringify(trusted),
    CORS_ORIGINS: 'https://a.example, https://b.example',
    ACCESS_TOKEN_TTL: '900',
    MAX_ACCESS_TOKEN_TTL: '3600',
    SCOPES_SUPPORTED: 'read write',
  });
  expect(fromCli.corsOrigins).toEqual(fromJson.corsOrigins);
  expect(fromCli.signingKeys).toEqual(fromJson.signingKeys);
  expect(fromCli.throttle).toEqual({ rateLimit: 3, burstLimit: 100 });
  expect(fromCli.logRetention).toBe(90);
});

test.each([
  [{ signingKeys: [{ id: 'a' }, { id: 'b' }] }, /signingKeys.*exactly one key active, found 0/],
  [
    {
      signingKeys: [
        { id: 'a', active: true },
        { id: 'b', active: true },
      ],
    },
    /exactly one key active, found 2/,
  ],
  [{ signingKeys: [{ id: 'a', active: true }, { id: 'a' }] }, /repeats id a/],
  [{ signingKeys: [{ id: 'no/slash', active: true }] }, /"id" must be 1-32 characters/],
  [{ signingKeys: [{ id: 'a', active: 'yes' }] }, /"active" must be true or false/],
  [{ signingKeys: [] }, /non-empty array/],
  [{ trustedIssuers: '[{"issuer":"https://x"' }, /trustedIssuers.*not valid JSON/],
  [
    {
      trustedIssuers: [
        { issuer: 'http://idp.example.com', jwks_uri: 'https://idp.example.com/jwks' },
      ],
    },
    /trustedIssuers.*must use https/,
  ],
  [{ corsOrigins: 'https://xaa.dev/' }, /corsOrigins.*not an origin/],
  [{ accessTokenTtl: 'an hour' }, /accessTokenTtl.*whole number/],
  [{ throttle: { rateLimit: 0 } }, /throttle.*rateLimit/],
  [{ tokenThrottle: { burstLimit: 2.5 } }, /tokenThrottle.*burstLimit/],
  [{ throttle: { rate: 1 } }, /throttle.*unknown key "rate"/],
  [
    { customDomain: { domainName: 'https://auth.example.com', certificateArn: 'x' } },
    /customDomain.*domainName/,
  ],
  [
    {
      customDomain: {
        domainName: 'auth.example.com',
        certificateArn: 'arn:aws:iam::123456789012:role/x',
      },
    },
    /certificateArn/,
  ],
  [{ customDomain: { domainName: 'auth.example.com' } }, /certificateArn/],
  [{ logRetentionDays: 10 }, /logRetentionDays.*must be one of 1, 3, 5, 7, 14, 30/],
])('%j is refused at synth time', (context, message) => {
  expect(problem(context)).toMatch(message);
});

test('a custom domain is its own issuer, so a trusted issuer with that name is refused (draft §9.3)', () => {
  const customDomain = {
    domainName: 'auth.example.com',
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123',
  };
  expect(parse({ customDomain }).customDomain).toEqual(customDomain);
  expect(
    problem({
      customDomain,
      trustedIssuers: [
        { issuer: 'https://auth.example.com', jwks_uri: 'https://auth.example.com/jwks' },
      ],
    }),
  ).toMatch(/own issuer/);
});
