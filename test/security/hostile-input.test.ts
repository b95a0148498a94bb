/**
 * Hostile input, each case twice: through the token handler (an API Gateway event) and through the
 * local server over HTTP. Each asserts the exact status and `error` (and, where two refusals share
 * them, the description), and that no token was issued. The example MCP server gets the same
 * treatment at the end: each of its cases through its Lambda handler and over HTTP to its node
 * server, with tokens from the local server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { SignJWT, exportSPKI } from 'jose';
import { ClientAdmin } from '../../local/admin/client-admin.js';
import { loadLocalConfig } from '../../lambda/config.js';
import { openLocalAdminStore } from '../../local/admin/local-admin.js';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { JWT_BEARER_GRANT } from '../../lambda/oauth/grant-types.js';
import { MAX_BODY_BYTES } from '../../lambda/oauth/token-request.js';
import { readFile } from 'node:fs/promises';
import { exportJWK } from 'jose';
import { createLogger } from '../../lambda/logging.js';
import { basicAuth, formBody, httpEvent, type Form } from '../support/events.js';
import { Harness, ISSUER, refusalOf } from '../support/harness.js';
import { REASONS } from '../../lambda/oauth/errors.js';
import { makeKey, type SigningKey } from '../support/test-idp.js';
import { DpopKey } from '../support/dpop.js';
import { request as httpRequest } from 'node:http';
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { importJWK, type CryptoKey } from 'jose';
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/server.js';
import { accessTokenHash } from '../../lambda/oauth/dpop.js';
import type { HttpEvent } from '../../lambda/http/types.js';
import {
  largeExponentKey,
  signRs256,
  type LargeExponentKey,
} from '../lambda/oauth/rsa-exponent-keys.js';
import { captureProcessOutput } from '../support/console-capture.js';

const CLIENT_ID = 'hostile-client';
const CLIENT_SECRET = 'hostile-client-secret-0123456789';

let h: Harness;
let server: LocalServer;
let dataDir: string;

/**
 * Everything this file's servers write — real Powertools loggers on stdout and stderr — is kept
 * here, and every secret, assertion and token the traffic carried is kept in `sensitive`, so the
 * last test can prove that none of them was ever logged.
 */
const written = captureProcessOutput();
const sensitive = new Set<string>([CLIENT_SECRET]);

/**
 * An RSA key with a 2,000-bit public exponent: each verification with it costs more than one with a
 * 16,384-bit modulus. The IdP publishes it too (before either server first fetches its keys).
 */
let heavy: LargeExponentKey;
let heavyIdpKey: SigningKey;

beforeAll(async () => {
  h = await Harness.start({ log: createLogger() });
  heavy = await largeExponentKey(2000);
  heavyIdpKey = {
    kid: 'heavy-exponent',
    alg: 'RS256',
    privateKey: (await importJWK(heavy.privateKey.export({ format: 'jwk' }), 'RS256')) as CryptoKey,
    publicJwk: { ...heavy.publicJwk, kid: 'heavy-exponent', alg: 'RS256', use: 'sig' },
  };
  h.idp.published.push(heavyIdpKey);
  await h.admin.add({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: ['read', 'write'],
    resources: ['https://api.example.com/'],
  });
  dataDir = await mkdtemp(join(tmpdir(), 'xaa-hostile-'));
  const env = {
    DATA_DIR: dataDir,
    PORT: '0',
    ISSUER,
    TRUSTED_ISSUERS: JSON.stringify([h.idp.trusted()]),
  };
  server = await startLocalServer(loadLocalConfig(env), { logger: createLogger() });
  const opened = await openLocalAdminStore(dataDir);
  await new ClientAdmin(opened.store, opened.store, 'client/').add({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: ['read', 'write'],
    resources: ['https://api.example.com/'],
  });
  opened.close();
});
afterAll(async () => {
  await server.close();
  await h.close();
  await rm(dataDir, { recursive: true, force: true });
});

