/** Configuration by environment: defaults, and a clear message naming the variable for every bad value. */
import { ConfigError, loadLocalConfig, loadServiceConfig } from '../../lambda/config.js';

describe('defaults', () => {
  test('the local server runs with no environment at all', () => {
    const c = loadLocalConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      issuer: 'http://localhost:3000',
      dataDir: '.local',
      corsOrigins: ['https://xaa.dev', 'https://app.xaa.dev'],
      accessTokenTtl: 3600,
      clockSkew: 60,
    });
    expect(c.trustedIssuers).toEqual([
      {
        issuer: 'https://idp.xaa.dev',
        jwksUri: 'https://idp.xaa.dev/jwks',
        algorithms: ['RS256'],
        maxAssertionLifetime: 300,
        allowReuse: false,
        subjectPrefix: '',
        defaultScope: 'registered',
      },
    ]);
  });

  test('ISSUER follows PORT unless set', () => {
    expect(loadLocalConfig({ PORT: '8080' }).issuer).toBe('http://localhost:8080');
    expect(loadLocalConfig({ PORT: '8080', ISSUER: 'https://as.example.com' }).issuer).toBe(
      'https://as.example.com',
    );
  });

  test('a trusted issuer\u2019s options are read', () => {
    const c = loadServiceConfig({
      ISSUER: 'https://as.example.com',
      TRUSTED_ISSUERS: JSON.stringify([
        {
          issuer: 'https://idp.example',
          jwks_uri: 'https://idp.example/keys',
          algorithms: ['ES256', 'RS256'],
          max_assertion_lifetime: 600,
          allow_reuse: true,
          subject_prefix: 'idp|',
          default_scope: 'none',
        },
      ]),
    });
    expect(c.trustedIssuers[0]).toEqual({
      issuer: 'https://idp.example',
      jwksUri: 'https://idp.example/keys',
      algorithms: ['ES256', 'RS256'],
      maxAssertionLifetime: 600,
      allowReuse: true,
      subjectPrefix: 'idp|',
      defaultScope: 'none',
    });
  });

  test('on Lambda the issuer is required', () => {
    expect(() => loadServiceConfig({})).toThrow(new ConfigError('ISSUER', 'is required'));
  });
});

