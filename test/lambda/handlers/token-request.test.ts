/**
 * The request (REQ-FORM, REQ-GRANT-TYPE, REQ-ASSERTION, REQ-DUPLICATE, REQ-SIZE) and client
 * authentication (AUTH-REQUIRED to AUTH-FAILURE), through the handler. No failure yields a token.
 */
import { basicAuth, httpEvent, tokenEvent, type Form } from '../../support/events.js';
import { bodyOf, Harness } from '../../support/harness.js';
import type { ReasonCode } from '../../../lambda/oauth/errors.js';
import { JWT_BEARER_GRANT } from '../../../lambda/oauth/grant-types.js';
import type { HttpResult } from '../../../lambda/http/types.js';
import { expectRefused, redeemForm, type TestClient } from '../../support/token-requests.js';

let h: Harness;
let client: TestClient;
beforeAll(async () => {
  h = await Harness.start();
  client = await h.addClient();
});
afterAll(() => h.close());

/** Refused for `reason`, with the OAuth error that reason maps to, on the wire as RESP-ERRORS says. */
function expectError(res: HttpResult, status: number, reason: ReasonCode) {
  expectRefused(res, status, reason);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.body).not.toMatch(/\bat [^ ]+ \(|\.ts:\d+/); // never a stack trace
}

async function validForm(extra: Form = {}): Promise<Form> {
  return redeemForm(client, await h.mint(client.clientId), extra);
}

describe('the request (REQ-FORM to REQ-SIZE)', () => {
  test.each([
    ['application/json', 'application/json'],
    ['text/plain', 'text/plain'],
    ['multipart/form-data', 'multipart/form-data; boundary=x'],
    ['no content type', undefined],
  ])('Content-Type %s is invalid_request', async (_name, contentType) => {
    const event = tokenEvent(await validForm());
    if (contentType) event.headers['content-type'] = contentType;
    else delete event.headers['content-type'];
    expectError(await h.token(event), 400, 'content_type_unsupported');
  });

  test('Content-Type parameters and case are accepted', async () => {
    const event = tokenEvent(await validForm(), {
      'content-type': 'Application/X-WWW-Form-URLEncoded; charset=UTF-8',
    });
    expect((await h.token(event)).statusCode).toBe(200);
  });

  test.each([
    'authorization_code',
    'client_credentials',
    'urn:ietf:params:oauth:grant-type:token-exchange',
    'password',
  ])('grant_type %s is unsupported_grant_type', async (grantType) => {
    expectError(
      await h.token(tokenEvent(await validForm({ grant_type: grantType }))),
      400,
      'grant_type_unsupported',
    );
  });

  test('a missing grant_type is invalid_request', async () => {
    expectError(
      await h.token(tokenEvent(await validForm({ grant_type: undefined }))),
      400,
      'grant_type_missing',
    );
  });

  test('a missing assertion is invalid_request', async () => {
    expectError(
      await h.token(tokenEvent(await validForm({ assertion: undefined }))),
      400,
      'assertion_missing',
    );
  });

  test('an empty assertion counts as missing (RFC 6749 §3.1)', async () => {
    expectError(
      await h.token(tokenEvent(await validForm({ assertion: '' }))),
      400,
      'assertion_missing',
    );
  });

  test.each(['grant_type', 'assertion', 'client_id', 'client_secret', 'scope'])(
    'parameter %s given twice is invalid_request (RFC 6749 §3.2)',
    async (name) => {
      const form = await validForm({ scope: 'read' });
      const value = form[name] as string;
      const res = await h.token(tokenEvent({ ...form, [name]: [value, value] }));
      expectError(res, 400, 'parameter_repeated');
      // The description names the parameter, so the client knows what to fix.
      expect(bodyOf(res).error_description).toBe(`parameter ${name} is given more than once`);
    },
  );

  test('resource may be repeated (RFC 8707 §2)', async () => {
    const res = await h.token(
      tokenEvent(
        await validForm({ resource: ['https://api.example.com/', 'https://api.example.com/'] }),
      ),
    );
    expect(res.statusCode).toBe(200);
  });

  test('a body over 16 KiB is invalid_request, not a crash', async () => {
    const form = await validForm({ padding: 'x'.repeat(17 * 1024) });
    expectError(await h.token(tokenEvent(form)), 400, 'body_too_large');
  });

  test('a body that is not valid UTF-8 is invalid_request', async () => {
    const event = httpEvent('POST', '/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from([0x67, 0x3d, 0xff, 0xfe]),
    });
    expectError(await h.token(event), 400, 'body_not_utf8');
  });

  test('a broken percent escape is invalid_request', async () => {
    expectError(
      await h.token(tokenEvent('grant_type=%E0%A4%A&assertion=x')),
      400,
      'body_malformed',
    );
  });

  test('an empty body is invalid_request', async () => {
    expectError(await h.token(tokenEvent('')), 400, 'grant_type_missing');
  });

  test('GET on the token endpoint is refused with 405 and Allow: POST', async () => {
    const res = await h.token(httpEvent('GET', '/token'));
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(bodyOf(res).error).toBe('invalid_request');
  });
});

