/**
 * Property-based fuzzing of the token endpoint (fast-check): whatever arrives, no 5xx, no exception
 * escapes the handler, and no token unless the request is valid. FUZZ_RUNS=N runs longer.
 *
 * Every run draws a new seed; a failure prints the command that replays it
 * (FUZZ_SEED=N, and FUZZ_PATH=P to go straight to the shrunk counterexample).
 */
import fc from 'fast-check';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { formBody, httpEvent, tokenEvent } from '../support/events.js';
import { Harness, ISSUER, refusalOf } from '../support/harness.js';
import { REASONS } from '../../lambda/oauth/errors.js';
import type { HttpResult } from '../../lambda/http/types.js';
import { DpopKey } from '../support/dpop.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;
const CLIENT_ID = 'fuzz-client';
const CLIENT_SECRET = 'fuzz-client-secret-0123456789';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start();
  await h.admin.add({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: ['read', 'write'],
    resources: ['https://api.example.com/'],
  });
});
afterAll(() => h.close());

/**
 * fc.assert, with the replay command in the failure: the message ends with the environment that
 * reruns the same inputs, so a red run is reproduced rather than retried. `params` win over
 * FUZZ_SEED and FUZZ_PATH (the test of this helper pins its own seed).
 */
async function checkProperty<Ts>(
  name: string,
  property: fc.IAsyncProperty<Ts>,
  params: fc.Parameters<Ts> = {},
): Promise<void> {
  const details = await fc.check(property, {
    numRuns: RUNS,
    ...(SEED !== undefined && { seed: SEED }),
    ...(PATH !== undefined && { path: PATH }),
    ...params,
  });
  if (!details.failed) return;
  const env = [`FUZZ_SEED=${details.seed}`];
  if (details.counterexamplePath) env.push(`FUZZ_PATH=${details.counterexamplePath}`);
  if (process.env.FUZZ_RUNS !== undefined) env.push(`FUZZ_RUNS=${RUNS}`);
  throw new Error(
    `${fc.defaultReportMessage(details) ?? 'the property failed'}\n\n` +
      `Replay this failure: ${env.join(' ')} npm run jest -- test/security/fuzz.test.ts -t '${name}'`,
    { cause: details.errorInstance },
  );
}

function expectRefusal(res: HttpResult) {
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(res.statusCode).toBeLessThan(500);
  const body = JSON.parse(res.body ?? '') as Record<string, unknown>;
  expect(typeof body.error).toBe('string');
  expect(body).not.toHaveProperty('access_token');
  // Every refusal the service makes has a reason code from the closed set, and the code says which
  // error went on the wire. (A 405 is the handler's own answer, before the service is asked.)
  if (res.statusCode !== 405) {
    const reason = refusalOf(res)?.reason;
    expect(reason !== undefined && REASONS[reason]).toBe(body.error);
  }
}

test(`arbitrary bytes, content types and headers are refused cleanly (${RUNS} runs)`, async () => {
  await checkProperty(
    'arbitrary bytes',
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 2048 }),
        fc.string({ maxLength: 2048, unit: 'binary' }).map((s) => Buffer.from(s)),
      ),
      fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/json',
        'text/plain',
        '',
        'application/x-www-form-urlencoded; charset=latin1',
      ),
      fc.option(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ maxLength: 100 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
        ),
        { nil: undefined },
      ),
      fc.constantFrom('POST', 'GET', 'PUT', 'PATCH'),
      fc.boolean(),
      async (body, contentType, authorization, method, base64) => {
        const headers: Record<string, string> = { 'content-type': contentType };
        if (authorization !== undefined) headers.authorization = authorization;
        const res = await h.token(
          httpEvent(method, '/token', { headers, body: Buffer.from(body), base64 }),
        );
        expectRefusal(res);
      },
    ),
  );
});