interface Request {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const now = () => Math.floor(Date.now() / 1000);
const mint = async (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
  const jwt = await h.idp.mint({ audience: ISSUER, clientId: CLIENT_ID }, claims, header);
  sensitive.add(jwt);
  return jwt;
};
const form = (f: Form): Request => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: formBody(f),
});
const valid = async (
  extra: Form = {},
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<Form> => ({
  grant_type: JWT_BEARER_GRANT,
  assertion: await mint(claims, header),
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  ...extra,
});
const b64 = (o: unknown) =>
  Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

type Case = [
  name: string,
  status: number,
  error: string,
  build: () => Promise<Request>,
  /** What the description must say, where the status and error do not tell the refusal apart. */
  description?: RegExp,
];

const CASES: Case[] = [
  // The request: method, content type, encoding, size, parameters.
  ['PUT', 405, 'invalid_request', async () => ({ ...form(await valid()), method: 'PUT' })],
  ['DELETE', 405, 'invalid_request', async () => ({ method: 'DELETE' })],
  ['GET with the parameters in the query', 405, 'invalid_request', async () => ({ method: 'GET' })],
  [
    'JSON body',
    400,
    'invalid_request',
    async () => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await valid()),
    }),
  ],
  [
    'form body labelled text/plain',
    400,
    'invalid_request',
    async () => ({ ...form(await valid()), headers: { 'content-type': 'text/plain' } }),
  ],
  ['no Content-Type', 400, 'invalid_request', async () => ({ body: formBody(await valid()) })],
  [
    'a Content-Type with a lookalike prefix',
    400,
    'invalid_request',
    async () => ({
      ...form(await valid()),
      headers: { 'content-type': 'application/x-www-form-urlencodedx' },
    }),
  ],
  [
    'a body one byte over the limit',
    400,
    'invalid_request',
    async () => form({ ...(await valid()), pad: 'x'.repeat(MAX_BODY_BYTES) }),
  ],
  ['a megabyte body', 400, 'invalid_request', async () => form({ pad: 'x'.repeat(1024 * 1024) })],
  [
    'an assertion over the body limit',
    400,
    'invalid_request',
    async () => form(await valid({ assertion: 'a'.repeat(MAX_BODY_BYTES) + '.b.c' })),
  ],
  [
    'invalid UTF-8',
    400,
    'invalid_request',
    async () => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.concat([Buffer.from('grant_type='), Buffer.from([0xc3, 0x28])]),
    }),
  ],
  [
    'a percent escape of invalid UTF-8',
    400,
    'invalid_request',
    async () => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=%C3%28',
    }),
  ],
  [
    'a truncated percent escape',
    400,
    'invalid_request',
    async () => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=%4',
    }),
  ],
  [
    'grant_type twice, different values',
    400,
    'invalid_request',
    async () => form(await valid({ grant_type: [JWT_BEARER_GRANT, 'client_credentials'] })),
  ],
  [
    'assertion twice',
    400,
    'invalid_request',
    async () => {
      const v = await valid();
      return form({ ...v, assertion: [v.assertion as string, await mint()] });
    },
  ],
  [
    'client_secret twice',
    400,
    'invalid_request',
    async () => form(await valid({ client_secret: [CLIENT_SECRET, CLIENT_SECRET] })),
  ],
  [
    'an empty grant_type',
    400,
    'invalid_request',
    async () => form(await valid({ grant_type: '' })),
  ],
  [
    'grant_type with trailing space',
    400,
    'unsupported_grant_type',
    async () => form(await valid({ grant_type: JWT_BEARER_GRANT + ' ' })),
  ],
  [
    'grant_type in upper case',
    400,
    'unsupported_grant_type',
    async () => form(await valid({ grant_type: JWT_BEARER_GRANT.toUpperCase() })),
  ],
  [
    'grant_type[] array syntax',
    400,
    'invalid_request',
    async () =>
      form({ ...(await valid({ grant_type: undefined })), 'grant_type[]': JWT_BEARER_GRANT }),
  ],
  [
    'a unicode grant_type',
    400,
    'unsupported_grant_type',
    async () =>
      form(await valid({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer\u200b' })),
  ],

  // Client authentication.
  [
    'no credentials',
    401,
    'invalid_client',
    async () => form(await valid({ client_id: undefined, client_secret: undefined })),
  ],
  [
    'a unicode client_id',
    401,
    'invalid_client',
    async () => form(await valid({ client_id: 'hostile-cli\u0435nt' })),
  ],
  [
    'client_id with a trailing space',
    401,
    'invalid_client',
    async () => form(await valid({ client_id: CLIENT_ID + ' ' })),
  ],
  [
    'client_id in another case',
    401,
    'invalid_client',
    async () => form(await valid({ client_id: CLIENT_ID.toUpperCase() })),
  ],
  [
    'a unicode secret',
    401,
    'invalid_client',
    async () => form(await valid({ client_secret: '\u{1F511}'.repeat(8) })),
  ],
  [
    'the secret with a NUL appended',
    401,
    'invalid_client',
    async () => form(await valid({ client_secret: CLIENT_SECRET + '\u0000' })),
  ],
  [
    'the secret as a prefix',
    401,
    'invalid_client',
    async () => form(await valid({ client_secret: CLIENT_SECRET.slice(0, 8) })),
  ],
  [
    'a 10 KB secret',
    401,
    'invalid_client',
    async () => form(await valid({ client_secret: 's'.repeat(10_000) })),
  ],
  [
    'credentials in the header and the body',
    400,
    'invalid_request',
    async () => ({
      ...form(await valid()),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(CLIENT_ID, CLIENT_SECRET),
      },
    }),
  ],
  [
    'Basic with a wrong secret',
    401,
    'invalid_client',
    async () => ({
      ...form(await valid({ client_id: undefined, client_secret: undefined })),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(CLIENT_ID, 'nope-nope-nope'),
      },
    }),
  ],
  [
    'Basic that is not base64',
    401,
    'invalid_client',
    async () => ({
      ...form(await valid({ client_id: undefined, client_secret: undefined })),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic %%%' },
    }),
  ],
  [
    'Basic with no colon',
    401,
    'invalid_client',
    async () => ({
      ...form(await valid({ client_id: undefined, client_secret: undefined })),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(CLIENT_ID).toString('base64')}`,
      },
    }),
  ],
  [
    'Basic with raw (not form-encoded) unicode',
    401,
    'invalid_client',
    async () => ({
      ...form(await valid({ client_id: undefined, client_secret: undefined })),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('h\u00f6stile:s\u00e9cret').toString('base64')}`,
      },
    }),
  ],
  [
    'a Bearer header instead of client credentials',
    401,
    'invalid_client',
    async () => ({
      ...form(await valid({ client_id: undefined, client_secret: undefined })),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'Bearer eyJ.eyJ.sig',
      },
    }),
  ],

  // The ID-JAG: header and algorithm.
  [
    'alg none',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: `${b64({ alg: 'none', typ: 'oauth-id-jag+jwt' })}.${b64({ iss: h.idp.issuer, aud: ISSUER, client_id: CLIENT_ID })}.`,
        }),
      ),
  ],
  [
    'alg NONE',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: `${b64({ alg: 'NONE', typ: 'oauth-id-jag+jwt' })}.${b64({ iss: h.idp.issuer })}.`,
        }),
      ),
  ],
  [
    'HS256 keyed with the public key',
    400,
    'invalid_grant',
    async () => {
      const pem = await exportSPKI(
        createPublicKey({ key: h.idp.key.publicJwk as never, format: 'jwk' }) as never,
      );
      const jwt = await new SignJWT({
        iss: h.idp.issuer,
        sub: 'x',
        aud: ISSUER,
        client_id: CLIENT_ID,
        jti: 'x',
        iat: h.clock.now(),
        exp: h.clock.now() + 60,
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'oauth-id-jag+jwt' })
        .sign(new TextEncoder().encode(pem));
      return form(await valid({ assertion: jwt }));
    },
  ],
  [
    'signed by an unpublished key',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: await h.idp.mint(
            { audience: ISSUER, clientId: CLIENT_ID },
            {},
            {},
            await makeKey(),
          ),
        }),
      ),
  ],
  [
    'an unpublished key wearing a published kid',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: await h.idp.mint(
            { audience: ISSUER, clientId: CLIENT_ID },
            {},
            {},
            { ...(await makeKey()), kid: h.idp.key.kid },
          ),
        }),
      ),
  ],
  [
    'a jwk embedded in the header',
    400,
    'invalid_grant',
    async () => {
      const rogue = await makeKey();
      return form(
        await valid({
          assertion: await h.idp.mint(
            { audience: ISSUER, clientId: CLIENT_ID },
            {},
            { jwk: rogue.publicJwk, kid: undefined },
            rogue,
          ),
        }),
      );
    },
  ],
  // What the outside review tried and found held: kept here so it stays held.
  ...(
    [
      ['crit naming a claim', { crit: ['exp'] }],
      ['an unencoded payload (b64 false, in crit)', { b64: false, crit: ['b64'] }],
      ['b64 false without crit', { b64: false }],
      ['a kid that walks a path', { kid: '../../../etc/passwd' }],
      ['a kid with a NUL', { kid: 'k\u0000' }],
    ] as const
  ).map(([name, extra]): Case => [
    name,
    400,
    'invalid_grant',
    async () => {
      const t = now();
      const assertion = await h.idp.signRaw(
        { alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: h.idp.key.kid, ...extra },
        {
          iss: h.idp.issuer,
          sub: 'alice@example.com',
          aud: ISSUER,
          client_id: CLIENT_ID,
          jti: `${name}-${Math.random()}`,
          iat: t,
          exp: t + 300,
        },
      );
      sensitive.add(assertion);
      return form(await valid({ assertion }));
    },
  ]),
  [
    'signed by a published RSA key with a 2,000-bit exponent (a real signature)',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: await h.idp.mint(
            { audience: ISSUER, clientId: CLIENT_ID },
            {},
            {},
            heavyIdpKey,
          ),
        }),
      ),
  ],
  [
    'a sub carrying a newline',
    400,
    'invalid_grant',
    async () => form(await valid({}, { sub: 'a\nb' })),
  ],
  [
    'two Authorization headers (as the edge joins them)',
    400,
    'invalid_request',
    async () => ({
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `${basicAuth(CLIENT_ID, CLIENT_SECRET)}, ${basicAuth('x', 'y')}`,
      },
      body: formBody({ grant_type: JWT_BEARER_GRANT, assertion: await mint() }),
    }),
  ],
  [
    'a jku pointing elsewhere',
    400,
    'invalid_grant',
    async () => {
      const rogue = await makeKey();
      return form(
        await valid({
          assertion: await h.idp.mint(
            { audience: ISSUER, clientId: CLIENT_ID },
            {},
            { jku: 'http://127.0.0.1:9/jwks' },
            rogue,
          ),
        }),
      );
    },
  ],
  [
    'the signature stripped',
    400,
    'invalid_grant',
    async () => {
      const a = await mint();
      return form(await valid({ assertion: a.slice(0, a.lastIndexOf('.') + 1) }));
    },
  ],
  [
    'the signature of another valid assertion',
    400,
    'invalid_grant',
    async () => {
      const a = (await mint()).split('.');
      const b = (await mint({ sub: 'mallory' })).split('.');
      return form(await valid({ assertion: `${a[0]}.${b[1]}.${a[2]}` }));
    },
  ],
  ['typ JWT', 400, 'invalid_grant', async () => form(await valid({}, {}, { typ: 'JWT' }))],
  ['typ missing', 400, 'invalid_grant', async () => form(await valid({}, {}, { typ: undefined }))],

  // The ID-JAG: claims and their types.
  [
    'a unicode sub of the wrong type',
    400,
    'invalid_grant',
    async () => form(await valid({}, { sub: ['\u00e5lice'] })),
  ],
  [
    'exp as a string',
    400,
    'invalid_grant',
    async () => form(await valid({}, { exp: String(h.clock.now() + 60) })),
  ],
  [
    'exp as Infinity-like 1e400',
    400,
    'invalid_grant',
    async () => {
      const v = await valid();
      const [hd, ,] = (v.assertion as string).split('.');
      return form({
        ...v,
        assertion: `${hd}.${b64('{"iss":"' + h.idp.issuer + '","exp":1e400}')}.AAAA`,
      });
    },
  ],
  [
    'a JSON array payload',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: `${b64({ alg: 'RS256', typ: 'oauth-id-jag+jwt' })}.${b64([1, 2])}.AAAA`,
        }),
      ),
  ],
  [
    'a payload of deeply nested JSON',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: `${b64({ alg: 'RS256', typ: 'oauth-id-jag+jwt' })}.${b64('['.repeat(5000) + ']'.repeat(5000))}.AAAA`,
        }),
      ),
  ],
  [
    // Too deep for JSON.stringify: the refusal that quotes it must still be a refusal.
    'a typ of deeply nested arrays',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: `${b64('{"alg":"RS256","typ":' + '['.repeat(5000) + ']'.repeat(5000) + '}')}.${b64({ iss: h.idp.issuer })}.AAAA`,
        }),
      ),
  ],
  [
    'an alg of deeply nested arrays',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: `${b64('{"typ":"oauth-id-jag+jwt","alg":' + '['.repeat(5000) + ']'.repeat(5000) + '}')}.${b64({ iss: h.idp.issuer, aud: ISSUER, client_id: CLIENT_ID })}.AAAA`,
        }),
      ),
  ],
  [
    '__proto__ in the payload',
    400,
    'invalid_grant',
    async () =>
      form(
        await valid({
          assertion: `${b64({ alg: 'RS256', typ: 'oauth-id-jag+jwt' })}.${b64('{"__proto__":{"iss":"x"}}')}.AAAA`,
        }),
      ),
  ],
  ['jti missing', 400, 'invalid_grant', async () => form(await valid({}, { jti: undefined }))],
  // (The edges of the skew are tested in token-assertion.test.ts with a held clock; the local
  // server here runs on the wall clock, so these stand well past them.)
  [
    'expired two minutes ago',
    400,
    'invalid_grant',
    async () => form(await valid({}, { exp: now() - 120, iat: now() - 300 })),
  ],
  [
    'nbf two minutes ahead',
    400,
    'invalid_grant',
    async () => form(await valid({}, { nbf: now() + 120 })),
  ],
  [
    'iat two minutes ahead',
    400,
    'invalid_grant',
    async () => form(await valid({}, { iat: now() + 120, exp: now() + 300 })),
  ],
  [
    'a ten-year lifetime',
    400,
    'invalid_grant',
    async () => form(await valid({}, { exp: h.clock.now() + 315_360_000 })),
  ],

  // The ID-JAG: audience, client_id and issuer tricks.
  [
    'aud with a trailing slash',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: ISSUER + '/' })),
  ],
  [
    'aud in upper case',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: ISSUER.toUpperCase() })),
  ],
  [
    'aud with a leading space',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: ' ' + ISSUER })),
  ],
  [
    'aud listing us twice',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: [ISSUER, ISSUER] })),
  ],
  [
    'aud listing us and another',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: ['https://other.example', ISSUER] })),
  ],
  [
    'aud as an object',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: { 0: ISSUER } })),
  ],
  [
    'aud with a homoglyph',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: ISSUER.replace('e', '\u0435') })),
  ],
  [
    'client_id claim for another client',
    400,
    'invalid_grant',
    async () => form(await valid({}, { client_id: 'someone-else' })),
  ],
  [
    'client_id claim with different case',
    400,
    'invalid_grant',
    async () => form(await valid({}, { client_id: CLIENT_ID.toUpperCase() })),
  ],
  [
    'client_id claim as an array',
    400,
    'invalid_grant',
    async () => form(await valid({}, { client_id: [CLIENT_ID] })),
  ],
  [
    'iss of an untrusted issuer',
    400,
    'invalid_grant',
    async () => form(await valid({}, { iss: 'https://evil.example' })),
  ],
  [
    'iss equal to our issuer',
    400,
    'invalid_grant',
    async () => form(await valid({}, { iss: ISSUER })),
  ],
  [
    'iss with a trailing slash',
    400,
    'invalid_grant',
    async () => form(await valid({}, { iss: h.idp.issuer + '/' })),
  ],

  // Malformed and oversized JWTs.
  [
    'an empty-segment JWT',
    400,
    'invalid_grant',
    async () => form(await valid({ assertion: '..' })),
  ],
  [
    'a JWE-shaped assertion',
    400,
    'invalid_grant',
    async () => form(await valid({ assertion: 'a.b.c.d.e' })),
  ],
  [
    'a unicode assertion',
    400,
    'invalid_grant',
    async () => form(await valid({ assertion: '\u00e9\u00e9.\u00e9\u00e9.\u00e9\u00e9' })),
  ],
  [
    'a base64 (not base64url) assertion',
    400,
    'invalid_grant',
    async () => {
      const a = await mint();
      return form(await valid({ assertion: a.replace(/-/g, '+').replace(/_/g, '/') + '+/' }));
    },
  ],
  [
    'a 15 KB assertion of padding claims',
    400,
    'invalid_grant',
    async () => form(await valid({}, { aud: 'x', pad: 'p'.repeat(10_000) })),
  ],
  [
    'an ID-JAG whose typ is hidden in a 10 KB header',
    400,
    'invalid_grant',
    async () => form(await valid({}, {}, { pad: 'h'.repeat(10_000), typ: 'JWT' })),
  ],

  // Grant: resource and scope.
  [
    'a unicode resource',
    400,
    'invalid_target',
    async () => form(await valid({ resource: 'https://\u4f8b\u3048.jp/' })),
  ],
  [
    'a javascript: resource',
    400,
    'invalid_target',
    async () => form(await valid({ resource: 'javascript:alert(1)' })),
  ],
  [
    'a resource with a fragment',
    400,
    'invalid_target',
    async () => form(await valid({ resource: 'https://api.example.com/#x' })),
  ],
  ['a unicode scope', 400, 'invalid_scope', async () => form(await valid({ scope: 'r\u00e9ad' }))],
  ['a scope with a quote', 400, 'invalid_scope', async () => form(await valid({ scope: 'read"' }))],
  [
    'a scope the assertion does not carry',
    400,
    'invalid_scope',
    async () => form(await valid({ scope: 'admin' })),
  ],
];

