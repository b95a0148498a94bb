/**
 * Property-based fuzzing of the token endpoint (fast-check): whatever arrives, no 5xx, no exception
 * escapes the handler, and no token unless the request is valid. FUZZ_RUNS=N runs longer.
 */
import fc from 'fast-check';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/token-request.js';
import { formBody, httpEvent, tokenEvent } from '../support/events.js';
import { Harness, ISSUER, refusalOf } from '../support/harness.js';
import { REASONS } from '../../lambda/oauth/errors.js';
import type { HttpResult } from '../../lambda/http/types.js';
import { DpopKey } from '../support/dpop.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
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
  await fc.assert(
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
    { numRuns: RUNS },
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

/** Applies the mutation; returns false when it happened to change nothing (so proves nothing). */
async function apply(m: Mutation, params: [string, string][]): Promise<boolean> {
  const at = (name: string) => params.findIndex(([n]) => n === name);
  switch (m.kind) {
    case 'drop':
      params.splice(at(m.param), 1);
      return true;
    case 'duplicate': {
      const i = at(m.param);
      params.push(i >= 0 ? [m.param, params[i]![1]] : [m.param, 'read'], [
        m.param,
        i >= 0 ? params[i]![1] : 'read',
      ]);
      return true;
    }
    case 'replace': {
      const i = at(m.param);
      if (params[i]![1] === m.value || m.value.trim() === '') return false;
      params[i]![1] = m.value;
      return true;
    }
    case 'flip': {
      const i = at('assertion');
      const parts = params[i]![1].split('.');
      const seg = parts[m.segment]!;
      const pos = m.at % seg.length;
      if (seg[pos] === m.char) return false;
      parts[m.segment] = seg.slice(0, pos) + m.char + seg.slice(pos + 1);
      params[i]![1] = parts.join('.');
      return true;
    }
    case 'truncate': {
      const i = at('assertion');
      params[i]![1] = params[i]![1].slice(0, m.keep % params[i]![1].length);
      return true;
    }
    case 'append': {
      const i = at('assertion');
      params[i]![1] += m.junk;
      return true;
    }
    case 'claim': {
      const i = at('assertion');
      const current = payloadOf(params[i]![1]);
      if (!current) return false; // an earlier flip broke the payload: nothing to re-sign
      // A new value in the claim's own type may still be valid (a later exp, say): keep to ones that are not.
      if (JSON.stringify(current[m.claim]) === JSON.stringify(m.value)) return false;
      if (['exp', 'nbf'].includes(m.claim) && typeof m.value === 'number') return false;
      if (
        m.claim === 'iat' &&
        typeof m.value === 'number' &&
        m.value <= h.clock.now() + 60 &&
        (current.exp as number) - m.value <= 360 &&
        m.value < (current.exp as number)
      )
        return false;
      if (
        m.claim === 'sub' &&
        typeof m.value === 'string' &&
        m.value !== '' &&
        m.value.length <= 255
      )
        return false;
      if (m.claim === 'jti' && typeof m.value === 'string' && m.value !== '') return false;
      params[i]![1] = await h.mint(CLIENT_ID, { ...current, [m.claim]: m.value });
      return true;
    }
    case 'header': {
      const i = at('assertion');
      if (
        m.name === 'typ' &&
        typeof m.value === 'string' &&
        ['oauth-id-jag+jwt', 'application/oauth-id-jag+jwt'].includes(m.value.toLowerCase())
      )
        return false;
      if (m.name === 'alg' && m.value === 'RS256') return false;
      const current = payloadOf(params[i]![1]);
      if (!current) return false;
      const header = {
        alg: 'RS256',
        typ: 'oauth-id-jag+jwt',
        kid: h.idp.key.kid,
        [m.name]: m.value,
      };
      params[i]![1] = await h.idp.signRaw(header, current);
      return true;
    }
  }
}

test(`mutated valid requests never yield a token, neutral changes always do (${RUNS} runs)`, async () => {
  await fc.assert(
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
        let invalidated = false;
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
          invalidated = (await apply(m, params)) || invalidated;
        }
        // Unknown parameters are ignored (RFC 6749 §3.2): they never make a valid request invalid.
        const known = new Set([...PARAMS, 'scope', 'resource']);
        for (const [name, value] of extras)
          if (!known.has(name) && !params.some(([n]) => n === name)) params.push([name, value]);
        if (shuffle) params.reverse();

        const body = params
          .map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`)
          .join('&');
        const res = await h.token(tokenEvent(body));
        if (invalidated) expectRefusal(res);
        else
          expect({
            status: res.statusCode,
            token: typeof JSON.parse(res.body!).access_token,
          }).toEqual({ status: 200, token: 'string' });
      },
    ),
    { numRuns: RUNS },
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
  await fc.assert(
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
    { numRuns: RUNS },
  );
});

test('the form encoder used here round-trips, so the fuzzing reaches the parser it means to', () => {
  expect(formBody({ a: 'x y&z=%' })).toBe('a=x+y%26z%3D%25');
});
