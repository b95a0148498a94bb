/**
 * AUTH-PRIVATE-KEY-JWT at the unit: what inspectClientAssertion refuses before any registry is read
 * (form, typ, alg, iss = sub, aud, times at the edges of the clock skew, jti), what
 * verifyClientAssertion refuses with the client's keys, and authenticateWithClientAssertion's
 * checks of the client and the replay guard. The handler tests (test/lambda/handlers/
 * token-private-key-jwt.test.ts) cover the answers on the wire.
 */
import { createLocalJWKSet } from 'jose';
import {
  authenticateWithClientAssertion,
  CLIENT_ASSERTION_MAX_LIFETIME,
  inspectClientAssertion,
  verifyClientAssertion,
  type ClientAssertionPorts,
  type ClientAssertionRules,
} from '../../../lambda/oauth/client-assertion.js';
import {
  AUTHENTICATION_FAILED,
  InvalidClient,
  type ReasonCode,
} from '../../../lambda/oauth/errors.js';
import type { ClientRecord, KeyResolver } from '../../../lambda/ports.js';
import { ClientKey } from '../../support/client-keys.js';
import { b64url } from '../../support/token-requests.js';

const ISSUER = 'https://as.example.test';
const CLIENT = 'agent-1';
const NOW = 1_700_000_000;
const SKEW = 60;
const RULES: ClientAssertionRules = { issuer: ISSUER, now: NOW, clockSkew: SKEW };

let key: ClientKey;
beforeAll(async () => {
  key = await ClientKey.generate('ES256');
});

/** A signed assertion from CLIENT to ISSUER issued at NOW, with claims and header overridden. */
const assertion = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  key.assertion(CLIENT, ISSUER, NOW, claims, header);

/** An unsigned-looking token with the given header and payload and a dummy signature. */
const handMade = (header: unknown, payload: unknown, signature = 'c2ln') =>
  `${b64url(header)}.${b64url(payload)}.${signature}`;

const validPayload = () => ({
  iss: CLIENT,
  sub: CLIENT,
  aud: ISSUER,
  iat: NOW,
  exp: NOW + 60,
  jti: 'jti-1',
});

function refusedBy(run: () => unknown): InvalidClient {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidClient);
  return err as InvalidClient;
}

const inspect = (jwt: string, rules: Partial<ClientAssertionRules> = {}) =>
  inspectClientAssertion(jwt, { ...RULES, ...rules });

describe('inspectClientAssertion: accepted', () => {
  test('a plain assertion: its client, alg, jti and exp', async () => {
    const jwt = await assertion({ jti: 'the-jti' });
    expect(inspect(jwt)).toEqual({ clientId: CLIENT, alg: 'ES256', jti: 'the-jti', exp: NOW + 60 });
  });

  test.each([
    ['an aud array of one', { aud: [ISSUER] }, {}],
    [
      'typ application/client-authentication+jwt',
      {},
      { typ: 'application/client-authentication+jwt' },
    ],
    ['typ client-authentication+jwt', {}, { typ: 'client-authentication+jwt' }],
    ['typ JWT in lower case', {}, { typ: 'jwt' }],
    ['typ application/jwt', {}, { typ: 'application/jwt' }],
    ['no typ', {}, { typ: undefined }],
    ['no iat and no nbf', { iat: undefined }, {}],
    ['a jti of 255 characters', { jti: 'j'.repeat(255) }, {}],
    [
      `exp exactly ${CLIENT_ASSERTION_MAX_LIFETIME} s + the skew ahead`,
      { exp: NOW + CLIENT_ASSERTION_MAX_LIFETIME + SKEW },
      {},
    ],
    ['exp one second inside the skew past', { exp: NOW - SKEW + 1 }, {}],
    ['nbf exactly the skew ahead', { nbf: NOW + SKEW }, {}],
    ['iat exactly the skew ahead', { iat: NOW + SKEW }, {}],
    ['nbf and iat in the past', { nbf: NOW - 3600, iat: NOW - 30 }, {}],
  ])('%s', async (_what, claims, header) => {
    expect(inspect(await assertion(claims, header)).clientId).toBe(CLIENT);
  });

  test('with no clock skew, exp one second ahead is still valid', async () => {
    expect(inspect(await assertion({ exp: NOW + 1 }), { clockSkew: 0 }).exp).toBe(NOW + 1);
  });
});