// DPoP (DPOP-INVALID, DPOP-CNF-JKT, DPOP-CNF-OTHER): a hostile DPoP header or binding, with an
// otherwise valid request. Proofs are for this server's token endpoint unless a case says otherwise.
const dpopKey = DpopKey.generate();
const dpopOther = DpopKey.generate();
const withProof = async (
  dpop: string | ((k: DpopKey) => Promise<string>),
  claims: Record<string, unknown> = {},
): Promise<Request> => {
  const req = form(await valid({}, claims));
  const value = typeof dpop === 'string' ? dpop : await dpop(await dpopKey);
  return { ...req, headers: { ...req.headers, dpop: value } };
};
const dpopProof = (k: DpopKey, o: Partial<Parameters<DpopKey['proof']>[0]> = {}) =>
  k.proof({ htu: `${ISSUER}/token`, iat: now(), ...o });
const unsigned = (header: unknown, payload: unknown, signature = 'c2ln') =>
  `${b64(header)}.${b64(payload)}.${signature}`;
const proofClaims = () => ({ jti: 'j', htm: 'POST', htu: `${ISSUER}/token`, iat: now() });
CASES.push(
  ['DPoP: a 10 KB header', 400, 'invalid_dpop_proof', () => withProof(`${'a'.repeat(10_000)}.b.c`)],
  ['DPoP: not a JWS', 400, 'invalid_dpop_proof', () => withProof('proof')],
  [
    'DPoP: a JWS in JSON serialization',
    400,
    'invalid_dpop_proof',
    () => withProof('{"payload":"e30","signatures":[]}'),
  ],
  [
    'DPoP: a header that is not JSON',
    400,
    'invalid_dpop_proof',
    () => withProof('bm90IGpzb24.e30.c2ln'),
  ],
  [
    'DPoP: two headers, comma-joined',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => `${await dpopProof(k)},${await dpopProof(k)}`),
  ],
  [
    'DPoP: alg none',
    400,
    'invalid_dpop_proof',
    async () =>
      withProof(
        unsigned(
          { alg: 'none', typ: 'dpop+jwt', jwk: (await dpopKey).publicJwk },
          proofClaims(),
          '',
        ),
      ),
  ],
  [
    'DPoP: HS256 with an oct jwk',
    400,
    'invalid_dpop_proof',
    () =>
      withProof(
        unsigned({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'AAAA' } }, proofClaims()),
      ),
  ],
  [
    'DPoP: a jwk with the private key',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { header: { jwk: k.privateJwk } })),
  ],
  [
    'DPoP: a jwk that is an array',
    400,
    'invalid_dpop_proof',
    () => withProof(unsigned({ alg: 'ES256', typ: 'dpop+jwt', jwk: [] }, proofClaims())),
  ],
  [
    'DPoP: a jwk that is a string',
    400,
    'invalid_dpop_proof',
    () => withProof(unsigned({ alg: 'ES256', typ: 'dpop+jwt', jwk: 'key' }, proofClaims())),
  ],
  [
    'DPoP: a 16,000-bit RSA jwk',
    400,
    'invalid_dpop_proof',
    () =>
      withProof(
        unsigned(
          { alg: 'RS256', typ: 'dpop+jwt', jwk: { kty: 'RSA', n: 'A'.repeat(2700), e: 'AQAB' } },
          proofClaims(),
        ),
      ),
  ],
  [
    'DPoP: a jwk on a curve that does not fit the alg',
    400,
    'invalid_dpop_proof',
    () =>
      withProof(async (k) => dpopProof(k, { header: { jwk: { ...k.publicJwk, crv: 'P-521' } } })),
  ],
  [
    'DPoP: a critical header',
    400,
    'invalid_dpop_proof',
    async () =>
      withProof(
        unsigned(
          { alg: 'ES256', typ: 'dpop+jwt', jwk: (await dpopKey).publicJwk, crit: ['ext'], ext: 1 },
          proofClaims(),
        ),
      ),
  ],
  [
    'DPoP: typ JWT',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { header: { typ: 'JWT' } })),
  ],
  [
    'DPoP: a signature by another key',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { signWith: (await dpopOther).privateKey })),
  ],
  [
    'DPoP: a 300-character jti',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { claims: { jti: 'j'.repeat(300) } })),
  ],
  [
    'DPoP: a jti that is a number',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { claims: { jti: 7 } })),
  ],
  [
    'DPoP: iat as a string',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { claims: { iat: String(now()) } })),
    /iat must be a NumericDate/,
  ],
  [
    'DPoP: a real proof by an RSA key with a 2,000-bit exponent',
    400,
    'invalid_dpop_proof',
    () =>
      withProof(
        signRs256(
          { alg: 'RS256', typ: 'dpop+jwt', jwk: heavy.publicJwk },
          { jti: randomUUID(), htm: 'POST', htu: `${ISSUER}/token`, iat: now() },
          heavy.privateKey,
        ),
      ),
    /exponent/,
  ],
  [
    'DPoP: iat 1e300',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { claims: { iat: 1e300 } })),
  ],
  [
    'DPoP: iat an hour ago',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { iat: now() - 3600 })),
  ],
  [
    'DPoP: htu with a control character',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { htu: `${ISSUER}/tok\u0000en` })),
  ],
  [
    'DPoP: htu that is not a URL',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { htu: 'token' })),
  ],
  [
    'DPoP: htu on another host',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { htu: 'https://evil.example/token' })),
  ],
  [
    'DPoP: htm lower case',
    400,
    'invalid_dpop_proof',
    () => withProof(async (k) => dpopProof(k, { htm: 'post' })),
  ],
  [
    'DPoP: a payload that is an array',
    400,
    'invalid_dpop_proof',
    () =>
      withProof(async (k) => unsigned({ alg: 'ES256', typ: 'dpop+jwt', jwk: k.publicJwk }, [1, 2])),
  ],
  [
    'DPoP: cnf.jkt of another key',
    400,
    'invalid_grant',
    async () => withProof(async (k) => dpopProof(k), { cnf: { jkt: (await dpopOther).jkt } }),
  ],
  [
    'DPoP: cnf.jkt without a proof',
    400,
    'invalid_grant',
    async () => form(await valid({}, { cnf: { jkt: (await dpopKey).jkt } })),
  ],
  [
    'DPoP: cnf x5t#S256',
    400,
    'invalid_grant',
    async () => withProof(async (k) => dpopProof(k), { cnf: { 'x5t#S256': 'abc' } }),
  ],
  [
    'DPoP: cnf null',
    400,
    'invalid_grant',
    async () => withProof(async (k) => dpopProof(k), { cnf: null }),
  ],
  [
    'DPoP: cnf.jkt a number',
    400,
    'invalid_grant',
    async () => withProof(async (k) => dpopProof(k), { cnf: { jkt: 1 } }),
  ],
);