describe('a malformed value stops start-up, naming the variable', () => {
  const issuer = { ISSUER: 'https://as.example.com' };
  const trusted = (entries: unknown) => ({
    ...issuer,
    TRUSTED_ISSUERS: typeof entries === 'string' ? entries : JSON.stringify(entries),
  });
  test.each([
    ['PORT', { PORT: 'abc' }, /PORT: must be a whole number/],
    ['PORT', { PORT: '70000' }, /PORT: must be a port number/],
    ['ISSUER', { ISSUER: 'not a url' }, /ISSUER: the issuer must be an absolute URL/],
    ['ISSUER', { ISSUER: 'http://as.example.com' }, /ISSUER: the issuer must use https/],
    ['ISSUER', { ISSUER: 'https://as.example.com/tenant' }, /ISSUER: must have no path/],
    ['ISSUER', { ISSUER: 'https://as.example.com?x=1' }, /ISSUER: .*no query or fragment/],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '1h' }, /ACCESS_TOKEN_TTL: must be a whole number/],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '0' }, /ACCESS_TOKEN_TTL: must be a positive/],
    [
      'ACCESS_TOKEN_TTL',
      { ACCESS_TOKEN_TTL: '7200', MAX_ACCESS_TOKEN_TTL: '3600' },
      /ACCESS_TOKEN_TTL: must not exceed MAX_ACCESS_TOKEN_TTL/,
    ],
    ['CLOCK_SKEW', { CLOCK_SKEW: '-5' }, /CLOCK_SKEW: must be a whole number/],
    [
      'CORS_ORIGINS',
      { CORS_ORIGINS: 'https://xaa.dev/' },
      /CORS_ORIGINS: .* no path or trailing slash/,
    ],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'xaa.dev' }, /CORS_ORIGINS: .* is not an origin/],
    ['TRUSTED_ISSUERS', trusted('{not json'), /TRUSTED_ISSUERS: .* not valid JSON/],
    [
      'TRUSTED_ISSUERS',
      trusted({ issuer: 'https://idp.example' }),
      /TRUSTED_ISSUERS: must be a JSON array/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([{ issuer: 'https://idp.example' }]),
      /TRUSTED_ISSUERS: entry 0 needs "jwks_uri"/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([{ jwks_uri: 'https://idp.example/jwks' }]),
      /entry 0 needs "issuer"/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([{ issuer: 'https://idp.example', jwks_uri: 'http://idp.example/jwks' }]),
      /entry 0 "jwks_uri" must use https/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([
        {
          issuer: 'https://idp.example',
          jwks_uri: 'https://idp.example/jwks',
          algorithms: ['HS256'],
        },
      ]),
      /"algorithms" may hold only/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([
        {
          issuer: 'https://idp.example',
          jwks_uri: 'https://idp.example/jwks',
          algorithms: ['none'],
        },
      ]),
      /"algorithms" may hold only/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([
        { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', algorithms: [] },
      ]),
      /non-empty array/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([
        {
          issuer: 'https://idp.example',
          jwks_uri: 'https://idp.example/jwks',
          max_assertion_lifetime: '300',
        },
      ]),
      /max_assertion_lifetime/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([
        { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', allow_reuse: 'yes' },
      ]),
      /allow_reuse/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([
        { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', jwks: 'typo' },
      ]),
      /unknown key "jwks"/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([{ issuer: 'https://as.example.com', jwks_uri: 'https://as.example.com/jwks' }]),
      /names this server's own issuer/,
    ],
    [
      'TRUSTED_ISSUERS',
      trusted([
        { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/a' },
        { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/b' },
      ]),
      /repeats issuer/,
    ],
  ])('%s %j', (variable, env, message) => {
    let error: unknown;
    try {
      loadLocalConfig({ ...issuer, ...env });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(message);
  });
});

describe('GRANT-SUBJECT: no two IdPs can yield the same access-token sub', () => {
  const two = (a: string | undefined, b: string | undefined) =>
    JSON.stringify([
      { issuer: 'https://a.example', jwks_uri: 'https://a.example/jwks', subject_prefix: a },
      { issuer: 'https://b.example', jwks_uri: 'https://b.example/jwks', subject_prefix: b },
    ]);
  const load = (trustedIssuers: string) =>
    loadServiceConfig({ ISSUER: 'https://as.example', TRUSTED_ISSUERS: trustedIssuers });
  const refusal = (trustedIssuers: string) => {
    try {
      load(trustedIssuers);
    } catch (err) {
      return err as ConfigError;
    }
    throw new Error('accepted');
  };

  test('one IdP: its sub is used as it is, no prefix needed', () => {
    const one = JSON.stringify([
      { issuer: 'https://a.example', jwks_uri: 'https://a.example/jwks' },
    ]);
    expect(load(one).trustedIssuers[0]?.subjectPrefix).toBe('');
  });

  test.each([
    [
      'neither has a prefix',
      undefined,
      undefined,
      /entry 0 "subject_prefix" is required \(https:\/\/a\.example\)/,
    ],
    [
      'one has none (it could mint "b|alice")',
      undefined,
      'b|',
      /entry 0 "subject_prefix" is required/,
    ],
    [
      'the same prefix twice',
      'x|',
      'x|',
      /entry 0 "subject_prefix" "x\|" begins "x\|", the prefix of https:\/\/b\.example/,
    ],
    [
      'one prefix begins the other ("a" + "cme|alice")',
      'a',
      'acme|',
      /entry 0 "subject_prefix" "a" begins "acme\|", the prefix of https:\/\/b\.example/,
    ],
  ])('refused at start-up, naming it: %s', (_case, a, b, message) => {
    const err = refusal(two(a, b));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.variable).toBe('TRUSTED_ISSUERS');
    expect(err.path).toEqual([0, 'subject_prefix']);
    expect(err.problem).not.toMatch(/entry 0/);
    expect(err.message).toMatch(message);
  });

  test('distinct prefixes that do not begin one another are accepted', () => {
    const c = load(two('a|', 'b|'));
    expect(c.trustedIssuers.map((t) => t.subjectPrefix)).toEqual(['a|', 'b|']);
  });
});

test('ISSUER with a trailing slash is refused, naming the form to use', () => {
  expect(() => loadLocalConfig({ ISSUER: 'http://localhost:3000/' })).toThrow(
    /ISSUER: must not end with "\/".*use "http:\/\/localhost:3000"/,
  );
});

describe('DPoP settings (DPOP-REQUIRED, DPOP-NONCE)', () => {
  const base = { ISSUER: 'https://as.example.test' };
  test('off by default', () => {
    expect(loadServiceConfig(base).dpop).toEqual({ requiredResources: [], nonceRequired: false });
  });

  test('required resources, a required nonce and its key are read', () => {
    const key = Buffer.alloc(32, 7).toString('base64url');
    const { dpop } = loadServiceConfig({
      ...base,
      DPOP_REQUIRED_RESOURCES: 'https://a.example/ https://b.example/api,urn:example:c',
      DPOP_NONCE: 'required',
      DPOP_NONCE_KEY: key,
    });
    expect(dpop.requiredResources).toEqual([
      'https://a.example/',
      'https://b.example/api',
      'urn:example:c',
    ]);
    expect(dpop.nonceRequired).toBe(true);
    expect(Buffer.from(dpop.nonceKey!).toString('base64url')).toBe(key);
  });

  test.each([
    ['DPOP_REQUIRED_RESOURCES', 'https://a.example/#frag', /absolute URI without a fragment/],
    ['DPOP_REQUIRED_RESOURCES', 'not-a-uri', /absolute URI/],
    ['DPOP_NONCE', 'yes', /"off" or "required"/],
    ['DPOP_NONCE_KEY', Buffer.alloc(16).toString('base64url'), /at least 32 random bytes/],
    ['DPOP_NONCE_KEY', 'not base64url!', /base64url/],
  ])('%s=%j stops start-up', (variable, value, message) => {
    let err: unknown;
    try {
      loadServiceConfig({ ...base, [variable]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(message);
    // A key is a secret: the message never repeats it.
    if (variable === 'DPOP_NONCE_KEY') expect((err as Error).message).not.toContain(value);
  });
});
