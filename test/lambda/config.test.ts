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

describe('CLIENT_METADATA_DOCUMENTS (CIMD-POLICY), CLIENT_METADATA_HTTP_LOCALHOST and default_scope', () => {
  const ISSUER = 'https://as.example.test';
  const RULE = {
    url_prefix: 'https://agents.example.com/clients/',
    scopes: ['read'],
    resources: ['https://api.example.com/'],
  };
  const cimd = (value: unknown, more: Record<string, string> = {}) => ({
    ISSUER,
    CLIENT_METADATA_DOCUMENTS: typeof value === 'string' ? value : JSON.stringify(value),
    ...more,
  });
  /** The ConfigError loading `env` ends with (the test fails if it loads). */
  const configError = (env: Record<string, string>): ConfigError => {
    let err: unknown;
    try {
      loadServiceConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  };

  test('unset or empty: no rule, no development switch', () => {
    for (const env of [{ ISSUER }, cimd(''), cimd('  ')])
      expect(loadServiceConfig(env).clientMetadata).toEqual({
        rules: [],
        allowHttpLoopback: false,
      });
  });

  const IDP_EXAMPLE = {
    TRUSTED_ISSUERS: JSON.stringify([
      { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks' },
    ]),
  };

  test('a rule naming an issuer that is not trusted stops start-up, naming it', () => {
    const err = configError(cimd([{ ...RULE, issuers: ['https://idp.exampel'] }], IDP_EXAMPLE));
    expect(err.path).toEqual([0, 'issuers']);
    expect(err.message).toBe(
      'CLIENT_METADATA_DOCUMENTS: entry 0 "issuers" names "https://idp.exampel", which is not a trusted issuer (TRUSTED_ISSUERS)',
    );
  });

  test('rules are read, each with its optional terms; scopes and resources lose duplicates', () => {
    const c = loadServiceConfig(
      cimd(
        [
          { ...RULE, scopes: ['read', 'read', 'write'] },
          {
            url_prefix: 'https://*.agents.example/',
            scopes: ['a'],
            resources: ['urn:example:api', 'urn:example:api'],
            issuers: ['https://idp.example'],
            token_lifetime: 300,
            dpop_bound_required: true,
          },
          { ...RULE, dpop_bound_required: false },
        ],
        IDP_EXAMPLE,
      ),
    );
    expect(c.clientMetadata).toEqual({
      allowHttpLoopback: false,
      rules: [
        {
          urlPrefix: RULE.url_prefix,
          scopes: ['read', 'write'],
          resources: ['https://api.example.com/'],
        },
        {
          urlPrefix: 'https://*.agents.example/',
          scopes: ['a'],
          resources: ['urn:example:api'],
          issuers: ['https://idp.example'],
          tokenLifetime: 300,
          dpopBoundRequired: true,
        },
        {
          urlPrefix: RULE.url_prefix,
          scopes: ['read'],
          resources: ['https://api.example.com/'],
        },
      ],
    });
  });

  test.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    ['0', false],
    ['false', false],
    ['', false],
  ])('CLIENT_METADATA_HTTP_LOCALHOST=%j', (value, on) => {
    expect(
      loadServiceConfig({ ISSUER, CLIENT_METADATA_HTTP_LOCALHOST: value }).clientMetadata
        .allowHttpLoopback,
    ).toBe(on);
  });

  test('CLIENT_METADATA_HTTP_LOCALHOST=yes stops start-up, naming it', () => {
    const err = configError({ ISSUER, CLIENT_METADATA_HTTP_LOCALHOST: 'yes' });
    expect(err.variable).toBe('CLIENT_METADATA_HTTP_LOCALHOST');
  });

  test.each([
    'http://localhost:3000/agents/',
    'http://127.0.0.1:3000/agents/',
    'http://[::1]:3000/agents/',
  ])('with the switch, an http loopback prefix is accepted: %s', (prefix) => {
    const c = loadServiceConfig(
      cimd([{ ...RULE, url_prefix: prefix }], { CLIENT_METADATA_HTTP_LOCALHOST: '1' }),
    );
    expect(c.clientMetadata).toMatchObject({
      allowHttpLoopback: true,
      rules: [{ urlPrefix: prefix }],
    });
  });

  type CimdCase = [what: string, value: unknown, message: RegExp, env?: Record<string, string>];
  // A rest parameter: a function of more parameters than a row has elements is given `done`.
  test.each<CimdCase>([
    ['not JSON', '[{"url_prefix":', /not valid JSON/],
    ['an object, not an array', RULE, /must be a JSON array/],
    ['a string', '"https://agents.example.com/"', /must be a JSON array/],
    [
      'an entry that is not an object',
      ['https://agents.example.com/'],
      /entry 0 must be an object/,
    ],
    ['an entry that is an array', [[RULE]], /entry 0 must be an object/],
    [
      'an unknown key',
      [{ ...RULE, url_prefixes: ['x'] }],
      /entry 0 has unknown key "url_prefixes"/,
    ],
    ['a misspelled key', [{ ...RULE, scope: 'read' }], /unknown key "scope"/],
    ['no url_prefix', [{ scopes: RULE.scopes, resources: RULE.resources }], /needs "url_prefix"/],
    ['no scopes', [{ url_prefix: RULE.url_prefix, resources: RULE.resources }], /needs "scopes"/],
    ['empty scopes', [{ ...RULE, scopes: [] }], /needs "scopes"/],
    ['scopes a string', [{ ...RULE, scopes: 'read' }], /needs "scopes"/],
    ['an empty scope', [{ ...RULE, scopes: [''] }], /needs "scopes"/],
    ['no resources', [{ url_prefix: RULE.url_prefix, scopes: RULE.scopes }], /needs "resources"/],
    ['empty resources', [{ ...RULE, resources: [] }], /needs "resources"/],
    ['a resource that is not a URI', [{ ...RULE, resources: ['api'] }], /not an absolute URI/],
    [
      'a resource with a fragment',
      [{ ...RULE, resources: ['https://api.example.com/#x'] }],
      /without a fragment/,
    ],
    [
      'the second entry wrong, named by its index',
      [RULE, { ...RULE, scopes: [] }],
      /entry 1 needs "scopes"/,
    ],
    [
      'a prefix without a path',
      [{ ...RULE, url_prefix: 'https://agents.example.com' }],
      /must include a path/,
    ],
    [
      'a prefix that does not end its path with "/"',
      [{ ...RULE, url_prefix: 'https://agents.example.com/clients' }],
      /must end with "\/"/,
    ],
    [
      'a prefix with a port and no path',
      [{ ...RULE, url_prefix: 'https://agents.example.com:8443' }],
      /must include a path/,
    ],
    [
      'a wildcard prefix without a path',
      [{ ...RULE, url_prefix: 'https://*.example.com' }],
      /must include a path/,
    ],
    [
      'a prefix that is not a URL',
      [{ ...RULE, url_prefix: 'agents.example.com/' }],
      /absolute URL/,
    ],
    ['an http prefix', [{ ...RULE, url_prefix: 'http://agents.example.com/' }], /must use https/],
    [
      'an http loopback prefix without the switch',
      [{ ...RULE, url_prefix: 'http://localhost:3000/agents/' }],
      /must use https \(http:\/\/localhost only with CLIENT_METADATA_HTTP_LOCALHOST=1\)/,
    ],
    [
      'an http prefix that is not loopback, even with the switch',
      [{ ...RULE, url_prefix: 'http://agents.example.com/' }],
      /must use https/,
      { CLIENT_METADATA_HTTP_LOCALHOST: '1' },
    ],
    [
      'a wildcard inside the host',
      [{ ...RULE, url_prefix: 'https://a.*.example.com/' }],
      /"\*" only as/,
    ],
    [
      'a wildcard glued to the domain',
      [{ ...RULE, url_prefix: 'https://*example.com/' }],
      /"\*" only as/,
    ],
    ['two wildcard labels', [{ ...RULE, url_prefix: 'https://*.*.example.com/' }], /"\*" only as/],
    ['a wildcard over nothing', [{ ...RULE, url_prefix: 'https://*./' }], /"\*" only as/],
    [
      'a wildcard at the end of the host',
      [{ ...RULE, url_prefix: 'https://agents.*/' }],
      /"\*" only as/,
    ],
    ['a query', [{ ...RULE, url_prefix: 'https://agents.example.com/clients?x=1' }], /no query/],
    [
      'an empty query',
      [{ ...RULE, url_prefix: 'https://agents.example.com/clients/?' }],
      /no query/,
    ],
    ['a fragment', [{ ...RULE, url_prefix: 'https://agents.example.com/clients/#x' }], /fragment/],
    ['a user', [{ ...RULE, url_prefix: 'https://me@agents.example.com/clients/' }], /user/],
    [
      "issuers naming this server's own issuer",
      [{ ...RULE, issuers: ['https://idp.example', ISSUER] }],
      /"issuers" names this server's own issuer/,
    ],
    ['empty issuers', [{ ...RULE, issuers: [] }], /"issuers" must be a non-empty array/],
    ['issuers a string', [{ ...RULE, issuers: 'https://idp.example' }], /"issuers" must be/],
    [
      'a token_lifetime of 0',
      [{ ...RULE, token_lifetime: 0 }],
      /"token_lifetime" must be a positive/,
    ],
    ['a fractional token_lifetime', [{ ...RULE, token_lifetime: 1.5 }], /"token_lifetime"/],
    ['a token_lifetime string', [{ ...RULE, token_lifetime: '300' }], /"token_lifetime"/],
    [
      'dpop_bound_required a string',
      [{ ...RULE, dpop_bound_required: 'yes' }],
      /"dpop_bound_required"/,
    ],
  ])(
    '%s stops start-up, naming CLIENT_METADATA_DOCUMENTS',
    (...[, value, message, more]: CimdCase) => {
      const err = configError(cimd(value, more));
      expect(err.variable).toBe('CLIENT_METADATA_DOCUMENTS');
      expect(err.message).toMatch(/^CLIENT_METADATA_DOCUMENTS: /);
      expect(err.message).toMatch(message);
    },
  );

  test.each([
    'https://*.example.com/agents/*',
    'https://*.example.com/*',
    'https://*.com/',
    'https://example.*/',
  ])('a wildcard elsewhere than "https://*.domain.tld/" (%s) stops start-up', (prefix) => {
    const err = configError(cimd([{ ...RULE, url_prefix: prefix }]));
    expect(err.message).toMatch(/^CLIENT_METADATA_DOCUMENTS: entry 0 "url_prefix" /);
  });

  test('the wildcard as "https://*.domain/" is accepted, with a port and a path', () => {
    for (const prefix of [
      'https://*.example.com/',
      'https://*.example.com/agents/',
      'https://*.example.com:8443/',
    ])
      expect(
        loadServiceConfig(cimd([{ ...RULE, url_prefix: prefix }])).clientMetadata.rules,
      ).toEqual([expect.objectContaining({ urlPrefix: prefix })]);
  });

  test.each(['https://*.example.com/agents/*/', 'https://*.example.com/a*b/'])(
    'a "*" anywhere but before the domain is refused: %s',
    (prefix) => {
      expect(() => loadServiceConfig(cimd([{ ...RULE, url_prefix: prefix }]))).toThrow(
        /may hold "\*" only as/,
      );
    },
  );

  describe('a trusted issuer\u2019s default_scope (GRANT-SCOPE-DEFAULT)', () => {
    const trusted = (extra: Record<string, unknown>) => ({
      ISSUER,
      TRUSTED_ISSUERS: JSON.stringify([
        { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', ...extra },
      ]),
    });

    test.each([
      [{}, 'registered'],
      [{ default_scope: 'registered' }, 'registered'],
      [{ default_scope: 'none' }, 'none'],
    ])('%j: %s', (extra, defaultScope) => {
      expect(loadServiceConfig(trusted(extra)).trustedIssuers[0]!.defaultScope).toBe(defaultScope);
    });

    test.each([['all'], ['None'], [''], [0], [true], [['registered']], [null]])(
      'default_scope %j stops start-up, naming TRUSTED_ISSUERS',
      (value) => {
        const err = configError(trusted({ default_scope: value }));
        expect(err.variable).toBe('TRUSTED_ISSUERS');
        expect(err.message).toMatch(/entry 0 "default_scope" must be "registered" or "none"/);
      },
    );
  });
});
