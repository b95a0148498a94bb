/**
 * Hostile clients, each case twice: through the token handler (an API Gateway event) and over
 * HTTP to the local server. A client that arrives by a Client ID Metadata Document URL (CIMD-*)
 * whose document times out, is too large, is not JSON, names another client, lives on a private
 * address, redirects or is not on the allow-list; a private_key_jwt client (AUTH-PRIVATE-KEY-JWT)
 * whose assertion is replayed, expired, signed with an algorithm not accepted, for another
 * audience or under a key it does not have. Each is invalid_client (401) with its reason code in
 * the log and, where it may say so, a description saying which: never a 500, never a token, and a
 * URL the policy refuses is never fetched. No log line holds a client assertion, its signature or
 * a private key member. Last, a property: random client_assertion values never yield a 500 or a
 * token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ClientAdmin } from '../../local/admin/client-admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { openLocalAdminStore } from '../../local/admin/local-admin.js';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { REASONS, type ReasonCode } from '../../lambda/oauth/errors.js';
import { CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { formBody, tokenEvent, type Form } from '../support/events.js';
import { Harness, ISSUER, MemoryLog, RESOURCE, refusalOf } from '../support/harness.js';
import { ClientHost, ClientKey } from '../support/client-keys.js';
import { b64url } from '../support/token-requests.js';
import { captureProcessOutput } from '../support/console-capture.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const KEY_CLIENT = 'hostile-agent';
const AUTHENTICATION_FAILED = 'client authentication failed';

let host: ClientHost;
let key: ClientKey;
let h: Harness;
let server: LocalServer;
let serverLog: MemoryLog;
let dataDir: string;

/**
 * Everything the servers write outside their loggers (stdout and stderr) is kept here too, and
 * every assertion and private key the traffic carried is kept in `sensitive`, so the log test can
 * prove none of them was ever written.
 */
const written = captureProcessOutput();
const sensitive = new Set<string>();

beforeAll(async () => {
  host = await ClientHost.start();
  key = await ClientKey.generate('ES256');
  remember(key);
  const env = {
    CLIENT_METADATA_HTTP_LOCALHOST: '1',
    CLIENT_METADATA_DOCUMENTS: JSON.stringify(
      [`${host.origin}/agents/`, 'https://127.0.0.1/agents/', 'https://[::1]/agents/'].map(
        (url_prefix) => ({ url_prefix, scopes: ['read'], resources: [RESOURCE] }),
      ),
    ),
  };
  h = await Harness.start({ env });
  await h.admin.addKeyClient({
    clientId: KEY_CLIENT,
    jwks: key.jwks,
    scopes: ['read'],
    resources: [RESOURCE],
  });
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-hostile-clients-'));
  serverLog = new MemoryLog();
  server = await startLocalServer(
    loadLocalConfig({
      ...env,
      DATA_DIR: dataDir,
      PORT: '0',
      ISSUER,
      TRUSTED_ISSUERS: JSON.stringify([h.idp.trusted()]),
    }),
    { logger: serverLog },
  );
  const opened = await openLocalAdminStore(dataDir);
  try {
    await new ClientAdmin(opened.store, opened.store, 'client/').addKeyClient({
      clientId: KEY_CLIENT,
      jwks: key.jwks,
      scopes: ['read'],
      resources: [RESOURCE],
    });
  } finally {
    opened.close();
  }
});
afterAll(async () => {
  await server?.close();
  await h?.close();
  await host?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A key's private members join `sensitive`. */
function remember(k: ClientKey): ClientKey {
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const value = k.privateJwk[member];
    if (typeof value === 'string') sensitive.add(value);
  }
  return k;
}

/** An assertion, its signature too, joins `sensitive`. */
function secret(assertion: string): string {
  if (assertion.length >= 12) sensitive.add(assertion);
  const signature = assertion.split('.')[2];
  if (signature && signature.length >= 16) sensitive.add(signature);
  return assertion;
}

const now = () => Math.floor(Date.now() / 1000);

/** The form by which `clientId` redeems a fresh ID-JAG with a client assertion. */
async function keyForm(
  clientId: string,
  options: {
    claims?: Record<string, unknown>;
    header?: Record<string, unknown>;
    signer?: ClientKey;
    assertion?: string;
  } = {},
): Promise<Form> {
  const t = now();
  const assertion =
    options.assertion ??
    (await (options.signer ?? key).assertion(clientId, ISSUER, t, options.claims, options.header));
  return {
    grant_type: JWT_BEARER_GRANT,
    assertion: await h.idp.mint({ audience: ISSUER, clientId, now: t }),
    client_id: clientId,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: secret(assertion),
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  raw: string;
  /** The reason code the token handler logged for this request, if it refused. */
  reason: string | undefined;
}

/** The reason of the last `token refused` or `token request failed` line since `from`. */
function loggedReason(log: MemoryLog, from: number): string | undefined {
  const lines = log.lines
    .slice(from)
    .filter((l) => /^token (refused|request failed)/.test(l.message));
  const last = lines.at(-1)?.extra[0] as { reason?: string } | undefined;
  return last?.reason;
}

async function viaHandler(form: Form): Promise<Answer> {
  // The harness clock stands still; the assertions are made at the real time.
  h.clock.t = now();
  const from = h.log.lines.length;
  const res = await h.token(tokenEvent(form));
  const raw = res.body ?? '';
  const reason = loggedReason(h.log, from);
  // The reason the handler reported is the one it logged.
  expect(refusalOf(res)?.reason).toBe(reason);
  return { status: res.statusCode, body: JSON.parse(raw) as Record<string, unknown>, raw, reason };
}

async function viaHttp(form: Form): Promise<Answer> {
  const from = serverLog.lines.length;
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: formBody(form),
  });
  const raw = await res.text();
  return {
    status: res.status,
    body: JSON.parse(raw) as Record<string, unknown>,
    raw,
    reason: loggedReason(serverLog, from),
  };
}

