/**
 * GRANT-RESOURCE, GRANT-SCOPE and GRANT-CLAIM-VALUES: which resource (RFC 8707) and which scopes
 * (RFC 6749 §3.3) an accepted assertion earns, and which of its claim values are copied into the
 * token.
 */
import { tokenEvent, type Form } from '../../support/events.js';
import { bodyOf, Harness, RESOURCE, refusalOf } from '../../support/harness.js';
import { issuedClaims, redeemForm } from '../../support/token-requests.js';

const API = RESOURCE;
const MCP = 'https://mcp.example.com/mcp';
const OTHER = 'https://other.example.com/';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start();
});
afterAll(() => h.close());

interface Case {
  client?: { scopes?: string[]; resources?: string[] };
  claims?: Record<string, unknown>;
  form?: Form;
}

async function redeem({ client = {}, claims = {}, form = {} }: Case) {
  const c = await h.addClient(client);
  const res = await h.token(tokenEvent(redeemForm(c, await h.mint(c.clientId, claims), form)));
  return {
    status: res.statusCode,
    body: bodyOf(res),
    token: issuedClaims(res),
    refusal: refusalOf(res),
  };
}

describe('resource (RFC 8707)', () => {
  test('the assertion\u2019s resource becomes the token audience, exact string (trailing slash kept)', async () => {
    const r = await redeem({ claims: { resource: API } });
    expect(r.token?.aud).toBe(API);
  });

  test('no resource anywhere and one registered resource: that one', async () => {
    const r = await redeem({ claims: { resource: undefined }, client: { resources: [MCP] } });
    expect(r.token?.aud).toBe(MCP);
    // RESP-SUCCESS: the response says which resource was granted even when nobody named one.
    expect(r.body.resource).toBe(MCP);
  });

  test('no resource anywhere and several registered: invalid_target', async () => {
    const r = await redeem({ claims: { resource: undefined }, client: { resources: [API, MCP] } });
    expect(r.status).toBe(400);
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_required' });
  });

  test('an assertion resource the client is not registered for: invalid_target', async () => {
    const r = await redeem({ claims: { resource: OTHER } });
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_not_registered' });
    expect(r.token).toBeUndefined();
  });

  test('an assertion resource that differs by a trailing slash is not the registered one', async () => {
    const r = await redeem({ claims: { resource: API.replace(/\/$/, '') } });
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_not_registered' });
  });

  test('an assertion resource array: each must be registered, all are granted', async () => {
    expect((await redeem({ claims: { resource: [API, OTHER] } })).refusal).toEqual({
      error: 'invalid_target',
      reason: 'resource_not_registered',
    });
    const r = await redeem({ claims: { resource: [API, MCP] }, client: { resources: [API, MCP] } });
    expect(r.token?.aud).toEqual([API, MCP]);
    // RESP-SUCCESS: several granted resources come back as an array (RFC 8707 §2).
    expect(r.body.resource).toEqual([API, MCP]);
  });

  test('a requested resource narrows the assertion\u2019s', async () => {
    const r = await redeem({
      claims: { resource: [API, MCP] },
      client: { resources: [API, MCP] },
      form: { resource: MCP },
    });
    expect(r.token?.aud).toBe(MCP);
    expect(r.body.resource).toBe(MCP);
  });

  test('a requested resource outside the assertion\u2019s: invalid_target', async () => {
    const r = await redeem({
      claims: { resource: API },
      client: { resources: [API, MCP] },
      form: { resource: MCP },
    });
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_not_in_assertion' });
  });

  test('a requested resource the client is not registered for: invalid_target', async () => {
    const r = await redeem({ claims: { resource: undefined }, form: { resource: OTHER } });
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_not_registered' });
  });

  test('a requested resource with no assertion resource, registered: granted', async () => {
    const r = await redeem({
      claims: { resource: undefined },
      client: { resources: [API, MCP] },
      form: { resource: API },
    });
    expect(r.token?.aud).toBe(API);
  });

  test.each([
    ['relative', '/api'],
    ['with a fragment', 'https://api.example.com/#frag'],
    ['not a URI', 'api.example.com'],
  ])('a requested resource that is %s: invalid_target', async (_n, resource) => {
    const r = await redeem({ claims: { resource: undefined }, form: { resource } });
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_invalid' });
  });

  test('an assertion resource with a fragment: invalid_target, for that reason', async () => {
    const r = await redeem({ claims: { resource: 'https://api.example.com/#x' } });
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_invalid' });
  });

  test('several requested resources within the assertion\u2019s: all granted, aud is the list', async () => {
    const r = await redeem({
      claims: { resource: [API, MCP] },
      client: { resources: [API, MCP] },
      form: { resource: [MCP, API] },
    });
    expect(r.token?.aud).toEqual([MCP, API]);
  });

  test('a resource differing only in case is not the registered one', async () => {
    const r = await redeem({ claims: { resource: API.toUpperCase() } });
    expect(r.refusal).toEqual({ error: 'invalid_target', reason: 'resource_not_registered' });
  });
});

