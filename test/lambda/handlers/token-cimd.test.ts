/**
 * CIMD-* at the token endpoint: a client that was never registered, named by the URL of its Client
 * ID Metadata Document and authenticating with its own key, is admitted by the operator's policy;
 * every way the document can be refused is invalid_client with a reason and a description saying
 * which, and a URL the policy refuses is never fetched.
 */
import { tokenEvent, type Form } from '../../support/events.js';
import { Harness, ISSUER, RESOURCE } from '../../support/harness.js';
import { ClientHost, ClientKey } from '../../support/client-keys.js';
import { expectRefused, issuedClaims } from '../../support/token-requests.js';
import { CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT } from '../../../lambda/oauth/grant-types.js';
import type { ReasonCode } from '../../../lambda/oauth/errors.js';

let h: Harness;
let host: ClientHost;
let key: ClientKey;

beforeAll(async () => {
  host = await ClientHost.start();
  key = await ClientKey.generate('ES256');
  h = await Harness.start({
    env: {
      CLIENT_METADATA_HTTP_LOCALHOST: '1',
      CLIENT_METADATA_DOCUMENTS: JSON.stringify([
        { url_prefix: `${host.origin}/agents/`, scopes: ['read'], resources: [RESOURCE] },
        { url_prefix: 'https://127.0.0.1/agents/', scopes: ['read'], resources: [RESOURCE] },
      ]),
    },
  });
});
afterAll(async () => {
  await h?.close();
  await host?.close();
});

async function cimdForm(clientId: string, signer = key): Promise<Form> {
  return {
    grant_type: JWT_BEARER_GRANT,
    assertion: await h.mint(clientId, { scope: 'read write' }),
    client_id: clientId,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await signer.assertion(clientId, ISSUER, h.clock.now()),
  };
}

let n = 0;
const fresh = () => `/agents/a${++n}.json`;

describe('CIMD: an unregistered client named by its metadata document', () => {
  test('with keys in the document: a token for that URL, on the policy\u2019s terms', async () => {
    const id = host.metadata(fresh(), { jwks: key.jwks });
    const res = await h.token(tokenEvent(await cimdForm(id)));
    expect(res.statusCode).toBe(200);
    // CIMD-POLICY: the rule allows read; the ID-JAG asked for read write.
    expect(issuedClaims(res)).toMatchObject({ client_id: id, scope: 'read', aud: RESOURCE });
  });

  test('with keys at its jwks_uri', async () => {
    const id = host.metadata(fresh(), { jwks_uri: host.json('/agents/keys.json', key.jwks) });
    expect((await h.token(tokenEvent(await cimdForm(id)))).statusCode).toBe(200);
  });

  test('CIMD-CACHE: the document is fetched once for many requests', async () => {
    const path = fresh();
    const id = host.metadata(path, { jwks: key.jwks });
    for (let i = 0; i < 3; i++)
      expect((await h.token(tokenEvent(await cimdForm(id)))).statusCode).toBe(200);
    expect(host.hits.get(path)).toBe(1);
  });

  test('a document that names its signing algorithm holds its client to it', async () => {
    const id = host.metadata(
      fresh(),
      { jwks: key.jwks },
      { token_endpoint_auth_signing_alg: 'ES384' },
    );
    const body = expectRefused(
      await h.token(tokenEvent(await cimdForm(id))),
      401,
      'client_assertion_algorithm',
    );
    expect(body.error_description).toBe('client authentication failed');
  });

  test('an encoded path separator never reaches outside the rule\u2019s prefix', async () => {
    host.metadata('/elsewhere/evil.json', { jwks: key.jwks });
    const id = host.url('/agents/..%2Felsewhere/evil.json');
    expectRefused(await h.token(tokenEvent(await cimdForm(id))), 401, 'client_id_malformed');
    expect(host.hits.get('/elsewhere/evil.json')).toBeUndefined();
  });

  test('signed by a key the document does not hold: the one answer of AUTH-FAILURE', async () => {
    const id = host.metadata(fresh(), { jwks: key.jwks });
    const other = await ClientKey.generate('ES256', key.publicJwk.kid);
    const body = expectRefused(
      await h.token(tokenEvent(await cimdForm(id, other))),
      401,
      'client_assertion_signature',
    );
    expect(body.error_description).toBe('client authentication failed');
  });
});