describe('client authentication (AUTH-REQUIRED to AUTH-SECRET)', () => {
  test('no credentials at all is invalid_client, 401', async () => {
    const res = await h.token(
      tokenEvent(await validForm({ client_id: undefined, client_secret: undefined })),
    );
    expectError(res, 401, 'client_auth_missing');
  });

  test('client_id without a secret is invalid_client: confidential clients only (AUTH-REQUIRED)', async () => {
    expectError(
      await h.token(tokenEvent(await validForm({ client_secret: undefined }))),
      401,
      'client_secret_missing',
    );
  });

  test('a secret without client_id is invalid_client', async () => {
    expectError(
      await h.token(tokenEvent(await validForm({ client_id: undefined }))),
      401,
      'client_auth_missing',
    );
  });

  /** What the handler logged about the last refusal: the client is told less (AUTH-FAILURE). */
  const lastLogged = () => h.log.lines.at(-1)?.extra[0] as Record<string, unknown> | undefined;

  test('an unknown client is invalid_client, without a Basic challenge when the body was used', async () => {
    const res = await h.token(tokenEvent(await validForm({ client_id: 'nobody' })));
    expectError(res, 401, 'client_unknown');
    expect(bodyOf(res).error_description).toBe('client authentication failed');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(lastLogged()).toMatchObject({ error: 'invalid_client', reason: 'client_unknown' });
  });

  test('an unknown client over Basic gets the Basic challenge', async () => {
    const form = await validForm({ client_id: undefined, client_secret: undefined });
    const res = await h.token(
      tokenEvent(form, { authorization: basicAuth('nobody', 'whatever-secret-1') }),
    );
    expectError(res, 401, 'client_unknown');
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
  });

  test('a wrong secret is invalid_client, and says no more than an unknown client does', async () => {
    const res = await h.token(
      tokenEvent(await validForm({ client_secret: client.clientSecret + 'x' })),
    );
    expectError(res, 401, 'secret_mismatch');
    expect(bodyOf(res).error_description).toBe('client authentication failed');
    expect(lastLogged()).toMatchObject({ error: 'invalid_client', reason: 'secret_mismatch' });
    expect(res.body).not.toContain(client.clientSecret.slice(0, 6));
  });

  test('a client_id too long to be registered is invalid_client, not a database error', async () => {
    for (const form of [await validForm({ client_id: 'c'.repeat(3000) })]) {
      expectError(await h.token(tokenEvent(form)), 401, 'client_id_malformed');
    }
    const basic = await validForm({ client_id: undefined, client_secret: undefined });
    expectError(
      await h.token(tokenEvent(basic, { authorization: basicAuth('c'.repeat(3000), 'x') })),
      401,
      'client_id_malformed',
    );
  });

  test('an unknown parameter given twice is invalid_request too', async () => {
    expectError(
      await h.token(tokenEvent(await validForm({ foo: ['1', '2'] }))),
      400,
      'parameter_repeated',
    );
  });

  test('a secret that differs only in case or length is refused', async () => {
    for (const [wrong, reason] of [
      [client.clientSecret.toUpperCase(), 'secret_mismatch'],
      [client.clientSecret.slice(0, -1), 'secret_mismatch'],
      // An empty value is as if omitted (RFC 6749 §3.1).
      ['', 'client_secret_missing'],
    ] as const) {
      const res = await h.token(tokenEvent(await validForm({ client_secret: wrong })));
      expectError(res, 401, reason);
    }
  });

  test('a disabled client is invalid_client', async () => {
    const disabled = await h.addClient();
    await h.admin.setEnabled(disabled.clientId, false);
    const res = await h.token(tokenEvent(redeemForm(disabled, await h.mint(disabled.clientId))));
    expectError(res, 401, 'client_disabled');
    expect(bodyOf(res).error_description).toBe('client authentication failed');
  });

  test('a wrong secret over Basic is invalid_client with WWW-Authenticate: Basic (RFC 6749 §5.2)', async () => {
    const form = await validForm({ client_id: undefined, client_secret: undefined });
    const res = await h.token(
      tokenEvent(form, { authorization: basicAuth(client.clientId, 'wrong-secret-wrong') }),
    );
    expectError(res, 401, 'secret_mismatch');
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
  });

  test('Basic credentials are form-url-decoded (RFC 6749 §2.3.1)', async () => {
    const odd = await h.addClient({
      clientId: 'odd+id@example',
      clientSecret: 'a secret: with % and + signs',
    });
    const form = { grant_type: JWT_BEARER_GRANT, assertion: await h.mint(odd.clientId) };
    const res = await h.token(
      tokenEvent(form, { authorization: basicAuth(odd.clientId, odd.clientSecret) }),
    );
    expect(res.statusCode).toBe(200);
  });

  test.each([
    ['not base64', 'Basic !!!notbase64!!!'],
    ['no colon', `Basic ${Buffer.from('just-an-id').toString('base64')}`],
    ['empty id', `Basic ${Buffer.from(':secret').toString('base64')}`],
    ['empty secret', `Basic ${Buffer.from('id:').toString('base64')}`],
    ['nothing after the scheme', 'Basic'],
    ['bad percent escape', `Basic ${Buffer.from('id%:secret').toString('base64')}`],
  ])(
    'a malformed Basic header (%s) is invalid_client with a Basic challenge',
    async (_name, authorization) => {
      const form = await validForm({ client_id: undefined, client_secret: undefined });
      const res = await h.token(tokenEvent(form, { authorization }));
      expectError(res, 401, 'basic_credentials_malformed');
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    },
  );

  test('credentials both in the header and in the body are invalid_request', async () => {
    const res = await h.token(
      tokenEvent(await validForm(), {
        authorization: basicAuth(client.clientId, client.clientSecret),
      }),
    );
    expectError(res, 400, 'auth_methods_multiple');
  });

  test('Basic plus a different client_id in the body is invalid_request', async () => {
    const form = await validForm({ client_id: 'someone-else', client_secret: undefined });
    const res = await h.token(
      tokenEvent(form, { authorization: basicAuth(client.clientId, client.clientSecret) }),
    );
    expectError(res, 400, 'auth_methods_multiple');
  });

  test('Basic plus the same client_id in the body is accepted', async () => {
    const form = await validForm({ client_secret: undefined });
    const res = await h.token(
      tokenEvent(form, { authorization: basicAuth(client.clientId, client.clientSecret) }),
    );
    expect(res.statusCode).toBe(200);
  });

  test('a non-Basic Authorization scheme is an unsupported attempt: invalid_client with a Basic challenge', async () => {
    for (const form of [
      await validForm({ client_id: undefined, client_secret: undefined }),
      await validForm(),
    ]) {
      const res = await h.token(tokenEvent(form, { authorization: 'Bearer abc' }));
      expectError(res, 401, 'auth_scheme_unsupported');
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    }
  });

  test('a rotated secret is accepted at once (the store is asked again, fresh)', async () => {
    const rotating = await h.addClient();
    const record = (await h.admin.list()).find((c) => c.clientId === rotating.clientId)!;
    await h.secrets.putSecret(record.secretRef, 'rotated-secret-0123456789');
    const form = {
      grant_type: JWT_BEARER_GRANT,
      assertion: await h.mint(rotating.clientId),
      client_id: rotating.clientId,
    };
    expect(
      (await h.token(tokenEvent({ ...form, client_secret: 'rotated-secret-0123456789' })))
        .statusCode,
    ).toBe(200);
    const old = await h.token(
      tokenEvent({
        ...form,
        assertion: await h.mint(rotating.clientId),
        client_secret: rotating.clientSecret,
      }),
    );
    expectError(old, 401, 'secret_mismatch');
  });
});