/** Every credential and assertion a request carries joins `sensitive`: none may be logged, right or wrong. */
function remember(req: Request): Request {
  const auth = req.headers?.authorization;
  if (auth && auth.length > 12) sensitive.add(auth.replace(/^\S+\s+/, ''));
  // A DPoP proof is single-use and bound to its request, but no log line needs it either.
  const dpop = req.headers?.dpop;
  if (dpop && dpop.length > 12) sensitive.add(dpop);
  if (typeof req.body === 'string') {
    const params = new URLSearchParams(req.body);
    for (const name of ['client_secret', 'assertion']) {
      for (const value of params.getAll(name)) if (value.length >= 12) sensitive.add(value);
    }
  }
  return req;
}

async function viaHandler(req: Request) {
  const event = httpEvent(req.method ?? 'POST', '/token', {
    headers: req.headers ?? {},
    ...(req.body !== undefined && { body: req.body }),
  });
  const res = await h.token(event);
  // Every refusal the service makes carries a reason code whose error is the one on the wire (a
  // 405 is the handler's own answer, before the service is asked).
  const reason = refusalOf(res)?.reason;
  if (res.statusCode >= 400 && res.statusCode !== 405) {
    expect(reason && REASONS[reason]).toBe(
      (JSON.parse(res.body ?? '{}') as { error?: string }).error,
    );
  }
  return { status: res.statusCode, body: res.body ?? '' };
}