describe('inspectClientAssertion: refused, saying what is wrong', () => {
  type RefusalRow = [
    what: string,
    claims: Record<string, unknown>,
    header: Record<string, unknown>,
    reason: ReasonCode,
    says?: RegExp,
  ];
  // A rest parameter: a function of more parameters than a row has elements is given `done`.
  test.each<RefusalRow>([
    [
      'nbf past the skew ahead',
      { nbf: NOW + SKEW + 1 },
      {},
      'client_assertion_not_yet_valid',
      /nbf/,
    ],
    ['nbf an hour ahead', { nbf: NOW + 3600 }, {}, 'client_assertion_not_yet_valid'],
    ['nbf a string', { nbf: String(NOW) }, {}, 'client_assertion_not_yet_valid'],
    [
      'iat past the skew ahead',
      { iat: NOW + SKEW + 1 },
      {},
      'client_assertion_not_yet_valid',
      /iat/,
    ],
    ['iat a string', { iat: 'now' }, {}, 'client_assertion_not_yet_valid'],
    ['exp exactly the skew past', { exp: NOW - SKEW }, {}, 'client_assertion_expired'],
    ['exp long past', { exp: NOW - 86400 }, {}, 'client_assertion_expired'],
    [
      'exp one second past the lifetime bound',
      { exp: NOW + CLIENT_ASSERTION_MAX_LIFETIME + SKEW + 1 },
      {},
      'client_assertion_lifetime',
      /600 s/,
    ],
    ['no exp', { exp: undefined }, {}, 'client_assertion_claims', /exp/],
    ['exp a string', { exp: String(NOW + 60) }, {}, 'client_assertion_claims'],
    ['a jti of 256 characters', { jti: 'j'.repeat(256) }, {}, 'client_assertion_claims', /jti/],
    ['an empty jti', { jti: '' }, {}, 'client_assertion_claims'],
    ['a numeric jti', { jti: 42 }, {}, 'client_assertion_claims'],
    ['no jti', { jti: undefined }, {}, 'client_assertion_claims'],
    [
      'an aud array of two',
      { aud: [ISSUER, 'https://other.example'] },
      {},
      'client_assertion_audience',
    ],
    [
      'an aud array of the issuer twice',
      { aud: [ISSUER, ISSUER] },
      {},
      'client_assertion_audience',
    ],
    ['an empty aud array', { aud: [] }, {}, 'client_assertion_audience'],
    ['the token endpoint as aud', { aud: `${ISSUER}/token` }, {}, 'client_assertion_audience'],
    ['the issuer with a trailing slash', { aud: `${ISSUER}/` }, {}, 'client_assertion_audience'],
    ['no aud', { aud: undefined }, {}, 'client_assertion_audience'],
    ['iss and sub differ', { sub: 'agent-2' }, {}, 'client_assertion_issuer'],
    ['no iss', { iss: undefined }, {}, 'client_assertion_issuer'],
    ['an empty iss and sub', { iss: '', sub: '' }, {}, 'client_assertion_issuer'],
    ['typ at+jwt', {}, { typ: 'at+jwt' }, 'client_assertion_typ_invalid'],
    ['typ dpop+jwt', {}, { typ: 'dpop+jwt' }, 'client_assertion_typ_invalid'],
    ['typ oauth-id-jag+jwt', {}, { typ: 'oauth-id-jag+jwt' }, 'client_assertion_typ_invalid'],
    ['typ application/at+jwt', {}, { typ: 'application/at+jwt' }, 'client_assertion_typ_invalid'],
  ])('%s', async (...[, claims, header, reason, says]: RefusalRow) => {
    const err = refusedBy(() => inspect(handMadeFrom(claims, header)));
    expect(err.reason).toBe(reason);
    expect(err.description).not.toBe(AUTHENTICATION_FAILED);
    if (says) expect(err.description).toMatch(says);
  });

  test.each<[string, unknown]>([
    ['alg none', 'none'],
    ['alg HS256', 'HS256'],
    ['alg NONE', 'NONE'],
    ['alg es256 (wrong case)', 'es256'],
    ['no alg', undefined],
    ['alg a number', 256],
  ])('%s: client_assertion_algorithm', (_what, alg) => {
    const header = alg === undefined ? { typ: 'JWT' } : { alg, typ: 'JWT' };
    const jwt = handMade(header, validPayload(), alg === 'none' ? '' : 'c2ln');
    expect(refusedBy(() => inspect(jwt)).reason).toBe('client_assertion_algorithm');
  });

  test.each<[string, () => Promise<string> | string]>([
    ['two parts', async () => (await assertion()).split('.').slice(0, 2).join('.')],
    ['five parts (a JWE)', async () => `${await assertion()}.e30.e30`],
    ['four parts', async () => `${await assertion()}.e30`],
    ['one part', () => 'eyJhbGciOiJFUzI1NiJ9'],
    ['an empty string', () => ''],
    ['a header that is not JSON', () => `${b64url('not json')}.${b64url(validPayload())}.c2ln`],
    ['a payload that is not JSON', () => `${b64url({ alg: 'ES256' })}.${b64url('{')}.c2ln`],
    ['a payload that is an array', () => handMade({ alg: 'ES256' }, [1, 2])],
    ['a header that is not base64url', () => `!!!.${b64url(validPayload())}.c2ln`],
  ])('%s: client_assertion_malformed', async (_what, make) => {
    const jwt = await make();
    const err = refusedBy(() => inspect(jwt));
    expect(err.reason).toBe('client_assertion_malformed');
    expect(err.description).toBe('client_assertion is not a signed JWT');
  });

  test('the description never repeats the assertion', async () => {
    const jwt = await assertion({ aud: 'https://elsewhere.example' });
    const err = refusedBy(() => inspect(jwt));
    expect(err.description).not.toContain(jwt.split('.')[2]!);
    expect(err.description).not.toContain(jwt.split('.')[1]!);
  });
});