describe('CIMD-FETCH, CIMD-DOCUMENT: refused, saying which', () => {
  test('CIMD-POLICY: a URL no rule admits is never fetched', async () => {
    const path = '/elsewhere/agent.json';
    const id = host.metadata(path, { jwks: key.jwks });
    const body = expectRefused(
      await h.token(tokenEvent(await cimdForm(id))),
      401,
      'client_metadata_not_allowed',
    );
    expect(body.error_description).toContain(
      'not a Client ID Metadata Document this server accepts',
    );
    expect(host.hits.get(path)).toBeUndefined();
  });

  test('AUTH-METHOD: a metadata document URL with a secret is refused, and nothing is fetched', async () => {
    const path = fresh();
    const id = host.metadata(path, { jwks: key.jwks });
    const res = await h.token(
      tokenEvent({
        grant_type: JWT_BEARER_GRANT,
        assertion: await h.mint(id),
        client_id: id,
        client_secret: 'a-secret-for-a-client-that-has-none',
      }),
    );
    const body = expectRefused(res, 401, 'auth_method_mismatch');
    expect(body.error_description).toBe('client authentication failed');
    expect(host.hits.get(path)).toBeUndefined();
  });

  test('CIMD-FETCH: an https URL on a loopback address is refused before any connection', async () => {
    const res = await h.token(tokenEvent(await cimdForm('https://127.0.0.1/agents/x.json')));
    const body = expectRefused(res, 401, 'client_metadata_address_not_public');
    expect(body.error_description).toContain('not a public address');
  });

  test.each<[string, (path: string) => string, ReasonCode, string]>([
    [
      'a document naming another client_id',
      (p) =>
        host.json(p, {
          client_id: host.url('/agents/other.json'),
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: key.jwks,
        }),
      'client_metadata_client_id_mismatch',
      'names another client_id',
    ],
    [
      'a document holding a client_secret',
      (p) => host.metadata(p, { jwks: key.jwks }, { client_secret: 'shh-this-is-secret' }),
      'client_metadata_invalid',
      'client_secret',
    ],
    [
      'a document with a secret-based method',
      (p) =>
        host.metadata(p, { jwks: key.jwks }, { token_endpoint_auth_method: 'client_secret_basic' }),
      'client_metadata_invalid',
      'private_key_jwt',
    ],
    [
      'a document with no keys',
      (p) =>
        host.json(p, { client_id: host.url(p), token_endpoint_auth_method: 'private_key_jwt' }),
      'client_metadata_invalid',
      'jwks',
    ],
    [
      'a document holding a private key',
      (p) => host.metadata(p, { jwks: { keys: [key.privateJwk] } }),
      'client_metadata_invalid',
      'public keys only',
    ],
    [
      'a document that is not JSON',
      (p) => host.on(p, (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>')),
      'client_metadata_not_json',
      'not JSON',
    ],
    [
      'a document larger than the cap',
      (p) => host.json(p, { client_id: host.url(p), padding: 'x'.repeat(10_000) }),
      'client_metadata_too_large',
      'larger than',
    ],
    [
      'a redirect',
      (p) =>
        host.on(p, (res) =>
          res.writeHead(302, { location: 'http://169.254.169.254/latest' }).end(),
        ),
      'client_metadata_redirect',
      'redirect',
    ],
    [
      'a document whose fields are not strings',
      (p) => host.metadata(p, { jwks: key.jwks }, { token_endpoint_auth_method: { toString: 1 } }),
      'client_metadata_invalid',
      'a value of type object',
    ],
    [
      'a document with more keys than a client may hold',
      (p) => host.metadata(p, { jwks: { keys: Array(65).fill({ kty: 'OKP', x: 'AA' }) } }),
      'client_metadata_invalid',
      '1 to 64 keys',
    ],
    [
      'an HTTP error',
      (p) => host.on(p, (res) => res.writeHead(500).end()),
      'client_metadata_unreachable',
      'HTTP 500',
    ],
  ])('%s', async (_name, serve, reason, says) => {
    const id = serve(fresh());
    const body = expectRefused(await h.token(tokenEvent(await cimdForm(id))), 401, reason);
    expect(body.error_description).toContain(says);
    expect(h.log.text()).not.toContain('shh-this-is-secret');
  });
});