async function viaHttp(req: Request) {
  const res = await fetch(`${server.url}/token`, {
    method: req.method ?? 'POST',
    headers: req.headers ?? {},
    ...(req.body !== undefined && { body: req.body }),
  });
  return { status: res.status, body: await res.text() };
}

describe.each([
  ['through the handler', viaHandler],
  ['over HTTP to the local server', viaHttp],
])('%s', (_how, send) => {
  // A rest parameter: a function of more parameters than a row has elements is given `done`.
  test.each(CASES)(
    '%s: %i %s, no token',
    async (...[, status, error, build, description]: Case) => {
      const res = await send(remember(await build()));
      const body = JSON.parse(res.body) as { error?: string; error_description?: string };
      expect({ status: res.status, error: body.error }).toEqual({ status, error });
      if (description) expect(body.error_description).toMatch(description);
      expect(res.body).not.toContain('access_token');
      expect(res.body).not.toMatch(/\n\s+at /); // no stack trace
    },
  );
});

// The example MCP server: hostile requests to the resource rather than the token endpoint, each
// through its Lambda handler (an API Gateway event) and over HTTP to its node server. Both check
// tokens signed with the local server's key against its JWKS; a token or proof is made fresh for
// each send, and the resource is known by a public name, not by the Host the requests carry.
const MCP_RESOURCE = 'https://mcp.example.test/mcp';
let mcpHttp: RunningMcpServer;
let mcpLambda: (event: HttpEvent) => Promise<{ statusCode?: number; body?: string }>;
let asKey: { privateKey: KeyObject; kid: string };

