/**
 * AUTH-PRIVATE-KEY-JWT and AUTH-METHOD at the token endpoint: a registered client authenticates
 * with a JWT signed by its own key (RFC 7523 §2.2), its keys held in the record or fetched from its
 * jwks_uri; each assertion is used once; a client registered for one method cannot use another.
 */
import { basicAuth, tokenEvent, type Form } from '../../support/events.js';
import { bodyOf, Harness, ISSUER, RESOURCE } from '../../support/harness.js';
import { ClientHost, ClientKey } from '../../support/client-keys.js';
import { expectRefused, issuedClaims, redeemForm } from '../../support/token-requests.js';
import { CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT } from '../../../lambda/oauth/grant-types.js';

let h: Harness;
let host: ClientHost;
let key: ClientKey;
let inline: string;
let published: string;

beforeAll(async () => {
  host = await ClientHost.start();
  h = await Harness.start({ env: { CLIENT_METADATA_HTTP_LOCALHOST: '1' } });
  key = await ClientKey.generate('ES256');
  inline = (
    await h.admin.addKeyClient({
      clientId: 'agent-inline',
      jwks: key.jwks,
      scopes: ['read'],
      resources: [RESOURCE],
    })
  ).clientId;
  published = (
    await h.admin.addKeyClient({
      clientId: 'agent-published',
      jwksUri: host.json('/agent/jwks.json', key.jwks),
      scopes: ['read'],
      resources: [RESOURCE],
    })
  ).clientId;
});
afterAll(async () => {
  await h?.close();
  await host?.close();
});

/** The form a private_key_jwt client posts: its assertion, and no secret. */
async function keyForm(
  clientId: string,
  options: {
    claims?: Record<string, unknown>;
    header?: Record<string, unknown>;
    signer?: ClientKey;
    extra?: Form;
  } = {},
): Promise<Form> {
  const now = h.clock.now();
  return {
    grant_type: JWT_BEARER_GRANT,
    assertion: await h.mint(clientId),
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await (options.signer ?? key).assertion(
      clientId,
      ISSUER,
      now,
      options.claims,
      options.header,
    ),
    ...options.extra,
  };
}