describe('scope (RFC 6749 §3.3, RFC 7521 §4.1)', () => {
  test('granted = assertion scope \u2229 client scopes', async () => {
    const r = await redeem({
      claims: { scope: 'read write delete' },
      client: { scopes: ['read', 'delete', 'admin'] },
    });
    expect(r.body.scope).toBe('read delete');
    expect(r.token?.scope).toBe('read delete');
  });

  test('a requested scope narrows further', async () => {
    const r = await redeem({ claims: { scope: 'read write' }, form: { scope: 'write' } });
    expect(r.body.scope).toBe('write');
  });

  test('requested scopes outside the assertion are dropped, not granted', async () => {
    const r = await redeem({ claims: { scope: 'read' }, form: { scope: 'read admin' } });
    expect(r.body.scope).toBe('read');
    expect(r.token?.scope).toBe('read');
  });

  test('nothing left of the assertion\u2019s scopes: invalid_scope', async () => {
    const r = await redeem({ claims: { scope: 'delete' }, client: { scopes: ['read'] } });
    expect(r.status).toBe(400);
    expect(r.refusal).toEqual({ error: 'invalid_scope', reason: 'scope_not_granted' });
    expect(r.token).toBeUndefined();
  });

  test('nothing left of the requested scopes: invalid_scope', async () => {
    const r = await redeem({ claims: { scope: 'read' }, form: { scope: 'admin' } });
    expect(r.refusal).toEqual({ error: 'invalid_scope', reason: 'scope_not_granted' });
  });

  test('a malformed requested scope token: invalid_scope', async () => {
    const r = await redeem({ form: { scope: 'read "quoted"' } });
    expect(r.refusal).toEqual({ error: 'invalid_scope', reason: 'scope_invalid' });
  });

  describe('GRANT-SCOPE-DEFAULT: an ID-JAG without a scope claim', () => {
    test('is worth the client\u2019s registered scopes, by default', async () => {
      const r = await redeem({
        claims: { scope: undefined },
        client: { scopes: ['read', 'write'] },
      });
      expect(r.status).toBe(200);
      expect(r.body.scope).toBe('read write');
      expect(r.token?.scope).toBe('read write');
    });

    test('narrowed by the request\u2019s scope', async () => {
      const r = await redeem({ claims: { scope: undefined }, form: { scope: 'read admin-x' } });
      expect(r.body.scope).toBe('read');
    });

    test('a requested scope outside the registration: invalid_scope', async () => {
      const r = await redeem({ claims: { scope: undefined }, form: { scope: 'delete' } });
      expect(r.refusal).toEqual({ error: 'invalid_scope', reason: 'scope_not_granted' });
      expect(r.token).toBeUndefined();
    });

    test('an empty scope claim is a scope claim: it grants nothing', async () => {
      const r = await redeem({ claims: { scope: '' } });
      expect(r.status).toBe(200);
      expect(r.body.scope).toBe('');
    });

    describe('with the issuer set to "none"', () => {
      let strict: Harness;
      beforeAll(async () => {
        strict = await Harness.start({ trusted: { default_scope: 'none' } });
      });
      afterAll(() => strict.close());

      const redeemStrict = async (form: Form = {}) => {
        const c = await strict.addClient();
        const res = await strict.token(
          tokenEvent(redeemForm(c, await strict.mint(c.clientId, { scope: undefined }), form)),
        );
        return { status: res.statusCode, body: bodyOf(res), refusal: refusalOf(res) };
      };

      test('no scope anywhere: an empty scope, still in the response', async () => {
        const r = await redeemStrict();
        expect(r.status).toBe(200);
        expect(r.body.scope).toBe('');
      });

      test('a requested scope: invalid_scope', async () => {
        const r = await redeemStrict({ scope: 'read' });
        expect(r.refusal).toEqual({ error: 'invalid_scope', reason: 'scope_not_granted' });
      });
    });
  });

  test('scopes are compared exactly: another case is not granted', async () => {
    const r = await redeem({ claims: { scope: 'READ write' } });
    expect(r.body.scope).toBe('write');
  });

  test('repeated scopes are granted once', async () => {
    const r = await redeem({ claims: { scope: 'read read  write' } });
    expect(r.body.scope).toBe('read write');
  });
});

describe('GRANT-CLAIM-VALUES: only sane values are copied into a token', () => {
  test.each([
    ['sub', { sub: 'alice\n{"admin":true}' }],
    ['sub', { sub: 'alice\u0000bob' }],
    ['sub', { sub: 'alice\u0085' }],
    ['acr', { acr: 'phr\r\n' }],
    ['amr', { amr: ['pwd', 'mfa\u001b[31m'] }],
  ])('a %s with a control character is refused, not copied into a token', async (_n, claims) => {
    const r = await redeem({ claims });
    expect(r.status).toBe(400);
    expect(r.refusal).toEqual({ error: 'invalid_grant', reason: 'claim_invalid' });
    expect(r.body.access_token).toBeUndefined();
  });

  test.each([
    ['an absurd value', 1e300],
    ['a fraction', 1_700_000_000.5],
    ['the future, beyond the skew', 'future'],
    ['zero', 0],
  ])('auth_time of %s is not copied into the token', async (_n, value) => {
    const authTime = value === 'future' ? h.clock.now() + 3600 : value;
    const r = await redeem({ claims: { auth_time: authTime } });
    expect(r.status).toBe(200);
    expect(r.token!.auth_time).toBeUndefined();
  });

  test('a sane auth_time is copied', async () => {
    const authTime = h.clock.now() - 30;
    const r = await redeem({ claims: { auth_time: authTime } });
    expect(r.token!.auth_time).toBe(authTime);
  });
});