beforeAll(async () => {
  const jwksUri = `${server.url}/.well-known/jwks.json`;
  mcpHttp = await startMcpServer({ issuer: ISSUER, jwksUri, port: 0, resource: MCP_RESOURCE });
  // The Lambda entry reads its settings once, when it is imported.
  const saved = { ...process.env };
  Object.assign(process.env, { ISSUER, RESOURCE: MCP_RESOURCE, JWKS_URI: jwksUri });
  try {
    ({ handler: mcpLambda } = await import('../../lambda/example-resources/mcp/lambda.js'));
  } finally {
    for (const name of ['ISSUER', 'RESOURCE', 'JWKS_URI'])
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
  }
  const { keys } = (await (await fetch(jwksUri)).json()) as { keys: Array<{ kid: string }> };
  const pem = await readFile(join(dataDir, 'signing-key.pem'), 'utf8');
  asKey = { privateKey: createPrivateKey(pem), kid: keys[0]!.kid };
});
afterAll(() => mcpHttp.close());

interface McpRequest {
  method?: string;
  /** The request target (rawPath on Lambda): `/mcp` unless said otherwise. */
  target?: string;
  /** The Host header: the server's own name on each transport unless said otherwise. */
  host?: string;
  headers?: Record<string, string>;
  body?: string;
}