type Mutation =
  | { kind: 'drop'; param: string }
  | { kind: 'duplicate'; param: string }
  | { kind: 'replace'; param: string; value: string }
  | { kind: 'flip'; segment: 0 | 1; at: number; char: string }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; junk: string }
  | { kind: 'claim'; claim: string; value: unknown }
  | { kind: 'header'; name: string; value: unknown };

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const PARAMS = ['grant_type', 'assertion', 'client_id', 'client_secret'];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), param: fc.constantFrom(...PARAMS) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    param: fc.constantFrom(...PARAMS, 'scope'),
  }),
  fc.record({
    kind: fc.constant('replace' as const),
    param: fc.constantFrom(...PARAMS),
    value: fc.string({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('flip' as const),
    segment: fc.constantFrom(0 as const, 1 as const),
    at: fc.nat(),
    char: fc.constantFrom(...B64URL),
  }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({
    kind: fc.constant('append' as const),
    junk: fc.string({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('claim' as const),
    claim: fc.constantFrom('iss', 'sub', 'aud', 'client_id', 'jti', 'exp', 'iat', 'nbf'),
    value: fc.oneof(
      fc.string(),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.constant(ISSUER + '/'),
    ),
  }),
  fc.record({
    kind: fc.constant('header' as const),
    name: fc.constantFrom('typ', 'alg', 'kid'),
    value: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
  }),
);

function payloadOf(jwt: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Applies the mutation to the first parameter of its name. It leaves the request alone where the
 * model below could not tell whether the result is valid (a later `exp`, another non-empty `jti`).
 */
async function apply(m: Mutation, params: [string, string][]): Promise<void> {
  const at = (name: string) => params.findIndex(([n]) => n === name);
  switch (m.kind) {
    case 'drop':
      params.splice(at(m.param), 1);
      return;
    case 'duplicate': {
      const i = at(m.param);
      params.push(i >= 0 ? [m.param, params[i]![1]] : [m.param, 'read'], [
        m.param,
        i >= 0 ? params[i]![1] : 'read',
      ]);
      return;
    }
    case 'replace': {
      const i = at(m.param);
      if (params[i]![1] === m.value || m.value.trim() === '') return;
      params[i]![1] = m.value;
      return;
    }
    case 'flip': {
      const i = at('assertion');
      const parts = params[i]![1].split('.');
      const seg = parts[m.segment]!;
      const pos = m.at % seg.length;
      if (seg[pos] === m.char) return;
      parts[m.segment] = seg.slice(0, pos) + m.char + seg.slice(pos + 1);
      params[i]![1] = parts.join('.');
      return;
    }
    case 'truncate': {
      const i = at('assertion');
      params[i]![1] = params[i]![1].slice(0, m.keep % params[i]![1].length);
      return;
    }
    case 'append': {
      const i = at('assertion');
      params[i]![1] += m.junk;
      return;
    }
    case 'claim': {
      const i = at('assertion');
      const current = payloadOf(params[i]![1]);
      if (!current) return; // an earlier flip broke the payload: nothing to re-sign
      // A new value in the claim's own type may still be valid (a later exp, say): keep to ones that are not.
      if (JSON.stringify(current[m.claim]) === JSON.stringify(m.value)) return;
      if (['exp', 'nbf'].includes(m.claim) && typeof m.value === 'number') return;
      if (
        m.claim === 'iat' &&
        typeof m.value === 'number' &&
        m.value <= h.clock.now() + 60 &&
        (current.exp as number) - m.value <= 360 &&
        m.value < (current.exp as number)
      )
        return;
      if (
        m.claim === 'sub' &&
        typeof m.value === 'string' &&
        m.value !== '' &&
        m.value.length <= 255
      )
        return;
      if (m.claim === 'jti' && typeof m.value === 'string' && m.value !== '') return;
      params[i]![1] = await h.mint(CLIENT_ID, { ...current, [m.claim]: m.value });
      return;
    }
    case 'header': {
      const i = at('assertion');
      if (
        m.name === 'typ' &&
        typeof m.value === 'string' &&
        ['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt'].includes(m.value.toLowerCase())
      )
        return;
      if (m.name === 'alg' && m.value === 'RS256') return;
      if (m.name === 'kid' && m.value === h.idp.key.kid) return;
      const current = payloadOf(params[i]![1]);
      if (!current) return;
      const header = {
        alg: 'RS256',
        typ: 'oauth-id-jag+jwt',
        kid: h.idp.key.kid,
        [m.name]: m.value,
      };
      params[i]![1] = await h.idp.signRaw(header, current);
      return;
    }
  }
}

/**
 * The model: whether a request is valid follows from what the mutations left, not from which ones
 * ran. Each parameter the grant needs is there exactly once with its original value, and `scope`,
 * if there, once with a scope the client holds. A duplicated assertion dropped twice leaves one
 * original assertion, a valid request; a duplicated one dropped once leaves two.
 */
function validRequest(params: readonly [string, string][], original: ReadonlyMap<string, string>) {
  const values = (name: string) => params.filter(([n]) => n === name).map(([, v]) => v);
  const scopes = values('scope');
  return (
    PARAMS.every((name) => {
      const left = values(name);
      return left.length === 1 && left[0] === original.get(name);
    }) &&
    (scopes.length === 0 || (scopes.length === 1 && scopes[0] === 'read'))
  );
}

/** Sequences a model that counts mutations instead of reading what they left gets wrong. */
const KNOWN_SEQUENCES: Mutation[][] = [
  [
    { kind: 'duplicate', param: 'assertion' },
    { kind: 'drop', param: 'assertion' },
    { kind: 'drop', param: 'assertion' },
  ],
  [
    { kind: 'duplicate', param: 'client_secret' },
    { kind: 'drop', param: 'client_secret' },
  ],
  [
    { kind: 'drop', param: 'client_id' },
    { kind: 'duplicate', param: 'client_id' },
    { kind: 'drop', param: 'client_id' },
  ],
];

test('the model reads the request the mutations leave', () => {
  const original = new Map([
    ['grant_type', JWT_BEARER_GRANT],
    ['assertion', 'a.b.c'],
    ['client_id', CLIENT_ID],
    ['client_secret', CLIENT_SECRET],
  ]);
  const request = (...extra: [string, string][]) => [...original, ...extra];
  expect(validRequest(request(), original)).toBe(true);
  expect(validRequest(request(['scope', 'read']), original)).toBe(true);
  expect(validRequest(request(['assertion', 'a.b.c']), original)).toBe(false);
  expect(validRequest(request(['scope', 'read'], ['scope', 'read']), original)).toBe(false);
  expect(validRequest([...request()].slice(1), original)).toBe(false);
  expect(validRequest([...request().slice(0, 3), ['client_secret', 'other']], original)).toBe(
    false,
  );
});

test(`mutated valid requests never yield a token, neutral changes always do (${RUNS} runs)`, async () => {
  await checkProperty(
    'mutated valid requests',
    fc.asyncProperty(
      fc.array(mutation, { minLength: 0, maxLength: 3 }),
      fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 24 })), {
        maxLength: 3,
      }),
      fc.boolean(),
      async (mutations, extras, shuffle) => {
        const params: [string, string][] = [
          ['grant_type', JWT_BEARER_GRANT],
          ['assertion', await h.mint(CLIENT_ID)],
          ['client_id', CLIENT_ID],
          ['client_secret', CLIENT_SECRET],
        ];
        const original = new Map(params);
        for (const m of mutations) {
          if (
            m.kind !== 'duplicate' &&
            m.kind !== 'drop' &&
            !params.some(([n]) => n === (m.kind === 'replace' ? m.param : 'assertion'))
          )
            continue;
          if (m.kind === 'drop' && !params.some(([n]) => n === m.param)) continue;
          if (
            m.kind === 'flip' ||
            m.kind === 'claim' ||
            m.kind === 'header' ||
            m.kind === 'truncate' ||
            m.kind === 'append'
          ) {
            const a = params.find(([n]) => n === 'assertion');
            if (!a || a[1].split('.').length !== 3 || !a[1].split('.')[0] || !a[1].split('.')[1])
              continue;
          }
          await apply(m, params);
        }
        const valid = validRequest(params, original);
        // Unknown parameters are ignored (RFC 6749 §3.2): they never make a valid request invalid.
        const known = new Set([...PARAMS, 'scope', 'resource']);
        for (const [name, value] of extras)
          if (!known.has(name) && !params.some(([n]) => n === name)) params.push([name, value]);
        if (shuffle) params.reverse();

        const body = params
          .map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`)
          .join('&');
        const res = await h.token(tokenEvent(body));
        if (!valid) expectRefusal(res);
        else
          expect({
            status: res.statusCode,
            token: typeof JSON.parse(res.body!).access_token,
          }).toEqual({ status: 200, token: 'string' });
      },
    ),
    // Run on every seed, before the generated cases.
    {
      examples: KNOWN_SEQUENCES.map((m): [Mutation[], [string, string][], boolean] => [
        m,
        [],
        false,
      ]),
    },
  );
});

/**
 * DPoP proofs (DPOP-PROOF, DPOP-INVALID, DPOP-BIND, DPOP-CNF-JKT), mutated and re-signed with the
 * client's key so the mutation reaches the checks behind the signature: a change that breaks a
 * rule is refused cleanly, a neutral one (an unknown claim, another valid jti) still binds.
 */
type DpopMutation =
  | { kind: 'claim'; name: 'jti' | 'htm' | 'htu' | 'iat'; value: unknown }
  | { kind: 'header'; name: 'typ' | 'alg' | 'jwk' | 'crit'; value: unknown }
  | { kind: 'jwk'; name: 'kty' | 'crv' | 'x' | 'y' | 'd'; value: unknown }
  | { kind: 'extra'; value: unknown }
  | { kind: 'flip'; at: number }
  | { kind: 'raw'; value: string };

const dpopMutation: fc.Arbitrary<DpopMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('claim' as const),
    name: fc.constantFrom('jti' as const, 'htm' as const, 'htu' as const, 'iat' as const),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    kind: fc.constant('header' as const),
    name: fc.constantFrom('typ' as const, 'alg' as const, 'jwk' as const, 'crit' as const),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    kind: fc.constant('jwk' as const),
    name: fc.constantFrom('kty' as const, 'crv' as const, 'x' as const, 'y' as const, 'd' as const),
    value: fc.jsonValue({ maxDepth: 1 }),
  }),
  fc.record({ kind: fc.constant('extra' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('raw' as const), value: fc.string({ maxLength: 300 }) }),
);

test(`mutated DPoP proofs are refused cleanly, neutral changes still bind (${RUNS} runs)`, async () => {
  const key = await DpopKey.generate('ES256');
  const htu = `${ISSUER}/token`;
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sign = async (header: unknown, payload: unknown) => {
    const input = `${enc(header)}.${enc(payload)}`;
    const sig = await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      key.privateKey,
      Buffer.from(input),
    );
    return `${input}.${Buffer.from(sig).toString('base64url')}`;
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  await checkProperty(
    'mutated DPoP proofs',
    fc.asyncProperty(dpopMutation, fc.boolean(), async (m, bound) => {
      const now = h.clock.now();
      const header: Record<string, unknown> = {
        alg: 'ES256',
        typ: 'dpop+jwt',
        jwk: { ...key.publicJwk },
      };
      const claims: Record<string, unknown> = {
        jti: crypto.randomUUID(),
        htm: 'POST',
        htu,
        iat: now,
      };
      // 'valid', 'invalid', or 'unknown' (a flipped character may land on unused base64url bits).
      let expected: 'valid' | 'invalid' | 'unknown' = 'valid';
      let proof: string;
      if (m.kind === 'claim') {
        const v = m.value;
        const ok =
          m.name === 'jti'
            ? typeof v === 'string' && v.length >= 1 && v.length <= 256
            : m.name === 'iat'
              ? typeof v === 'number' && v >= now - 120 && v <= now + 60
              : same(v, claims[m.name]);
        claims[m.name] = v;
        if (!ok) expected = 'invalid';
        proof = await sign(header, claims);
      } else if (m.kind === 'header') {
        if (!same(m.value, header[m.name])) expected = 'invalid';
        header[m.name] = m.value;
        proof = await sign(header, claims);
      } else if (m.kind === 'jwk') {
        const jwk = header.jwk as Record<string, unknown>;
        if (!same(m.value, jwk[m.name])) expected = 'invalid';
        jwk[m.name] = m.value;
        proof = await sign(header, claims);
      } else if (m.kind === 'extra') {
        claims.extra = m.value;
        proof = await sign(header, claims);
        if (proof.length > 8192) expected = 'invalid';
      } else if (m.kind === 'flip') {
        const valid = await sign(header, claims);
        const at = m.at % valid.length;
        const c = valid[at] === 'A' ? 'B' : 'A';
        proof = valid.slice(0, at) + c + valid.slice(at + 1);
        expected = valid[at] === '.' ? 'invalid' : 'unknown';
      } else {
        proof = m.value;
        expected = 'invalid';
      }
      const assertion = await h.mint(CLIENT_ID, bound ? { cnf: { jkt: key.jkt } } : {});
      const res = await h.token(
        tokenEvent(
          {
            grant_type: JWT_BEARER_GRANT,
            assertion,
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
          },
          { dpop: proof },
        ),
      );
      if (expected === 'invalid') expectRefusal(res);
      else if (expected === 'valid' || res.statusCode === 200) {
        const body = JSON.parse(res.body!) as { token_type?: string; access_token?: string };
        expect({ status: res.statusCode, type: body.token_type }).toEqual({
          status: 200,
          type: 'DPoP',
        });
        const cnf = (
          JSON.parse(Buffer.from(body.access_token!.split('.')[1]!, 'base64url').toString()) as {
            cnf: unknown;
          }
        ).cnf;
        expect(cnf).toEqual({ jkt: key.jkt });
      } else expectRefusal(res);
    }),
  );
});

test('a failing property prints the command that replays it', async () => {
  const failing = fc.asyncProperty(fc.nat(), async (n) => {
    expect(n).toBeLessThan(5);
  });
  const error = await checkProperty('the name', failing, { seed: 42, path: undefined }).then(
    () => undefined,
    (err: Error) => err,
  );
  expect(error?.message).toMatch(
    /\nReplay this failure: FUZZ_SEED=42 FUZZ_PATH=[\d:]+ (FUZZ_RUNS=\d+ )?npm run jest -- test\/security\/fuzz\.test\.ts -t 'the name'$/,
  );
  // The path it prints replays the shrunk counterexample, 5, on its first run.
  const path = /FUZZ_PATH=([\d:]+)/.exec(error!.message)![1]!;
  const replayed = await fc.check(failing, { seed: 42, path, numRuns: 1 });
  expect(replayed.counterexample).toEqual([5]);
});

test('the form encoder used here round-trips, so the fuzzing reaches the parser it means to', () => {
  expect(formBody({ a: 'x y&z=%' })).toBe('a=x+y%26z%3D%25');
});