/** The form of `claims` over a valid payload, signed-looking (inspect reads without verifying). */
function handMadeFrom(claims: Record<string, unknown>, header: Record<string, unknown>): string {
  const payload: Record<string, unknown> = { ...validPayload(), ...claims };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete payload[k];
  const h: Record<string, unknown> = { alg: 'ES256', typ: 'JWT', ...header };
  for (const [k, v] of Object.entries(header)) if (v === undefined) delete h[k];
  return handMade(h, payload);
}

describe('verifyClientAssertion: the signature with the client\u2019s keys, AUTH-FAILURE\u2019s answer', () => {
  const keysOf = (...keys: ClientKey[]): KeyResolver => {
    const set = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
    return (header, token) => set(header, token);
  };
  const verify = (
    jwt: string,
    keys: KeyResolver,
    rules: Partial<ClientAssertionRules & { algorithms: string[] }> = {},
  ) => verifyClientAssertion(jwt, CLIENT, keys, { ...RULES, ...rules });

  async function failure(run: Promise<void>): Promise<InvalidClient> {
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidClient);
    const refusal = err as InvalidClient;
    expect(refusal.description).toBe(AUTHENTICATION_FAILED);
    return refusal;
  }

  test('signed by the client\u2019s key: accepted, also with an aud array of one', async () => {
    await expect(verify(await assertion(), keysOf(key))).resolves.toBeUndefined();
    await expect(verify(await assertion({ aud: [ISSUER] }), keysOf(key))).resolves.toBeUndefined();
  });

  test('the right key among several', async () => {
    const other = await ClientKey.generate('ES256');
    await expect(verify(await assertion(), keysOf(other, key))).resolves.toBeUndefined();
  });

  test('an RSA and an EdDSA client key verify too', async () => {
    for (const alg of ['RS256', 'PS256', 'EdDSA', 'ES384']) {
      const k = await ClientKey.generate(alg);
      const jwt = await k.assertion(CLIENT, ISSUER, NOW);
      await expect(verify(jwt, keysOf(k))).resolves.toBeUndefined();
    }
  });

  test('signed by another key with the same kid: client_assertion_signature', async () => {
    const impostor = await ClientKey.generate('ES256', key.publicJwk.kid);
    const jwt = await impostor.assertion(CLIENT, ISSUER, NOW);
    expect((await failure(verify(jwt, keysOf(key)))).reason).toBe('client_assertion_signature');
  });

  test('a signature of the right key over another payload: client_assertion_signature', async () => {
    const [h, , s] = (await assertion()).split('.');
    const forged = `${h}.${b64url({ ...validPayload(), sub: CLIENT, jti: 'other' })}.${s}`;
    expect((await failure(verify(forged, keysOf(key)))).reason).toBe('client_assertion_signature');
  });

  test('a kid the client does not have: client_assertion_key_unknown', async () => {
    const stranger = await ClientKey.generate('ES256');
    const jwt = await stranger.assertion(CLIENT, ISSUER, NOW);
    expect((await failure(verify(jwt, keysOf(key)))).reason).toBe('client_assertion_key_unknown');
  });

  test('an algorithm the client did not register: client_assertion_algorithm', async () => {
    const err = await failure(verify(await assertion(), keysOf(key), { algorithms: ['RS256'] }));
    expect(err.reason).toBe('client_assertion_algorithm');
  });

  test('alg none, even with a key: never verified', async () => {
    const jwt = handMade({ alg: 'none', typ: 'JWT' }, validPayload(), '');
    expect((await failure(verify(jwt, keysOf(key)))).reason).toBe('client_assertion_algorithm');
  });

  test.each<[string, Record<string, unknown>, Partial<ClientAssertionRules>]>([
    ['expired at exactly the skew', { exp: NOW - SKEW }, {}],
    ['expired with no skew', { exp: NOW }, { clockSkew: 0 }],
  ])('%s: client_assertion_expired, as inspect says', async (_what, claims, rules) => {
    const jwt = await assertion(claims);
    expect(refusedBy(() => inspect(jwt, rules)).reason).toBe('client_assertion_expired');
    expect((await failure(verify(jwt, keysOf(key), rules))).reason).toBe(
      'client_assertion_expired',
    );
  });

  test('one second inside the skew: both steps accept it', async () => {
    const jwt = await assertion({ exp: NOW - SKEW + 1 });
    expect(inspect(jwt).clientId).toBe(CLIENT);
    await expect(verify(jwt, keysOf(key))).resolves.toBeUndefined();
  });

  test.each<[string, Record<string, unknown>]>([
    ['another audience', { aud: 'https://elsewhere.example' }],
    ['another issuer', { iss: 'agent-2', sub: 'agent-2' }],
    ['no jti', { jti: undefined }],
    ['nbf in the future', { nbf: NOW + SKEW + 10 }],
  ])('the claims are checked again on what was signed: %s', async (_what, claims) => {
    const jwt = await assertion(claims);
    const err = await failure(verify(jwt, keysOf(key)));
    expect(err.reason).toMatch(/^client_assertion_/);
  });
});