type McpCase = [
  name: string,
  status: number,
  error: string,
  build: () => Promise<McpRequest>,
  description?: RegExp,
];

/** An access token for the MCP server, signed by the local server's key. */
const mcpToken = (claims: Record<string, unknown> = {}) => {
  const t = now();
  const token = signRs256(
    { alg: 'RS256', typ: 'at+jwt', kid: asKey.kid },
    {
      iss: ISSUER,
      sub: 'alice@example.com',
      aud: MCP_RESOURCE,
      client_id: CLIENT_ID,
      jti: randomUUID(),
      iat: t,
      exp: t + 300,
      scope: 'read write',
      ...claims,
    },
    asKey.privateKey,
  );
  sensitive.add(token);
  return token;
};
const RPC = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const bearer = (token = mcpToken()) => ({ authorization: `Bearer ${token}` });
/** A token bound to `jkt`, and a proof for it signed by `sign` (htu the resource unless given). */
const mcpProof = (k: DpopKey, token: string, o: Partial<Parameters<DpopKey['proof']>[0]> = {}) =>
  k.proof({ htm: 'POST', htu: MCP_RESOURCE, iat: now(), accessToken: token, ...o });

const MCP_CASES: McpCase[] = [
  // A caller without a valid token is answered from its headers: its body is never read.
  ['no token, a 5 MB body', 401, 'unauthorized', async () => ({ body: RPC + ' '.repeat(5e6) })],
  [
    'a forged token, a 5 MB body',
    401,
    'invalid_token',
    async () => ({ headers: bearer('eyJhbGciOiJub25lIn0.e30.'), body: RPC + ' '.repeat(5e6) }),
  ],
  // An admitted body is capped (1 MiB here).
  [
    'a valid token, a 2 MB body',
    413,
    'invalid_request',
    async () => ({ headers: bearer(), body: RPC + ' '.repeat(2e6) }),
  ],
  // RSA exponents are bounded, and a proof's key is compared with cnf.jkt before it verifies.
  [
    'a token bound to a key with a 2,000-bit exponent, and a real proof by that key',
    401,
    'invalid_dpop_proof',
    async () => {
      const token = mcpToken({ cnf: { jkt: heavy.jkt } });
      const proof = signRs256(
        { alg: 'RS256', typ: 'dpop+jwt', jwk: heavy.publicJwk },
        {
          jti: randomUUID(),
          htm: 'POST',
          htu: MCP_RESOURCE,
          iat: now(),
          ath: accessTokenHash(token),
        },
        heavy.privateKey,
      );
      return { headers: { authorization: `DPoP ${token}`, dpop: proof } };
    },
    /exponent/,
  ],
  [
    'a bound token, and a proof by another key whose signature is garbage',
    401,
    'invalid_dpop_proof',
    async () => {
      const token = mcpToken({ cnf: { jkt: (await dpopKey).jkt } });
      const proof = await mcpProof(await dpopOther, token);
      const garbled = `${proof.slice(0, proof.lastIndexOf('.'))}.${'A'.repeat(86)}`;
      return { headers: { authorization: `DPoP ${token}`, dpop: garbled } };
    },
    /not signed with the key the token is bound to/,
  ],
  // A proof's htu must name the resource's configured URL, not the Host the request carried.
  [
    'a proof whose htu names the request\u2019s Host rather than the resource',
    401,
    'invalid_dpop_proof',
    async () => {
      const token = mcpToken({ cnf: { jkt: (await dpopKey).jkt } });
      const proof = await mcpProof(await dpopKey, token, { htu: 'http://localhost:9999/mcp' });
      return { host: 'localhost:9999', headers: { authorization: `DPoP ${token}`, dpop: proof } };
    },
    /htu/,
  ],
  // The target and the Host decide whether a request is served, never where it goes.
  [
    'an absolute-form target naming another server',
    400,
    'invalid_request',
    async () => ({ target: 'http://evil.example/mcp', headers: bearer() }),
  ],
  [
    'a Host carrying a path (glued to the target, /nothing would become /mcp)',
    400,
    'invalid_request',
    async () => ({ target: '/nothing', host: 'localhost/mcp?', headers: bearer() }),
  ],
  [
    'a path that starts with two slashes',
    404,
    'not_found',
    async () => ({ target: '//evil.example/mcp', headers: bearer() }),
  ],
];

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