describe('AUTH-PRIVATE-KEY-JWT: a client with keys instead of a secret', () => {
  test.each([
    ['held in the record', () => inline],
    ['fetched from its jwks_uri', () => published],
  ])('keys %s: a token, for that client', async (_how, id) => {
    const res = await h.token(tokenEvent(await keyForm(id())));
    expect(res.statusCode).toBe(200);
    expect(issuedClaims(res)).toMatchObject({ client_id: id(), scope: 'read', aud: RESOURCE });
  });

  test('client_id beside the assertion is accepted when it names the same client', async () => {
    const res = await h.token(tokenEvent(await keyForm(inline, { extra: { client_id: inline } })));
    expect(res.statusCode).toBe(200);
  });

  test('each assertion is used once: the same one again is refused', async () => {
    const form = await keyForm(inline);
    expect((await h.token(tokenEvent(form))).statusCode).toBe(200);
    const again = await h.token(tokenEvent({ ...form, assertion: await h.mint(inline) }));
    expectRefused(again, 401, 'client_assertion_replayed');
  });

  test('the log names the method and the client, never the assertion', async () => {
    const form = await keyForm(inline);
    await h.token(tokenEvent(form));
    const text = h.log.text();
    expect(text).toContain('private_key_jwt');
    expect(text).not.toContain(String(form.client_assertion).split('.')[2]);
  });

  describe('refused, saying what is wrong (nothing about the registry is read first)', () => {
    test.each<[string, () => Promise<Form>, string]>([
      [
        'the token endpoint as the audience',
        () => keyForm(inline, { claims: { aud: `${ISSUER}/token` } }),
        'client_assertion_audience',
      ],
      [
        'several audiences',
        () => keyForm(inline, { claims: { aud: [ISSUER, 'https://other.example/'] } }),
        'client_assertion_audience',
      ],
      [
        'expired',
        () => keyForm(inline, { claims: { exp: h.clock.now() - 600 } }),
        'client_assertion_expired',
      ],
      [
        'an exp an hour ahead',
        () => keyForm(inline, { claims: { exp: h.clock.now() + 3600 } }),
        'client_assertion_lifetime',
      ],
      ['no jti', () => keyForm(inline, { claims: { jti: undefined } }), 'client_assertion_claims'],
      [
        'sub not the issuer',
        () => keyForm(inline, { claims: { sub: 'someone-else' } }),
        'client_assertion_issuer',
      ],
      [
        'an ID-JAG presented as a client assertion',
        () => keyForm(inline, { header: { typ: 'oauth-id-jag+jwt' } }),
        'client_assertion_typ_invalid',
      ],
      [
        'a client_id naming another client',
        () => keyForm(inline, { extra: { client_id: published } }),
        'client_assertion_issuer',
      ],
    ])('%s', async (_name, form, reason) => {
      const body = expectRefused(await h.token(tokenEvent(await form())), 401, reason as never);
      expect(body.error_description).not.toBe('client authentication failed');
    });

    test.each([
      ['a number', 7],
      ['an object', { toString: 1 }],
      ['an array', ['JWT']],
      ['null', null],
    ])('a typ that is %s: refused, never a 500', async (_name, typ) => {
      const res = await h.token(tokenEvent(await keyForm(inline, { header: { typ } })));
      expectRefused(res, 401, 'client_assertion_typ_invalid');
    });

    test('an alg that is an object: refused, never a 500', async () => {
      const form = await keyForm(inline);
      const [, payload] = String(form.client_assertion).split('.');
      const header = Buffer.from(JSON.stringify({ alg: { toString: 1 } })).toString('base64url');
      const res = await h.token(
        tokenEvent({ ...form, client_assertion: `${header}.${payload}.c2ln` }),
      );
      expectRefused(res, 401, 'client_assertion_algorithm');
    });

    test('an HMAC-signed assertion (alg HS256)', async () => {
      const form = await keyForm(inline);
      const [, payload] = String(form.client_assertion).split('.');
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString(
        'base64url',
      );
      const res = await h.token(
        tokenEvent({ ...form, client_assertion: `${header}.${payload}.c2ln` }),
      );
      expectRefused(res, 401, 'client_assertion_algorithm');
    });

    test('another client_assertion_type', async () => {
      const form = await keyForm(inline, { extra: { client_assertion_type: 'urn:example:saml' } });
      expectRefused(await h.token(tokenEvent(form)), 401, 'client_assertion_type_unsupported');
    });

    test('a client_assertion beside a secret: one method per request', async () => {
      const form = await keyForm(inline, { extra: { client_secret: 'x'.repeat(20) } });
      expectRefused(await h.token(tokenEvent(form)), 400, 'auth_methods_multiple');
      const basic = await h.token(
        tokenEvent(await keyForm(inline), { authorization: basicAuth(inline, 'x'.repeat(20)) }),
      );
      expectRefused(basic, 400, 'auth_methods_multiple');
    });
  });

  describe('refused with the one answer of AUTH-FAILURE', () => {
    test.each<[string, () => Promise<Form>, string]>([
      [
        'signed by another key',
        async () =>
          keyForm(inline, { signer: await ClientKey.generate('ES256', key.publicJwk.kid) }),
        'client_assertion_signature',
      ],
      [
        'a kid the client does not have',
        async () => keyForm(inline, { signer: await ClientKey.generate('ES256') }),
        'client_assertion_key_unknown',
      ],
      ['an unknown client', () => keyForm('nobody-here'), 'client_unknown'],
    ])('%s', async (_name, form, reason) => {
      const body = expectRefused(await h.token(tokenEvent(await form())), 401, reason as never);
      expect(body.error_description).toBe('client authentication failed');
    });

    test('keys whose jwks_uri cannot be fetched', async () => {
      const id = (
        await h.admin.addKeyClient({
          clientId: 'agent-gone',
          jwksUri: host.url('/nowhere.json'),
          scopes: ['read'],
          resources: [RESOURCE],
        })
      ).clientId;
      expectRefused(await h.token(tokenEvent(await keyForm(id))), 401, 'client_keys_unavailable');
    });
  });
});

describe('AUTH-PRIVATE-KEY-JWT: which keys a client may register', () => {
  test('an RSA key without alg is taken as RS256, the algorithm client libraries sign with', async () => {
    const rsa = await ClientKey.generate('RS256');
    const { alg: _alg, ...bare } = rsa.publicJwk;
    const id = (
      await h.admin.addKeyClient({
        clientId: 'agent-rsa-bare',
        jwks: { keys: [bare] },
        scopes: ['read'],
        resources: [RESOURCE],
      })
    ).clientId;
    expect((await h.token(tokenEvent(await keyForm(id, { signer: rsa })))).statusCode).toBe(200);
  });

  test('a symmetric key is refused at registration', async () => {
    await expect(
      h.admin.addKeyClient({
        clientId: 'agent-oct',
        jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ', alg: 'HS256' }] },
        scopes: ['read'],
        resources: [RESOURCE],
      }),
    ).rejects.toThrow(/private or symmetric key/);
  });

  test('a jwks_uri with a user and password is refused at registration', async () => {
    await expect(
      h.admin.addKeyClient({
        clientId: 'agent-userinfo',
        jwksUri: 'https://user:pass@keys.example.com/jwks.json',
        scopes: ['read'],
        resources: [RESOURCE],
      }),
    ).rejects.toThrow(/must be an https URL/);
  });
});

describe('AUTH-METHOD: a client authenticates only the way it was registered to', () => {
  test('a secret for a key client is refused', async () => {
    const res = await h.token(
      tokenEvent(
        redeemForm({ clientId: inline, clientSecret: 'y'.repeat(43) }, await h.mint(inline)),
      ),
    );
    expectRefused(res, 401, 'auth_method_mismatch');
    expect(bodyOf(res).error_description).toBe('client authentication failed');
  });

  test('an assertion for a secret client is refused', async () => {
    const c = await h.addClient();
    const res = await h.token(tokenEvent(await keyForm(c.clientId)));
    expectRefused(res, 401, 'auth_method_mismatch');
  });
});