/** Refused with invalid_client (401) for `reason`, logged; no token, no stack. */
function expectInvalidClient(answer: Answer, reason: ReasonCode): Record<string, unknown> {
  expect({ status: answer.status, error: answer.body.error, reason: answer.reason }).toEqual({
    status: 401,
    error: 'invalid_client',
    reason,
  });
  expect(REASONS[reason]).toBe('invalid_client');
  expect(answer.body).not.toHaveProperty('access_token');
  expect(answer.raw).not.toMatch(/\n\s+at /);
  return answer.body;
}

let n = 0;
const fresh = (dir = '/agents/') => `${dir}h${++n}.json`;

describe.each([
  ['through the handler', viaHandler],
  ['over HTTP to the local server', viaHttp],
])('%s', (_how, send) => {
  describe('baseline: the same clients, well-behaved, get tokens', () => {
    test('a registered key client', async () => {
      const answer = await send(await keyForm(KEY_CLIENT));
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveProperty('access_token');
    });

    test('a client by its metadata document', async () => {
      const id = host.metadata(fresh(), { jwks: key.jwks });
      const answer = await send(await keyForm(id));
      expect(answer.status).toBe(200);
    });
  });

  describe('CIMD: a hostile metadata document is invalid_client, saying which', () => {
    type CimdCase = [
      what: string,
      serve: (path: string) => string,
      reason: ReasonCode,
      says: RegExp,
    ];
    test.each<CimdCase>([
      [
        'a document that never comes',
        (p) => host.on(p, () => undefined),
        'client_metadata_timeout',
        /no answer within/,
      ],
      [
        'a document larger than the cap',
        (p) => host.json(p, { client_id: host.url(p), pad: 'x'.repeat(64 * 1024) }),
        'client_metadata_too_large',
        /larger than/,
      ],
      [
        'an endless chunked document',
        (p) =>
          host.on(p, (res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            const pump = () => {
              while (!res.destroyed && res.write(' '.repeat(4096)));
              if (!res.destroyed) res.once('drain', pump);
            };
            pump();
          }),
        'client_metadata_too_large',
        /larger than/,
      ],
      [
        'a document that is not JSON',
        (p) => host.on(p, (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>')),
        'client_metadata_not_json',
        /not JSON/,
      ],
      [
        'a document that is not UTF-8',
        (p) => host.on(p, (res) => res.writeHead(200).end(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))),
        'client_metadata_not_json',
        /not UTF-8/,
      ],
      [
        'a document naming another client_id',
        (p) =>
          host.json(p, {
            client_id: host.url('/agents/someone-else.json'),
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: key.jwks,
          }),
        'client_metadata_client_id_mismatch',
        /names another client_id/,
      ],
      [
        'a redirect to the cloud metadata service',
        (p) =>
          host.on(p, (res) =>
            res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
          ),
        'client_metadata_redirect',
        /redirect/,
      ],
      [
        'an HTTP error',
        (p) => host.on(p, (res) => res.writeHead(500).end('stack trace here')),
        'client_metadata_unreachable',
        /HTTP 500/,
      ],
      [
        'a document holding a private key',
        (p) => host.metadata(p, { jwks: { keys: [key.privateJwk] } }),
        'client_metadata_invalid',
        /public keys only/,
      ],
    ])('%s: 401 invalid_client', async (...[, serve, reason, says]: CimdCase) => {
      const id = serve(fresh());
      const body = expectInvalidClient(await send(await keyForm(id)), reason);
      expect(body.error_description).toMatch(says);
      expect(body.error_description).toContain(id);
    });

    test('a redirect is not followed: its Location is never fetched', async () => {
      const target = fresh();
      host.metadata(target, { jwks: key.jwks });
      const id = host.on(fresh(), (res) =>
        res.writeHead(307, { location: host.url(target) }).end(),
      );
      expectInvalidClient(await send(await keyForm(id)), 'client_metadata_redirect');
      expect(host.hits.get(target)).toBeUndefined();
    });

    test.each([
      ['a loopback address', 'https://127.0.0.1/agents/a.json'],
      ['the IPv6 loopback', 'https://[::1]/agents/a.json'],
    ])(
      'a document on %s: client_metadata_address_not_public, no connection made',
      async (_what, id) => {
        // Nothing listens on port 443 here: a connection attempt would have been `unreachable`.
        const body = expectInvalidClient(
          await send(await keyForm(id)),
          'client_metadata_address_not_public',
        );
        expect(body.error_description).toMatch(/not a public address/);
      },
    );

    test.each([
      ['a path outside every rule', () => host.url(fresh('/elsewhere/'))],
      ['a path extending a rule\u2019s prefix', () => host.url(fresh('/agentsX/'))],
      ['another port of the same host', () => host.url(fresh()).replace(/:(\d+)\//, ':1/')],
      ['https on a host no rule names', () => `https://agents.example.net${fresh()}`],
    ])('%s: client_metadata_not_allowed, nothing fetched', async (_what, idOf) => {
      const id = idOf();
      const path = new URL(id).pathname;
      host.metadata(path, { jwks: key.jwks });
      const body = expectInvalidClient(
        await send(await keyForm(id)),
        'client_metadata_not_allowed',
      );
      expect(body.error_description).toMatch(
        /not a Client ID Metadata Document this server accepts/,
      );
      expect(host.hits.get(path)).toBeUndefined();
    });
  });

  describe('private_key_jwt: a hostile assertion is invalid_client, its reason in the log', () => {
    test('replayed: the same assertion a second time', async () => {
      const form = await keyForm(KEY_CLIENT);
      expect((await send(form)).status).toBe(200);
      const again = {
        ...form,
        assertion: await h.idp.mint({ audience: ISSUER, clientId: KEY_CLIENT, now: now() }),
      };
      const body = expectInvalidClient(await send(again), 'client_assertion_replayed');
      expect(body.error_description).toMatch(/used before/);
    });

    test('replayed concurrently: of several sends of one assertion, at most one is answered', async () => {
      const form = await keyForm(KEY_CLIENT);
      const forms = await Promise.all(
        Array.from({ length: 4 }, async () => ({
          ...form,
          assertion: await h.idp.mint({ audience: ISSUER, clientId: KEY_CLIENT, now: now() }),
        })),
      );
      const answers = await Promise.all(forms.map((f) => send(f)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200))
        expectInvalidClient(a, 'client_assertion_replayed');
    });

    type KeyCase = [
      what: string,
      form: () => Promise<Form>,
      reason: ReasonCode,
      /** The description, where it may say what is wrong; AUTH-FAILURE's one answer otherwise. */
      says: RegExp | typeof AUTHENTICATION_FAILED,
    ];
    test.each<KeyCase>([
      [
        'expired',
        () => keyForm(KEY_CLIENT, { claims: { iat: now() - 900, exp: now() - 600 } }),
        'client_assertion_expired',
        /expired/,
      ],
      [
        'good for an hour',
        () => keyForm(KEY_CLIENT, { claims: { exp: now() + 3600 } }),
        'client_assertion_lifetime',
        /more than 600 s/,
      ],
      [
        'signed with HS256 (the public key as an HMAC secret)',
        async () => {
          const [, payload] = (await key.assertion(KEY_CLIENT, ISSUER, now())).split('.');
          const header = b64url({ alg: 'HS256', typ: 'JWT', kid: key.publicJwk.kid });
          return keyForm(KEY_CLIENT, {
            assertion: `${header}.${payload}.${b64url('x'.repeat(32))}`,
          });
        },
        'client_assertion_algorithm',
        /HS256/,
      ],
      [
        'alg none',
        async () => {
          const [, payload] = (await key.assertion(KEY_CLIENT, ISSUER, now())).split('.');
          return keyForm(KEY_CLIENT, {
            assertion: `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`,
          });
        },
        'client_assertion_algorithm',
        /"none"/,
      ],
      [
        'for the token endpoint rather than the issuer',
        () => keyForm(KEY_CLIENT, { claims: { aud: `${ISSUER}/token` } }),
        'client_assertion_audience',
        /aud/,
      ],
      [
        'for another server',
        () => keyForm(KEY_CLIENT, { claims: { aud: 'https://other-as.example' } }),
        'client_assertion_audience',
        /aud/,
      ],
      [
        'for this server and another',
        () => keyForm(KEY_CLIENT, { claims: { aud: [ISSUER, 'https://other-as.example'] } }),
        'client_assertion_audience',
        /single value/,
      ],
      [
        'under a kid the client does not have',
        async () => keyForm(KEY_CLIENT, { signer: remember(await ClientKey.generate('ES256')) }),
        'client_assertion_key_unknown',
        AUTHENTICATION_FAILED,
      ],
      [
        'under the client\u2019s kid, by another key',
        async () =>
          keyForm(KEY_CLIENT, {
            signer: remember(await ClientKey.generate('ES256', key.publicJwk.kid)),
          }),
        'client_assertion_signature',
        AUTHENTICATION_FAILED,
      ],
      [
        'for a client nobody registered',
        () => keyForm('nobody-registered'),
        'client_unknown',
        AUTHENTICATION_FAILED,
      ],
    ])('%s: 401 invalid_client', async (...[, form, reason, says]: KeyCase) => {
      const body = expectInvalidClient(await send(await form()), reason);
      if (says === AUTHENTICATION_FAILED)
        expect(body.error_description).toBe(AUTHENTICATION_FAILED);
      else expect(body.error_description).toMatch(says);
    });
  });
});

describe('the logs', () => {
  test('hold the refusals, and no assertion, signature or private key member', () => {
    const logs = [h.log.text(), serverLog.text(), written.join('')];
    // The cases above ran, and were logged by both transports.
    expect(logs[0]).toContain('client_assertion_replayed');
    expect(logs[1]).toContain('client_assertion_replayed');
    expect(logs[0]).toContain('client_metadata_timeout');
    expect(logs[1]).toContain('client_metadata_timeout');
    expect(sensitive.size).toBeGreaterThan(20);
    for (const text of logs)
      for (const value of sensitive) {
        if (text.includes(value))
          throw new Error(`a log holds a client assertion or key member: ${value.slice(0, 24)}…`);
      }
    for (const text of logs) expect(text).not.toMatch(/"d"\s*:/);
  });
});

describe('property: random client_assertion values never yield a 500 or a token', () => {
  const segment = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.base64String({ maxLength: 60 }).map((s) => s.replace(/=+$/, '')),
    fc.jsonValue({ maxDepth: 2 }).map((v) => b64url(v)),
  );
  const header = fc.record(
    {
      alg: fc.constantFrom('ES256', 'RS256', 'HS256', 'none', 'EdDSA', 'PS256', '', 'es256'),
      typ: fc.constantFrom('JWT', 'client-authentication+jwt', 'oauth-id-jag+jwt', 'dpop+jwt'),
      kid: fc.oneof(fc.string({ maxLength: 10 }), fc.constant('')),
    },
    { requiredKeys: [] },
  );
  /** Claims near a valid assertion's, each perturbed or dropped at random. */
  const claims = fc.record(
    {
      iss: fc.constantFrom(KEY_CLIENT, 'nobody', ''),
      sub: fc.constantFrom(KEY_CLIENT, 'nobody'),
      aud: fc.constantFrom<unknown>(ISSUER, [ISSUER], `${ISSUER}/token`, [ISSUER, 'x'], 7),
      exp: fc.oneof(
        fc.integer({ min: -700, max: 700 }).map((d) => now() + d),
        fc.constant('soon'),
      ),
      iat: fc.integer({ min: -100, max: 100 }).map((d) => now() + d),
      nbf: fc.integer({ min: -100, max: 100 }).map((d) => now() + d),
      jti: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }), fc.integer()),
    },
    { requiredKeys: [] },
  );
  const assertion = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(segment, { minLength: 0, maxLength: 6 }).map((parts) => parts.join('.')),
    fc
      .tuple(header, claims, segment)
      .map(([hd, cl, sig]) => `${b64url(hd)}.${b64url(cl)}.${b64url(sig)}`),
    // A real signature over the client's claims, then one character of them changed.
    fc.tuple(claims, fc.nat()).map(([cl, i]) => ({ claims: cl, flip: i })),
  );
  const clientId = fc.constantFrom<string | undefined>(
    undefined,
    KEY_CLIENT,
    'nobody',
    'https://127.0.0.1/agents/x.json',
  );

  async function formOf(
    a: string | { claims: Record<string, unknown>; flip: number },
    id: string | undefined,
  ): Promise<Form> {
    let value: string;
    if (typeof a === 'string') value = a;
    else {
      // One character of the signed payload changed, never its last (whose low bits may be
      // padding that decodes to the same bytes): the signature no longer covers what is sent.
      const real = await key.assertion(KEY_CLIENT, ISSUER, now(), a.claims);
      const [head, payload, signature] = real.split('.') as [string, string, string];
      const i = a.flip % (payload.length - 1);
      const changed = payload.slice(0, i) + (payload[i] === 'A' ? 'B' : 'A') + payload.slice(i + 1);
      value = `${head}.${changed}.${signature}`;
    }
    return {
      grant_type: JWT_BEARER_GRANT,
      assertion: await h.idp.mint({ audience: ISSUER, clientId: id ?? KEY_CLIENT, now: now() }),
      ...(id !== undefined && { client_id: id }),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: secret(value),
    };
  }

  function expectCleanRefusal(answer: Answer) {
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.body).not.toHaveProperty('access_token');
    expect(typeof answer.body.error).toBe('string');
    expect(answer.reason !== undefined && REASONS[answer.reason as ReasonCode]).toBe(
      answer.body.error,
    );
  }

  test.each([
    ['through the handler', viaHandler, RUNS],
    ['over HTTP to the local server', viaHttp, Math.ceil(RUNS / 3)],
  ])('%s', async (_how, send, runs) => {
    await fc.assert(
      fc.asyncProperty(assertion, clientId, async (a, id) => {
        expectCleanRefusal(await send(await formOf(a, id)));
      }),
      { numRuns: runs },
    );
  });
});