describe('authenticateWithClientAssertion: the client, its keys, one use', () => {
  const record = (more: Partial<ClientRecord> = {}): ClientRecord => ({
    clientId: CLIENT,
    secretRef: '',
    authMethod: 'private_key_jwt',
    jwks: key.jwks,
    scopes: ['read'],
    resources: ['https://api.example.com/'],
    enabled: true,
    ...more,
  });
  function ports(client: ClientRecord | undefined, spent = new Map<string, number>()) {
    const keysAt: string[] = [];
    const p: ClientAssertionPorts = {
      client: () => Promise.resolve(client),
      keysAt: (uri) => {
        keysAt.push(uri);
        const set = createLocalJWKSet(key.jwks);
        return (header, token) => set(header, token);
      },
      spend: (id, jti, until) => {
        const k = `${id} ${jti}`;
        if (spent.has(k)) return Promise.resolve(false);
        spent.set(k, until);
        return Promise.resolve(true);
      },
    };
    return { ports: p, keysAt, spent };
  }
  async function credentials(claims: Record<string, unknown> = {}) {
    const jwt = await assertion(claims);
    const inspected = inspect(jwt);
    return { clientId: inspected.clientId, assertion: jwt, jti: inspected.jti, exp: inspected.exp };
  }
  async function reasonOf(run: Promise<unknown>): Promise<string | undefined> {
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidClient);
    return (err as InvalidClient).reason;
  }

  test('the client, and the jti spent until exp + skew', async () => {
    const c = await credentials({ jti: 'once' });
    const { ports: p, spent } = ports(record());
    expect((await authenticateWithClientAssertion(c, p, RULES)).clientId).toBe(CLIENT);
    expect([...spent]).toEqual([[`${CLIENT} once`, c.exp + SKEW]]);
  });

  test('the same assertion twice: client_assertion_replayed, saying so', async () => {
    const c = await credentials();
    const { ports: p } = ports(record());
    await authenticateWithClientAssertion(c, p, RULES);
    const err = await authenticateWithClientAssertion(c, p, RULES).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'client_assertion_replayed' });
    expect((err as InvalidClient).description).toMatch(/used before/);
  });

  test('keys at a jwks_uri are asked for there', async () => {
    const uri = 'https://agent.example/jwks.json';
    const { ports: p, keysAt } = ports(record({ jwks: undefined, jwksUri: uri }));
    await authenticateWithClientAssertion(await credentials(), p, RULES);
    expect(keysAt).toEqual([uri]);
  });

  test.each<[string, ClientRecord | undefined, string]>([
    ['an unknown client', undefined, 'client_unknown'],
    ['a disabled client', { enabled: false } as ClientRecord, 'client_disabled'],
    [
      'a secret client',
      { authMethod: undefined, secretRef: 'ref' } as ClientRecord,
      'auth_method_mismatch',
    ],
    ['a key client without keys', { jwks: undefined } as ClientRecord, 'client_keys_unavailable'],
  ])('%s: %s, nothing spent', async (_what, overrides, reason) => {
    const client = overrides === undefined ? undefined : record(overrides);
    const { ports: p, spent } = ports(client);
    expect(await reasonOf(authenticateWithClientAssertion(await credentials(), p, RULES))).toBe(
      reason,
    );
    expect(spent.size).toBe(0);
  });

  test('a bad signature spends nothing', async () => {
    const impostor = await ClientKey.generate('ES256', key.publicJwk.kid);
    const jwt = await impostor.assertion(CLIENT, ISSUER, NOW);
    const i = inspect(jwt);
    const { ports: p, spent } = ports(record());
    expect(
      await reasonOf(
        authenticateWithClientAssertion(
          { clientId: CLIENT, assertion: jwt, jti: i.jti, exp: i.exp },
          p,
          RULES,
        ),
      ),
    ).toBe('client_assertion_signature');
    expect(spent.size).toBe(0);
  });
});