function rememberMcp(req: McpRequest): McpRequest {
  remember({ headers: req.headers });
  return req;
}

async function mcpViaLambda(req: McpRequest) {
  const res = await mcpLambda(
    httpEvent(req.method ?? 'POST', req.target ?? '/mcp', {
      headers: { ...MCP_HEADERS, host: req.host ?? 'mcp.example.test', ...req.headers },
      ...(req.body !== undefined && { body: req.body }),
    }),
  );
  return { status: res.statusCode ?? 0, body: res.body ?? '' };
}

/** Written as given, target and Host included: a URL would be normalised by the client first. */
function mcpViaHttp(req: McpRequest): Promise<{ status: number; body: string }> {
  // Where it listens: its URL names the resource's public name.
  const { port } = mcpHttp.server.address() as { port: number };
  return new Promise((resolve, reject) => {
    let answered = false;
    const out = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: req.method ?? 'POST',
        path: req.target ?? '/mcp',
        setHost: false,
        headers: { ...MCP_HEADERS, host: req.host ?? `localhost:${port}`, ...req.headers },
      },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    // A server that answers before the body is sent may reset the rest: the answer is in.
    out.on('error', (err) => answered || reject(err));
    out.end(req.body);
  });
}

describe.each([
  ['the MCP server through its Lambda handler', mcpViaLambda],
  ['the MCP server over HTTP', mcpViaHttp],
])('%s', (_how, send) => {
  test.each(MCP_CASES)('%s: %i %s', async (...[, status, error, build, description]: McpCase) => {
    const res = await send(rememberMcp(await build()));
    const body = JSON.parse(res.body) as { error?: string; error_description?: string };
    expect({ status: res.status, error: body.error }).toEqual({ status, error });
    if (description) expect(body.error_description).toMatch(description);
    expect(res.body).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('the controls are served: a bearer token, and a bound one with a proof naming the resource', async () => {
    const token = mcpToken({ cnf: { jkt: (await dpopKey).jkt } });
    for (const headers of [
      bearer(),
      { authorization: `DPoP ${token}`, dpop: await mcpProof(await dpopKey, token) },
    ]) {
      const res = await send(rememberMcp({ headers, body: RPC }));
      expect(res.status).toBe(200);
      expect(res.body).toContain('"whoami"');
    }
  });
});

test('redaction: nothing logged holds a secret, an assertion, a token or signing key material', async () => {
  // Successes too: their tokens must not be logged either.
  for (const send of [viaHandler, viaHttp]) {
    const res = await send(form(await valid()));
    expect(res.status).toBe(200);
    sensitive.add((JSON.parse(res.body) as { access_token: string }).access_token);
  }
  const pem = await readFile(join(dataDir, 'signing-key.pem'), 'utf8');
  const keyMaterial = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const idpJwk = await exportJWK(h.idp.key.privateKey);
  const log = written.join('');
  expect(log).toMatch(/"message":"token refused"/); // the servers did log: the scan below means something
  expect(log).toMatch(/"message":"token issued"/);
  const needles = [...sensitive].flatMap((s) =>
    s.split('.').length === 3 ? [s, s.split('.')[2]!].filter((x) => x.length > 16) : [s],
  );
  for (const needle of [...needles, ...keyMaterial, idpJwk.d!, idpJwk.p!, idpJwk.q!]) {
    expect(log.includes(needle)).toBe(false);
  }
  expect(needles.length).toBeGreaterThan(CASES.length);
});

test('the suite holds more than 80 distinct hostile cases', () => {
  expect(new Set(CASES.map((c) => c[0])).size).toBe(CASES.length);
  expect(CASES.length).toBeGreaterThan(80);
});
